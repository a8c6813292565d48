"""Command-line entry point that the Snakemake rules call: ``python -m geoxai <rule> --option value``.

Every rule of ``workflow/rules/<file>.smk`` runs the function of the same name in
``geoxai/steps/<file>.py``, and that function's signature *is* the command line: each parameter
is an option named after it (``sst_spec`` → ``--sst-spec``), which is also the name of the
rule's input, output, param or wildcard it receives. The annotation says how the option is read:
``str``/``int``/``float`` as such, ``bool`` as a flag, a ``dict`` as JSON (or a ``.json`` file's
path), a ``Sequence`` as one or more words, a ``tuple[int, int]`` as two numbers. A :class:`GeoxaiError` ends the process with
its one message and exit status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import collections.abc
import importlib
import inspect
import json
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geoxai.core.errors import GeoxaiError


def _json(text: str) -> Any:
    """JSON given on the command line, or the path of a ``.json`` file (the rules pass the
    config a step records as a file, so that the commands Snakemake prints stay short)."""
    source = "the option's value"
    if text.endswith(".json") and not text.lstrip().startswith(("{", "[")):
        source = text
        try:
            text = Path(text).read_text()
        except OSError as error:
            raise argparse.ArgumentTypeError(
                f"cannot read the JSON file {source} ({error.strerror}); rerun the workflow,"
                " which writes it again") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"{source} is not valid JSON ({error}): {text[:80]}") from error


@dataclass(frozen=True)
class Step:
    """``module`` of :mod:`geoxai.steps` holding the function named like the rule; ``report``
    turns what the function returns into the line(s) printed for the rule's log."""

    module: str
    report: Callable[[Any], str] | None = field(default=None)


def _landfrac_report(landfrac) -> str:
    return f"{landfrac.name} on {landfrac.sizes['lat']} x {landfrac.sizes['lon']} cells from Natural Earth"


def _skill_report(dataset) -> str:
    columns = ["validation_accuracy_median", "chance_accuracy", "balanced_accuracy_median",
               "persistence_accuracy", "p_value", "significant"]
    return dataset[columns].to_dataframe().to_string()


def _significance_report(dataset) -> str:
    shares = {key: dataset[key].values.round(3).tolist()
              for key in ("significant_share", "significant_fdr_share")}
    return json.dumps({"class": dataset["class"].values.tolist(), **shares})


#: Rule name → where its step lives. A rule absent here has no step (e.g. ``all``).
STEPS: dict[str, Step] = {
    "synthesize_enso": Step("data"),
    "fetch_enso_sst": Step("data"),
    "fetch_enso_index": Step("data"),
    "synthesize_lst": Step("data", report=json.dumps),
    "fetch_lst_field": Step("data"),
    "fetch_lst_landfrac": Step("data"),
    "compute_lst_landfrac": Step("data", report=_landfrac_report),
    "enso_anomalies": Step("anomalies"),
    "lst_anomalies": Step("anomalies"),
    "enso_labels": Step("labels", report=json.dumps),
    "lst_targets": Step("labels", report=lambda boxes: f"{len(boxes)} land boxes: {' '.join(boxes)}"),
    "lst_labels": Step(
        "labels", report=lambda table: table.groupby("split")["label"].agg(["count", "mean"]).to_string()
    ),
    "train": Step("train", report=lambda metrics: json.dumps(metrics["accuracy"])),
    "evaluate": Step("train", report=lambda table: table.to_string(index=False)),
    "relevance": Step("explain"),
    "optimal_input": Step("explain"),
    "composite": Step("composite"),
    "null_network": Step("significance", report=lambda scores: json.dumps(scores["accuracy"])),
    "significance": Step("significance", report=_significance_report),
    "figure_significance": Step("significance"),
    "attribution_benchmark": Step("benchmark"),
    "figure_attribution_benchmark": Step("benchmark"),
    "attribution_benchmark_table": Step("benchmark"),
    "explanation_sanity": Step("evaluation"),
    "explanation_faithfulness": Step("evaluation"),
    "seed_agreement": Step("evaluation"),
    "figure_explanation_sanity": Step("evaluation"),
    "figure_explanation_faithfulness": Step("evaluation"),
    "figure_sample_agreement": Step("evaluation"),
    "explanation_sanity_table": Step("evaluation"),
    "explanation_faithfulness_table": Step("evaluation"),
    "seed_agreement_table": Step("evaluation"),
    "figure_composites": Step("figures"),
    "figure_methods": Step("figures"),
    "figure_seed_agreement": Step("figures"),
    "figure_case_study": Step("figures"),
    "figure_training": Step("figures"),
    "figure_index": Step("figures"),
    "figure_skill_map": Step("figures"),
    "evaluation_table": Step("figures", report=json.dumps),
    "run_summary": Step("figures"),
    "known_answer": Step("figures", report=lambda scores: json.dumps(scores, indent=1)),
    "lst_skill": Step("figures", report=_skill_report),
}


#: Commands that are no rule: run by the Makefile after a workflow; module and function, and the
#: printed result is their return value.
TOOLS: dict[str, tuple[str, str]] = {
    # after `snakemake --report`: each rule once in the report's rule graph
    "tidy_report": ("geoxai.products.report", "tidy_report"),
    # after `make demo`: where the report is, the headline accuracies, the known-answer scores
    "summary": ("geoxai.products.report", "end_of_run_summary"),
}


def step_function(name: str) -> Callable:
    if name in TOOLS:
        module, function = TOOLS[name]
        return getattr(importlib.import_module(module), function)
    return getattr(importlib.import_module(f"geoxai.steps.{STEPS[name].module}"), name)


def option_flag(parameter: str) -> str:
    return "--" + parameter.replace("_", "-")


def _argument(parameter: inspect.Parameter, hint: Any) -> dict[str, Any]:
    """argparse keywords for one step parameter, from its annotation and default."""
    required = parameter.default is inspect.Parameter.empty
    options: dict[str, Any] = {"dest": parameter.name}
    if not required:
        options["default"] = parameter.default
    arguments = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(arguments) == 1:
        hint = arguments[0]  # ``X | None``: read as X, None is the default
    origin = typing.get_origin(hint) or hint
    if hint is bool:
        return {**options, "action": "store_true"}
    if origin in (dict, collections.abc.Mapping):
        return {**options, "type": _json, "required": required}
    if origin is tuple:
        items = typing.get_args(hint)
        return {**options, "type": items[0], "nargs": len(items), "required": required}
    if origin in (list, collections.abc.Sequence):
        (item,) = typing.get_args(hint) or (str,)
        return {**options, "type": item, "nargs": "+" if required else "*", "required": required}
    if hint in (str, int, float):
        return {**options, "type": hint, "required": required}
    raise TypeError(f"step parameter {parameter.name}: no command-line reading of {hint!r}")


def parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line of every step, or of step ``only``: a job imports only its own step's
    module (and so, e.g., no TensorFlow for a figure)."""
    root = argparse.ArgumentParser(prog="geoxai", description=__doc__.splitlines()[0])
    steps = root.add_subparsers(dest="step", required=True)
    for name in [only] if only in STEPS or only in TOOLS else [*STEPS, *TOOLS]:
        function = step_function(name)
        command = steps.add_parser(name, help=(function.__doc__ or "").splitlines()[0])
        hints = typing.get_type_hints(function)
        for parameter in inspect.signature(function).parameters.values():
            command.add_argument(option_flag(parameter.name), **_argument(parameter, hints[parameter.name]))
    return root


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    arguments = vars(parser(argv[0] if argv else None).parse_args(argv))
    name = arguments.pop("step")
    try:
        result = step_function(name)(**arguments)
    except GeoxaiError as error:
        print(f"geoxai {name}: error: {error}", file=sys.stderr)
        return 2
    if name in TOOLS:
        print(result)
    elif STEPS[name].report is not None:
        print(STEPS[name].report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
