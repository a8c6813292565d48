"""Command-line entry point that the Snakemake rules call: ``python -m geoxai <step> --option value``.

Each step is one function of :mod:`geoxai.steps`, in the module named like its rule's file, and its
options are that function's parameters (``dest``), listed once in :data:`STEPS`. Options that carry
a config section take JSON. A :class:`GeoxaiError` ends the process with its one message and exit
status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from geoxai.core.errors import GeoxaiError


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error}): {text[:80]}") from error


@dataclass(frozen=True)
class Step:
    """``function`` is ``module.function`` in :mod:`geoxai.steps`; every option's ``dest`` is one of
    its parameters. ``report`` turns what it returns into the line(s) printed for the log."""

    function: str
    options: list[tuple[str, dict[str, Any]]]
    report: Callable[[Any], str] | None = field(default=None)


#: The workflow config (JSON), recorded in the outputs for provenance.
CONFIG = ("--config", {"type": _json, "default": None, "help": "the workflow config (JSON), for provenance"})
CLASS_NAMES = ("--class-names", {"type": _json, "required": True, "help": "JSON list, one name per class"})


def _landfrac_report(landfrac) -> str:
    return f"{landfrac.name} on {landfrac.sizes['lat']} x {landfrac.sizes['lon']} cells from Natural Earth"


def _skill_report(dataset) -> str:
    return dataset[["validation_accuracy_median", "persistence_accuracy"]].to_dataframe().to_string()


STEPS: dict[str, Step] = {
    "fetch": Step("data.fetch", [
        ("--source", {"required": True, "help": "http(s) URL or local path"}),
        ("--output", {"required": True}),
        ("--sha256", {"default": None}),
        ("--expected", {"choices": ["netcdf", "text"], "default": None}),
    ]),
    "synthesize-enso": Step("data.synthesize_enso", [
        ("--settings", {"type": _json, "default": {}}),
        ("--sst", {"required": True}), ("--index", {"required": True}), ("--truth", {"required": True}),
    ]),
    "synthesize-lst": Step("data.synthesize_lst", [
        ("--settings", {"type": _json, "default": {}}),
        ("--out-dir", {"required": True, "help": "folder (or s3://bucket) for the Zarr stores"}),
        ("--truth-dir", {"required": True, "help": "folder for truth.nc and truth.json"}),
    ], report=json.dumps),
    "fetch-cesm": Step("data.fetch_cesm", [
        ("--store", {"required": True, "help": "s3://...zarr, a local .zarr folder or NetCDF"}),
        ("--variable", {"required": True}), ("--output", {"required": True}),
        ("--years", {"type": int, "nargs": 2, "default": None, "metavar": ("FIRST", "LAST")}),
        ("--grid-store", {"default": "", "help": "store with the POP grid (TLAT/TLONG/TAREA)"}),
        ("--month-stamp", {"choices": ["auto", "end", "start", "middle"], "default": "auto"}),
        ("--static", {"action": "store_true", "help": "a time-invariant field (e.g. LANDFRAC)"}),
        CONFIG,
    ]),
    "lst-landfrac": Step("data.lst_landfrac", [
        ("--trefht", {"required": True, "help": "the fetched TREFHT file: its grid is used"}),
        ("--output", {"required": True}),
        ("--variable", {"default": "LANDFRAC", "help": "name of the written land fraction"}),
        ("--trefht-variable", {"default": "TREFHT"}),
        CONFIG,
    ], report=_landfrac_report),
    "lst-anomalies": Step("anomalies.lst_anomalies", [
        ("--sst", {"dest": "sst_path", "required": True}), ("--output", {"required": True}),
        ("--variable", {"default": "SST"}), ("--settings", {"type": _json, "default": {}}),
        CONFIG,
    ]),
    "lst-targets": Step("labels.lst_targets", [
        ("--trefht", {"dest": "trefht_path", "required": True}),
        ("--landfrac", {"dest": "landfrac_path", "required": True}),
        ("--output", {"required": True}), ("--boxes", {"dest": "boxes_output", "required": True}),
        ("--settings", {"dest": "targets_settings", "type": _json, "default": {},
                        "help": "the lst.targets section"}),
        ("--anomaly-settings", {"type": _json, "default": {}, "help": "the lst.anomalies section"}),
        ("--trefht-variable", {"default": "TREFHT"}),
        ("--landfrac-variable", {"default": "LANDFRAC"}),
        CONFIG,
    ], report=lambda boxes: f"{len(boxes)} land boxes: {' '.join(boxes)}"),
    "lst-labels": Step("labels.lst_labels", [
        ("--targets", {"dest": "targets_path", "required": True}),
        ("--anomalies", {"dest": "anomalies_path", "required": True}),
        ("--box", {"required": True}), ("--output", {"required": True}),
        ("--lead", {"type": int, "required": True}), ("--settings", {"type": _json, "default": {}}),
    ], report=lambda table: table.groupby("split")["label"].agg(["count", "mean"]).to_string()),
    "skill": Step("figures.skill", [
        ("--evaluations", {"dest": "evaluation_paths", "nargs": "+", "required": True}),
        ("--labels", {"dest": "label_paths", "nargs": "+", "required": True}),
        ("--targets", {"dest": "targets_path", "required": True}), ("--output", {"required": True}),
        CONFIG,
    ], report=_skill_report),
    "anomalies": Step("anomalies.anomalies", [
        ("--sst", {"dest": "sst_path", "required": True}), ("--output", {"required": True}),
        ("--sst-spec", {"type": _json, "default": {}}), ("--settings", {"type": _json, "default": {}}),
        CONFIG,
    ]),
    "labels": Step("labels.labels", [
        ("--index", {"dest": "index_path", "required": True}),
        ("--anomalies", {"dest": "anomalies_path", "required": True}),
        ("--output", {"required": True}), ("--counts", {"dest": "counts_output", "required": True}),
        ("--index-spec", {"type": _json, "default": {}}), ("--settings", {"type": _json, "default": {}}),
    ], report=json.dumps),
    "train": Step("train.train", [
        ("--anomalies", {"dest": "anomalies_path", "required": True}),
        ("--labels", {"dest": "labels_path", "required": True}),
        ("--seed", {"type": int, "required": True}), ("--model", {"dest": "model_output", "required": True}),
        ("--metrics", {"dest": "metrics_output", "required": True}),
        ("--model-config", {"type": _json, "default": {}}),
        ("--training-config", {"type": _json, "default": {}}),
        CLASS_NAMES,
    ], report=lambda metrics: json.dumps(metrics["accuracy"])),
    "evaluate": Step("train.evaluate", [
        ("--metrics", {"dest": "metrics_paths", "nargs": "+", "required": True}),
        ("--output", {"required": True}),
    ], report=lambda table: table.to_string(index=False)),
    "relevance": Step("explain.relevance", [
        ("--model", {"dest": "model_path", "required": True}),
        ("--anomalies", {"dest": "anomalies_path", "required": True}),
        ("--labels", {"dest": "labels_path", "required": True}), ("--output", {"required": True}),
        ("--rule", {"required": True}), ("--backend", {"required": True}),
        ("--seed", {"type": int, "required": True}), ("--epsilon", {"type": float, "required": True}),
        CLASS_NAMES, CONFIG,
    ]),
    "optimal-input": Step("explain.optimal_input", [
        ("--model", {"dest": "model_path", "required": True}),
        ("--anomalies", {"dest": "anomalies_path", "required": True}),
        ("--labels", {"dest": "labels_path", "required": True}), ("--output", {"required": True}),
        ("--class-index", {"type": int, "required": True}), ("--seed", {"type": int, "required": True}),
        ("--settings", {"type": _json, "default": {}}),
        CLASS_NAMES, CONFIG,
    ]),
    "composite": Step("composite.composite", [
        ("--relevance", {"dest": "relevance_paths", "nargs": "+", "required": True}),
        ("--optimal-input", {"dest": "optimal_input_paths", "nargs": "*", "default": []}),
        ("--anomalies", {"dest": "anomalies_path", "required": True}),
        ("--labels", {"dest": "labels_path", "required": True}),
        ("--output", {"required": True}), ("--subset", {"required": True}),
        CLASS_NAMES, CONFIG,
    ]),
    "plot": Step("figures.plot", [
        ("kind", {"choices": ["composites", "seed-agreement", "case-study", "training", "index",
                              "skill-map"]}),
        ("--inputs", {"nargs": "+", "required": True}), ("--outputs", {"nargs": "+", "required": True}),
        ("--settings", {"type": _json, "default": {}}), ("--class-index", {"type": int, "default": None}),
        ("--case", {"default": None}), ("--truth", {"default": ""}),
        ("--labels", {"type": _json, "default": {}}),
    ]),
    "table": Step("figures.accuracy_table", [
        ("--inputs", {"dest": "evaluation_csv", "required": True}),
        ("--outputs", {"dest": "output", "required": True}),
    ]),
    "summary": Step("figures.run_summary", [
        ("--inputs", {"nargs": "+", "required": True}), ("--outputs", {"dest": "output", "required": True}),
        CONFIG,
    ]),
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="geoxai", description=__doc__.splitlines()[0])
    steps = root.add_subparsers(dest="step", required=True)
    for name, step in STEPS.items():
        command = steps.add_parser(name)
        for flag, kwargs in step.options:
            command.add_argument(flag, **kwargs)
    return root


def step_function(name: str) -> Callable:
    module, function = STEPS[name].function.split(".")
    return getattr(importlib.import_module(f"geoxai.steps.{module}"), function)


def main(argv: list[str] | None = None) -> int:
    arguments = vars(parser().parse_args(argv))
    name = arguments.pop("step")
    try:
        result = step_function(name)(**arguments)
    except GeoxaiError as error:
        print(f"geoxai {name}: error: {error}", file=sys.stderr)
        return 2
    if STEPS[name].report is not None:
        print(STEPS[name].report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
