"""Rules of figures.smk: the figures, the report's tables and pages, Application 2's skill."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core import provenance
from geoxai.core.errors import GeoxaiError
from geoxai.figures.regions import map_regions
from geoxai.products.metrics import (
    read_evaluation,
    read_seed_accuracies,
    read_validation_confusion,
)
from geoxai.products.report import write_accuracy_page, write_run_summary


def _figure_settings(settings: dict[str, Any]):
    from geoxai.figures.base import FigureSettings

    return FigureSettings.from_config(settings)


def figure_composites(composite: str, output: Sequence[str], class_index: int,
                      settings: dict[str, Any], app: str = "", target: str = "",
                      truth: str = "", targets: str = "",
                      index_region: dict[str, Any] | None = None) -> None:
    """Composite relevance of one class, per seed and over seeds, beside the observed composite.

    The maps outline the regions of :func:`geoxai.figures.regions.map_regions`: ENSO's index box
    (``index_region``, config key ``enso.index.region``), Application 2's ``target`` box (edges
    from ``targets``), the synthetic source's driving region (from ``truth``)."""
    from geoxai.figures.composites import plot_composites

    chosen = _figure_settings(settings)
    plot_composites(composite, class_index, output, central_longitude=chosen.central_longitude,
                    dpi=chosen.dpi, regions=map_regions(app, target, truth, targets, index_region))


def figure_methods(composite: Sequence[str], output: Sequence[str], class_index: int,
                   settings: dict[str, Any], app: str = "", target: str = "",
                   truth: str = "", targets: str = "",
                   index_region: dict[str, Any] | None = None) -> None:
    """Every method's composite relevance of one class, side by side (regions as in
    figure_composites)."""
    from geoxai.figures.methods import plot_method_comparison

    chosen = _figure_settings(settings)
    plot_method_comparison(composite, class_index, output,
                           central_longitude=chosen.central_longitude, dpi=chosen.dpi,
                           regions=map_regions(app, target, truth, targets, index_region))


def figure_seed_agreement(composite: str, output: Sequence[str], class_index: int,
                          settings: dict[str, Any], app: str = "", target: str = "",
                          truth: str = "", targets: str = "",
                      index_region: dict[str, Any] | None = None) -> None:
    """How well the seeds' composites of one class agree (regions as in figure_composites)."""
    from geoxai.figures.composites import plot_seed_agreement

    chosen = _figure_settings(settings)
    plot_seed_agreement(composite, class_index, output, central_longitude=chosen.central_longitude,
                        dpi=chosen.dpi,
                        regions=map_regions(app, target, truth, targets, index_region))


def figure_case_study(anomalies: str, relevance: Sequence[str], output: Sequence[str], case: str,
                      settings: dict[str, Any], truth: str = "", app: str = "",
                      target: str = "", targets: str = "",
                      index_region: dict[str, Any] | None = None) -> None:
    """One month's anomalies and each seed's relevance; a named case is found in ``truth``
    (regions as in figure_composites)."""
    from geoxai.figures.case_study import plot_case_study
    from geoxai.products.truth import case_study_month

    chosen = _figure_settings(settings)
    plot_case_study(anomalies, relevance, case_study_month(case, truth), output,
                    central_longitude=chosen.central_longitude, dpi=chosen.dpi,
                    case_study_box=chosen.case_study_box, case=case,
                    regions=map_regions(app, target, truth, targets, index_region))


def figure_training(metrics: Sequence[str], output: Sequence[str], settings: dict[str, Any],
                    app: str = "", target: str = "") -> None:
    """Training curves of every seed; Application 2's title names the ``target`` box."""
    from geoxai.figures.training import plot_training

    plot_training(metrics, output, dpi=_figure_settings(settings).dpi,
                  subject=f"box {target}" if app == "lst" else "")


def figure_index(labels: str, output: Sequence[str], wording: dict[str, Any],
                 settings: dict[str, Any]) -> None:
    """The index behind the labels with its thresholds; ``wording`` names the index, classes and
    samples."""
    from geoxai.figures.training import plot_index

    plot_index(
        labels, output,
        thresholds=(wording.get("negative_threshold", -0.5), wording.get("positive_threshold", 0.5)),
        class_names=wording.get("class_names", ("La Niña", "El Niño")),
        index_name=wording.get("index_name", "Niño3.4 index"),
        sample_name=wording.get("sample_name", "months"), dpi=_figure_settings(settings).dpi,
    )


def figure_skill_map(skill: str, output: Sequence[str], settings: dict[str, Any]) -> None:
    """Application 2's validation accuracy per land box, on a map."""
    from geoxai.figures.skill_map import plot_skill_map

    plot_skill_map(skill, output, dpi=_figure_settings(settings).dpi)


def evaluation_table(evaluation: str, labels: str, metrics: Sequence[str], table: str) -> dict:
    """The accuracy page of one target: per seed, against chance and persistence, class counts
    and confusion matrices (from each network's metrics JSON)."""
    from geoxai.products.labels import read_label_table
    from geoxai.products.metrics import read_metrics

    target = Path(labels).stem
    app = Path(labels).parent.parent.name
    return write_accuracy_page(read_evaluation(evaluation), read_label_table(labels),
                               [read_metrics(path) for path in metrics], table,
                               f"Accuracy: {app} {target}")


def run_summary(sources: Sequence[str], summary: str, config: dict[str, Any] | None = None,
                configfiles: Sequence[str] | None = None) -> None:
    """An HTML page for the report: the run (config files, date, commit), where the data came
    from, the software versions and the configuration as used."""
    write_run_summary(config or {}, sources, summary, list(configfiles or []))


def known_answer(table: str, scores: str, enso_truth: str = "",
                 enso_composites: Sequence[str] = (), lst_truth: str = "",
                 lst_truth_mask: str = "", lst_skill: str = "",
                 lst_composites: Sequence[str] = ()) -> dict[str, Any]:
    """The synthetic sources' known answer against the run's outputs, as a report page and JSON:
    ENSO from ``enso_truth`` and the composites; Application 2 from ``lst_truth`` (truth.json),
    ``lst_truth_mask`` (truth.nc), the skill file and the driven box's composites."""
    from geoxai.products.known_answer import enso_scores, lst_scores
    from geoxai.products.report import write_known_answer_page

    result: dict[str, Any] = {}
    if enso_truth:
        result["enso"] = enso_scores(enso_truth, list(enso_composites))
    if lst_truth:
        result["lst"] = lst_scores(lst_truth, lst_truth_mask, lst_skill, list(lst_composites))
    if not result:
        raise GeoxaiError("known answer: no truth file given; the page is only made for runs "
                          "with a synthetic source (enso.synthetic or lst.synthetic)")
    write_known_answer_page(result, table)
    provenance.write_json_atomic(scores, result)
    return result


def lst_skill(
    evaluations: Sequence[str],
    labels: Sequence[str],
    metrics: Sequence[str],
    targets: str,
    skill: str,
    settings: dict[str, Any],
    config: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Validation accuracy and balanced accuracy of every box's networks beside its persistence
    baseline and chance (the best constant forecast on the validation split); the median seed's
    accuracy tested against chance per box, the false discovery rate held over boxes.

    ``metrics``: every network's metrics JSON, ``results/lst/models/<box>/seed<seed>.json``.
    """
    from geoxai.learn.metrics import (
        balanced_accuracy,
        best_constant_chance,
        persistence_accuracy,
        skill_significance,
    )
    from geoxai.lst.settings import LstSkillSettings
    from geoxai.products.labels import read_label_table
    from geoxai.products.skill import skill_dataset
    from geoxai.products.targets import read_box_edges

    chosen = LstSkillSettings.from_config(settings)
    accuracies = {Path(p).stem: read_seed_accuracies(p) for p in evaluations}
    tables = {Path(p).stem: read_label_table(p) for p in labels}
    if set(accuracies) != set(tables):
        raise GeoxaiError("skill: the evaluation and label files name different boxes")
    boxes, edges = read_box_edges(targets, list(accuracies))
    if not boxes:
        raise GeoxaiError(f"skill: none of the evaluated boxes is in {targets}")
    seeds = sorted({int(s) for table in accuracies.values() for s in table["seed"]})
    accuracy = np.full((len(boxes), len(seeds)), np.nan)
    train = np.full_like(accuracy, np.nan)
    balanced = np.full_like(accuracy, np.nan)
    for i, box in enumerate(boxes):
        for _, row in accuracies[box].iterrows():
            accuracy[i, seeds.index(int(row["seed"]))] = row["validation_accuracy"]
            train[i, seeds.index(int(row["seed"]))] = row.get("train_accuracy", np.nan)
    for path in metrics:
        box = Path(path).parent.name
        if box not in boxes:
            continue
        seed, confusion = read_validation_confusion(path)
        if seed in seeds:
            balanced[boxes.index(box), seeds.index(seed)] = balanced_accuracy(confusion)
    if np.isnan(balanced).all():
        raise GeoxaiError(f"skill: no network's metrics (of {len(metrics)} given) belong to a box "
                          "of the evaluations: pass results/lst/models/<box>/seed<seed>.json")
    validation = {box: tables[box][tables[box]["split"] == "validation"] for box in boxes}
    chance = [best_constant_chance(tables[b]) for b in boxes]
    per_box = {
        "persistence_accuracy": np.array([persistence_accuracy(tables[b]) for b in boxes]),
        "validation_samples": np.array([len(validation[b]) for b in boxes]),
        "warm_fraction_validation": np.array([float(validation[b]["label"].mean()) for b in boxes]),
        "chance_accuracy": np.array([c[0] for c in chance]),
        "majority_class": np.array([c[1] for c in chance]),
    }
    per_box["p_value"], per_box["significant"] = skill_significance(
        np.nanmedian(accuracy, axis=1), per_box["validation_samples"], per_box["chance_accuracy"],
        chosen.fdr_q)
    dataset = skill_dataset(boxes, seeds, accuracy, train, balanced, per_box, edges, chosen.fdr_q)
    provenance.write_netcdf_atomic(dataset, skill, config=config, inputs={"targets": targets})
    return dataset
