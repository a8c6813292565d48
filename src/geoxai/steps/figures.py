"""Rules of figures.smk: the figures, the report's tables and pages, Application 2's skill."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core import provenance
from geoxai.core.errors import GeoxaiError
from geoxai.products.metrics import read_evaluation, read_seed_accuracies
from geoxai.products.report import write_accuracy_table, write_run_summary


def plot(kind: str, inputs: Sequence[str], outputs: Sequence[str], settings: dict[str, Any],
         class_index: int | None = None, case: str | None = None, truth: str | None = None,
         labels: dict[str, Any] | None = None) -> None:
    """Draw one figure of ``kind`` from ``inputs`` into every path of ``outputs``."""
    from geoxai.figures import case_study, composites, skill_map, training
    from geoxai.figures.base import FigureSettings

    chosen = FigureSettings.from_config(settings)
    dpi, central = chosen.dpi, chosen.central_longitude
    if kind == "composites":
        composites.plot_composites(inputs[0], class_index, outputs, central_longitude=central, dpi=dpi)
    elif kind == "seed-agreement":
        composites.plot_seed_agreement(inputs[0], class_index, outputs, central_longitude=central, dpi=dpi)
    elif kind == "case-study":
        from geoxai.products.truth import case_study_month

        month = case_study_month(case, truth)
        case_study.plot_case_study(inputs[0], inputs[1:], month, outputs, central_longitude=central, dpi=dpi,
                                 case_study_box=chosen.case_study_box)
    elif kind == "training":
        training.plot_training(inputs, outputs, dpi=dpi)
    elif kind == "index":
        labels = labels or {}
        training.plot_index(
            inputs[0], outputs,
            thresholds=(labels.get("negative_threshold", -0.5), labels.get("positive_threshold", 0.5)),
            class_names=labels.get("class_names", ("La Nina", "El Nino")),
            index_name=labels.get("index_name", "Niño3.4 index"),
            sample_name=labels.get("sample_name", "months"), dpi=dpi,
        )
    elif kind == "skill-map":
        skill_map.plot_skill_map(inputs[0], outputs, dpi=dpi)
    else:
        raise GeoxaiError(f"unknown figure kind {kind!r}")


def accuracy_table(evaluation_csv: str, output: str) -> None:
    """The accuracy table over seeds as an HTML fragment for the report."""
    write_accuracy_table(read_evaluation(evaluation_csv), output)


def run_summary(inputs: Sequence[str], output: str, config: dict[str, Any] | None = None) -> None:
    """An HTML page for the report: the config, where the data came from, and software versions."""
    write_run_summary(config or {}, inputs, output)


def skill(
    evaluation_paths: Sequence[str],
    label_paths: Sequence[str],
    targets_path: str,
    output: str,
    config: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Validation accuracy of every box's networks beside its persistence baseline and chance."""
    from geoxai.learn.metrics import persistence_accuracy
    from geoxai.products.labels import read_label_table
    from geoxai.products.skill import skill_dataset
    from geoxai.products.targets import read_box_edges

    evaluations = {Path(p).stem: read_seed_accuracies(p) for p in evaluation_paths}
    tables = {Path(p).stem: read_label_table(p) for p in label_paths}
    if set(evaluations) != set(tables):
        raise GeoxaiError("skill: the evaluation and label files name different boxes")
    boxes, edges = read_box_edges(targets_path, list(evaluations))
    if not boxes:
        raise GeoxaiError(f"skill: none of the evaluated boxes is in {targets_path}")
    seeds = sorted({int(s) for table in evaluations.values() for s in table["seed"]})
    accuracy = np.full((len(boxes), len(seeds)), np.nan)
    train = np.full_like(accuracy, np.nan)
    for i, box in enumerate(boxes):
        for _, row in evaluations[box].iterrows():
            accuracy[i, seeds.index(int(row["seed"]))] = row["validation_accuracy"]
            train[i, seeds.index(int(row["seed"]))] = row.get("train_accuracy", np.nan)
    validation = {box: tables[box][tables[box]["split"] == "validation"] for box in boxes}
    per_box = {
        "persistence_accuracy": np.array([persistence_accuracy(tables[b]) for b in boxes]),
        "validation_samples": np.array([len(validation[b]) for b in boxes]),
        "warm_fraction_validation": np.array([float(validation[b]["label"].mean()) for b in boxes]),
    }
    dataset = skill_dataset(boxes, seeds, accuracy, train, per_box, edges)
    provenance.write_netcdf_atomic(dataset, output, config=config, inputs={"targets": targets_path})
    return dataset
