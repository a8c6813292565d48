"""Run one benchmark task in this fresh process and print its result as one JSON line.

Usage: ``python benchmarks/child.py MODULE:FUNCTION '{"argument": ...}'`` (called by
:func:`measure.run_child`). A fresh process gives each measurement its own peak memory, its own
TensorFlow thread settings and its own BLAS thread count (``OPENBLAS_NUM_THREADS``).
"""

from __future__ import annotations

import importlib
import json
import sys


def main() -> None:
    task, arguments = sys.argv[1], json.loads(sys.argv[2])
    module_name, function_name = task.split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(**arguments)
    print(json.dumps(result, default=float))


if __name__ == "__main__":
    main()
