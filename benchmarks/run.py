"""geoxai's benchmark suite: speed and memory of each stage against this machine's limits.

Usage (from the repository root, with the analysis environment's interpreter)::

    python benchmarks/run.py                      # everything (about 15 minutes on 2 cores)
    python benchmarks/run.py --quick              # smaller sizes, no demo run (about 4 minutes)
    python benchmarks/run.py --only lrp,training  # some stages
    python benchmarks/run.py --only dag --dag-networks 500

Stages: machine (matmul GFLOP/s, memory bandwidth), anomalies, training, lrp, optimal_input, jobs
(whole workflow jobs at 1° against the work inside them), lst_paper (Application 2 at the
paper's size: its jobs measured once, times the job counts, in core-hours),
workflow (the demo from an empty folder), dag (``snakemake -n`` with many networks). Each figure
is printed in a table and written to ``benchmarks/output/results.json`` with the date, the
machine, the command and the 1-minute load average before and after it was taken. Timings are
the best of ``--repeats`` runs; each measurement that needs its own memory or thread settings
runs in a fresh child process (``benchmarks/child.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_anomalies
import bench_jobs
import bench_lrp
import bench_paper_lst
import bench_training
import bench_workflow
import machine
from measure import OUTPUT, Figure, machine_description, now, wait_until_quiet

STAGES = ("machine", "anomalies", "training", "lrp", "optimal_input", "jobs", "lst_paper",
          "workflow", "dag")
NEEDS_LIMITS = {"training", "lrp", "optimal_input"}


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes and fewer epochs/steps; skips the demo workflow run")
    parser.add_argument("--only", default=",".join(STAGES),
                        help=f"comma-separated stages, of: {', '.join(STAGES)}")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs (default 2)")
    parser.add_argument("--dag-networks", type=int, default=300,
                        help="networks (train jobs) in the largest dry run (default 300)")
    parser.add_argument("--snakemake", help="the workflow environment's snakemake executable")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="LOAD",
                        help="before each stage wait (up to 2 minutes) for the 1-minute load "
                             "average to fall below LOAD (default: do not wait)")
    parser.add_argument("--output", type=Path, default=OUTPUT / "results.json")
    arguments = parser.parse_args(argv)
    arguments.stages = [stage.strip() for stage in arguments.only.split(",") if stage.strip()]
    unknown = sorted(set(arguments.stages) - set(STAGES))
    if unknown:
        parser.error(f"unknown stage(s) {unknown}: use {', '.join(STAGES)}")
    return arguments


def run_stage(stage: str, arguments: argparse.Namespace, limits: dict[str, float]) -> list[Figure]:
    quick, repeats = arguments.quick, arguments.repeats
    if stage == "anomalies":
        return bench_anomalies.run(quick, repeats)
    if stage == "training":
        return bench_training.run(quick, repeats, limits)
    if stage == "lrp":
        return bench_lrp.run(quick, repeats, limits)
    if stage == "optimal_input":
        return bench_lrp.run_optimal_input(quick, repeats, limits)
    if stage == "jobs":
        return bench_jobs.run(quick, repeats)
    if stage == "lst_paper":
        return bench_paper_lst.run(quick, repeats)
    snakemake = bench_workflow.find_snakemake(arguments.snakemake)
    if stage == "workflow":
        if quick:
            print("  (--quick: the demo workflow run is skipped)")
            return []
        return bench_workflow.demo(snakemake)
    if stage == "dag":
        counts = sorted({1, 100, arguments.dag_networks} if not quick else {1, arguments.dag_networks})
        return bench_workflow.dag(snakemake, counts)
    raise ValueError(stage)


def table(figures: list[Figure]) -> str:
    """A plain-text table, one figure per line (the full record is in the JSON)."""
    rows = [("stage", "figure", "size", "value", "unit", "against", "load")]
    for figure in figures:
        value = f"{figure.value:,.2f}".rstrip("0").rstrip(".") if figure.value == figure.value else "n/a"
        rows.append((figure.stage, figure.name, figure.size, value, figure.unit, figure.reference,
                     f"{figure.load[0]:.1f}-{figure.load[1]:.1f}"))
    widths = [min(60, max(len(row[i]) for row in rows)) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        lines.append("  ".join(cell.ljust(width) if i != 3 else cell.rjust(width)
                               for i, (cell, width) in enumerate(zip(row, widths, strict=True))))
    return "\n".join(lines)


def markdown(figures: list[Figure], machine_label: str) -> str:
    """The README's table: figure, value, what it is read against, load, date, machine, command."""
    lines = ["| stage | figure | size | value | against / ratio | load (1 min) | date | machine | command |",
             "|---|---|---|---|---|---|---|---|---|"]
    for figure in figures:
        value = f"{figure.value:,.2f}".rstrip("0").rstrip(".") if figure.value == figure.value else "n/a"
        against = "; ".join(filter(None, [figure.reference, figure.note])).replace("|", "/")
        lines.append(f"| {figure.stage} | {figure.name} | {figure.size} | **{value} {figure.unit}** | "
                     f"{against} | {figure.load[0]:.1f}-{figure.load[1]:.1f} | {figure.date} | "
                     f"{machine_label} | `{figure.command}` |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    description = machine_description()
    started, start = now(), time.perf_counter()
    print(f"geoxai benchmarks on {description['label']}, {started}")
    figures: list[Figure] = []
    limits: dict[str, float] = {}
    wanted = set(arguments.stages)
    if "machine" in wanted or wanted & NEEDS_LIMITS:
        print("== machine")
        limits, machine_figures = machine.measure_limits(max(3, arguments.repeats))
        figures += machine_figures
    for stage in STAGES[1:]:
        if stage not in wanted:
            continue
        load = wait_until_quiet(arguments.wait_quiet, 120)
        print(f"== {stage} (load {load:.1f})", flush=True)
        stage_start = time.perf_counter()
        figures += run_stage(stage, arguments, limits)
        print(f"   {time.perf_counter() - stage_start:.0f} s", flush=True)
    print()
    print(table(figures))
    invocation = "python benchmarks/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    record = {
        "started": started,
        "duration_s": round(time.perf_counter() - start),
        "command": invocation.strip(),
        "machine": description,
        "limits": limits,
        "figures": [figure.as_dict() for figure in figures],
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(record, indent=2, default=float) + "\n")
    arguments.output.with_suffix(".md").write_text(markdown(figures, description["label"]))
    print(f"\n{len(figures)} figures in {record['duration_s']} s -> {arguments.output} "
          f"(and {arguments.output.with_suffix('.md').name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
