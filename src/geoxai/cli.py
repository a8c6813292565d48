"""Command-line entry point that the Snakemake rules call: ``python -m geoxai <step> --option value``.

Each step is one function of :mod:`geoxai.steps`, in the module named like its rule's file. Options that
carry a config section take JSON. A :class:`GeoxaiError` ends the process with its one message and
exit status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from geoxai.core.errors import GeoxaiError


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error}): {text[:80]}") from error


def _fetch(a):
    from geoxai.steps import data

    data.fetch(a.source, a.output, sha256=a.sha256, expected=a.expected)


def _synthesize_enso(a):
    from geoxai.steps import data

    data.synthesize_enso(a.settings, a.sst, a.index, a.truth)


def _anomalies(a):
    from geoxai.steps import anomalies

    anomalies.anomalies(a.sst, a.output, a.sst_spec, a.settings, config=a.config)


def _labels(a):
    from geoxai.steps import labels

    counts = labels.labels(a.index, a.anomalies, a.output, a.counts, a.index_spec, a.settings)
    print(json.dumps(counts))


def _train(a):
    from geoxai.steps import train

    metrics = train.train(a.anomalies, a.labels, a.seed, a.model, a.metrics, a.model_config,
                          a.training_config, a.class_names)
    print(json.dumps(metrics["accuracy"]))


def _evaluate(a):
    from geoxai.steps import train

    print(train.evaluate(a.metrics, a.output).to_string(index=False))


def _relevance(a):
    from geoxai.steps import explain

    explain.relevance(a.model, a.anomalies, a.labels, a.output, a.rule, a.backend, a.seed,
                    a.class_names, epsilon=a.epsilon, config=a.config)


def _optimal_input(a):
    from geoxai.steps import explain

    explain.optimal_input(a.model, a.anomalies, a.labels, a.output, a.class_index, a.seed,
                        a.settings, a.class_names, config=a.config)


def _composite(a):
    from geoxai.steps import composite

    composite.composite(a.relevance, a.optimal_input, a.anomalies, a.labels, a.output, a.class_names,
                    a.subset, config=a.config)


def _plot(a):
    from geoxai.steps import figures

    figures.plot(a.kind, a.inputs, a.outputs, a.settings, class_index=a.class_index, case=a.case,
               truth=a.truth or None, labels=a.labels)


def _table(a):
    from geoxai.steps import figures

    figures.accuracy_table(a.inputs[0], a.outputs[0])


def _summary(a):
    from geoxai.steps import figures

    figures.run_summary(a.config or {}, a.inputs, a.outputs[0])


def _synthesize_lst(a):
    from geoxai.steps import data

    print(json.dumps(data.synthesize_lst(a.settings, a.out_dir, a.truth_dir)))


def _fetch_cesm(a):
    from geoxai.steps import data

    data.fetch_cesm(a.store, a.variable, a.output, years=a.years, grid_store=a.grid_store or None,
                     month_stamp=a.month_stamp, static=a.static, config=a.config)


def _lst_landfrac(a):
    from geoxai.steps import data

    field = data.lst_landfrac(a.trefht, a.output, a.variable, a.trefht_variable, config=a.config)
    print(f"{field.name} on {field.sizes['lat']} x {field.sizes['lon']} cells from Natural Earth")


def _lst_anomalies(a):
    from geoxai.steps import anomalies

    anomalies.lst_anomalies(a.sst, a.output, a.variable, a.settings, config=a.config)


def _lst_targets(a):
    from geoxai.steps import labels

    boxes = labels.lst_targets(a.trefht, a.landfrac, a.output, a.boxes, a.settings,
                              a.anomaly_settings, a.trefht_variable, a.landfrac_variable,
                              config=a.config)
    print(f"{len(boxes)} land boxes: {' '.join(boxes)}")


def _lst_labels(a):
    from geoxai.steps import labels

    table = labels.lst_labels(a.targets, a.anomalies, a.box, a.output, a.lead, a.settings)
    print(table.groupby("split")["label"].agg(["count", "mean"]).to_string())


def _skill(a):
    from geoxai.steps import figures

    dataset = figures.skill(a.evaluations, a.labels, a.targets, a.output, config=a.config)
    table = dataset[["validation_accuracy_median", "persistence_accuracy"]].to_dataframe()
    print(table.to_string())


# step name → (handler, [(option, argparse kwargs)])
STEPS: dict[str, tuple[Callable, list[tuple[str, dict]]]] = {
    "fetch": (_fetch, [
        ("--source", {"required": True, "help": "http(s) URL or local path"}),
        ("--output", {"required": True}),
        ("--sha256", {"default": None}),
        ("--expected", {"choices": ["netcdf", "text"], "default": None}),
    ]),
    "synthesize-enso": (_synthesize_enso, [
        ("--settings", {"type": _json, "default": {}}),
        ("--sst", {"required": True}), ("--index", {"required": True}), ("--truth", {"required": True}),
    ]),
    "synthesize-lst": (_synthesize_lst, [
        ("--settings", {"type": _json, "default": {}}),
        ("--out-dir", {"required": True, "help": "folder (or s3://bucket) for the Zarr stores"}),
        ("--truth-dir", {"required": True, "help": "folder for truth.nc and truth.json"}),
    ]),
    "fetch-cesm": (_fetch_cesm, [
        ("--store", {"required": True, "help": "s3://...zarr, a local .zarr folder or NetCDF"}),
        ("--variable", {"required": True}), ("--output", {"required": True}),
        ("--years", {"type": int, "nargs": 2, "default": None, "metavar": ("FIRST", "LAST")}),
        ("--grid-store", {"default": "", "help": "store with the POP grid (TLAT/TLONG/TAREA)"}),
        ("--month-stamp", {"choices": ["auto", "end", "start", "middle"], "default": "auto"}),
        ("--static", {"action": "store_true", "help": "a time-invariant field (e.g. LANDFRAC)"}),
    ]),
    "lst-landfrac": (_lst_landfrac, [
        ("--trefht", {"required": True, "help": "the fetched TREFHT file: its grid is used"}),
        ("--output", {"required": True}),
        ("--variable", {"default": "LANDFRAC", "help": "name of the written land fraction"}),
        ("--trefht-variable", {"default": "TREFHT"}),
    ]),
    "lst-anomalies": (_lst_anomalies, [
        ("--sst", {"required": True}), ("--output", {"required": True}),
        ("--variable", {"default": "SST"}), ("--settings", {"type": _json, "default": {}}),
    ]),
    "lst-targets": (_lst_targets, [
        ("--trefht", {"required": True}), ("--landfrac", {"required": True}),
        ("--output", {"required": True}), ("--boxes", {"required": True}),
        ("--settings", {"type": _json, "default": {}, "help": "the lst.targets section"}),
        ("--anomaly-settings", {"type": _json, "default": {}, "help": "the lst.anomalies section"}),
        ("--trefht-variable", {"default": "TREFHT"}),
        ("--landfrac-variable", {"default": "LANDFRAC"}),
    ]),
    "lst-labels": (_lst_labels, [
        ("--targets", {"required": True}), ("--anomalies", {"required": True}),
        ("--box", {"required": True}), ("--output", {"required": True}),
        ("--lead", {"type": int, "required": True}), ("--settings", {"type": _json, "default": {}}),
    ]),
    "skill": (_skill, [
        ("--evaluations", {"nargs": "+", "required": True}),
        ("--labels", {"nargs": "+", "required": True}),
        ("--targets", {"required": True}), ("--output", {"required": True}),
    ]),
    "anomalies": (_anomalies, [
        ("--sst", {"required": True}), ("--output", {"required": True}),
        ("--sst-spec", {"type": _json, "default": {}}), ("--settings", {"type": _json, "default": {}}),
    ]),
    "labels": (_labels, [
        ("--index", {"required": True}), ("--anomalies", {"required": True}),
        ("--output", {"required": True}), ("--counts", {"required": True}),
        ("--index-spec", {"type": _json, "default": {}}), ("--settings", {"type": _json, "default": {}}),
    ]),
    "train": (_train, [
        ("--anomalies", {"required": True}), ("--labels", {"required": True}),
        ("--seed", {"type": int, "required": True}), ("--model", {"required": True}),
        ("--metrics", {"required": True}), ("--model-config", {"type": _json, "default": {}}),
        ("--training-config", {"type": _json, "default": {}}),
    ]),
    "evaluate": (_evaluate, [("--metrics", {"nargs": "+", "required": True}), ("--output", {"required": True})]),
    "relevance": (_relevance, [
        ("--model", {"required": True}), ("--anomalies", {"required": True}),
        ("--labels", {"required": True}), ("--output", {"required": True}),
        ("--rule", {"required": True}), ("--backend", {"required": True}),
        ("--seed", {"type": int, "required": True}), ("--epsilon", {"type": float, "required": True}),
    ]),
    "optimal-input": (_optimal_input, [
        ("--model", {"required": True}), ("--anomalies", {"required": True}),
        ("--labels", {"required": True}), ("--output", {"required": True}),
        ("--class-index", {"type": int, "required": True}), ("--seed", {"type": int, "required": True}),
        ("--settings", {"type": _json, "default": {}}),
    ]),
    "composite": (_composite, [
        ("--relevance", {"nargs": "+", "required": True}),
        ("--optimal-input", {"nargs": "*", "default": []}),
        ("--anomalies", {"required": True}), ("--labels", {"required": True}),
        ("--output", {"required": True}), ("--subset", {"required": True}),
    ]),
    "plot": (_plot, [
        ("kind", {"choices": ["composites", "seed-agreement", "case-study", "training", "index",
                              "skill-map"]}),
        ("--inputs", {"nargs": "+", "required": True}), ("--outputs", {"nargs": "+", "required": True}),
        ("--settings", {"type": _json, "default": {}}), ("--class-index", {"type": int, "default": None}),
        ("--case", {"default": None}), ("--truth", {"default": ""}),
        ("--labels", {"type": _json, "default": {}}),
    ]),
    "table": (_table, [("--inputs", {"nargs": 1, "required": True}), ("--outputs", {"nargs": 1, "required": True})]),
    "summary": (_summary, [("--inputs", {"nargs": "+", "required": True}),
                           ("--outputs", {"nargs": 1, "required": True})]),
}

#: Options every step accepts.
COMMON_OPTIONS = [
    ("--config", {"type": _json, "default": None, "help": "the workflow config (JSON), for provenance"}),
    ("--class-names", {"type": _json, "default": ["negative", "positive"]}),
]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="geoxai", description=__doc__.splitlines()[0])
    steps = root.add_subparsers(dest="step", required=True)
    for name, (handler, options) in STEPS.items():
        step = steps.add_parser(name)
        for flag, kwargs in options + COMMON_OPTIONS:
            step.add_argument(flag, **kwargs)
        step.set_defaults(handler=handler)
    return root


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        arguments.handler(arguments)
    except GeoxaiError as error:
        print(f"geoxai {arguments.step}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
