"""How good the networks are: per-split accuracy and confusion, the table over seeds, the
persistence baseline, and how a per-seed value is summarised over seeds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from geoxai.core.errors import GeoxaiError

#: How a per-seed value is summarised over seeds: variable suffix, reduction, words, CF method.
SEED_STATISTICS = {
    "median": ("median", np.nanmedian, "median", "median"),
    "min": ("min", np.nanmin, "lowest", "minimum"),
    "max": ("max", np.nanmax, "highest", "maximum"),
}


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows the true class, columns the predicted one."""
    confusion = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(confusion, (true, predicted), 1)
    return confusion


def split_scores(predicted: Mapping[str, np.ndarray], true: Mapping[str, np.ndarray],
                 n_classes: int) -> tuple[dict[str, float], dict[str, list[list[int]]]]:
    """Accuracy and confusion matrix of each split."""
    accuracy, confusion = {}, {}
    for name, labels in true.items():
        accuracy[name] = float((predicted[name] == labels).mean())
        confusion[name] = confusion_matrix(labels, predicted[name], n_classes).tolist()
    return accuracy, confusion


def seed_table(metrics: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per seed with its accuracy per split, then the median, min, max and std rows."""
    rows = [{"seed": m["seed"], **{f"{k}_accuracy": v for k, v in m["accuracy"].items()}}
            for m in metrics]
    if not rows:
        raise GeoxaiError("no metrics to evaluate: the config key `seeds` is empty")
    table = pd.DataFrame(rows).sort_values("seed")
    numeric = table.drop(columns="seed")
    summary = pd.DataFrame(
        [numeric.median(), numeric.min(), numeric.max(), numeric.std(ddof=0)],
        index=["median", "min", "max", "std"],
    ).reset_index(names="seed")
    return pd.concat([table.astype({"seed": str}), summary], ignore_index=True)


def persistence_accuracy(labels: pd.DataFrame, split: str = "validation") -> float:
    """Accuracy on ``split`` of carrying this season's sign forward (the ``persistence`` column)."""
    rows = labels[labels["split"] == split]
    return float((rows["persistence"] == rows["label"]).mean()) if len(rows) else float("nan")


def majority_fraction(labels: pd.DataFrame, split: str = "validation") -> float:
    """Chance accuracy: the fraction of the split's samples in its most common class (always
    guessing that class scores this)."""
    chosen = labels.loc[labels["split"] == split, "label"]
    return float(chosen.value_counts(normalize=True).max()) if len(chosen) else float("nan")


def skill_against_chance(validation_accuracy: Sequence[float], labels: pd.DataFrame,
                         level: float = 0.05) -> dict[str, Any]:
    """The networks' median validation accuracy against chance (the majority-class fraction of
    the validation labels): a one-sided binomial test of the median's correct count; skilful
    where p < ``level``."""
    from geoxai.core.statistics import binomial_p_value

    trials = int((labels["split"] == "validation").sum())
    chance = majority_fraction(labels)
    median = float(np.median(np.asarray(validation_accuracy, float)))
    p_value = binomial_p_value(round(median * trials), trials, chance)
    return {"median_accuracy": median, "chance": chance, "trials": trials, "p_value": p_value,
            "skilful": bool(np.isfinite(p_value) and p_value < level), "level": level}
