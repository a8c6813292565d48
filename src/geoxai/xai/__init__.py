"""Back end, explanation: LRP rules and backends, optimal input, composites."""
