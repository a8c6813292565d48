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


def best_constant_chance(labels: pd.DataFrame) -> tuple[float, int]:
    """The chance level of one box: the validation accuracy of the best constant forecast (always
    the class most frequent in the *validation* split), and that class; never below 0.5 for two
    classes. The training split's majority would be a lower bar where the class frequencies
    drift between the periods (on the demo one box's training set is 52 % warm, its validation
    set 36 %: "always warm" scores 0.36 and a network at 0.46, worse than a coin, beat it)."""
    validation = labels.loc[labels["split"] == "validation", "label"].astype(int)
    if validation.empty:
        return float("nan"), -1
    frequencies = validation.value_counts(normalize=True)
    best = max(sorted(int(c) for c in frequencies.index), key=lambda c: frequencies[c])
    return float(frequencies[best]), best


def balanced_accuracy(confusion: Sequence[Sequence[int]] | np.ndarray) -> float:
    """Mean recall over the classes of a confusion matrix (rows the true class); classes without
    a sample do not count. NaN for an empty matrix."""
    matrix = np.asarray(confusion, dtype=float)
    totals = matrix.sum(axis=1)
    present = totals > 0
    if not present.any():
        return float("nan")
    return float(np.mean(np.diag(matrix)[present] / totals[present]))


def skill_significance(accuracy: np.ndarray, samples: np.ndarray, chance: np.ndarray,
                       q: float) -> tuple[np.ndarray, np.ndarray]:
    """Per box, the one-sided binomial p-value of ``round(accuracy × samples)`` correct forecasts
    out of ``samples`` against ``chance``, and whether it is significant with the false discovery
    rate over the boxes held at ``q`` (Benjamini–Hochberg). NaN inputs give a NaN p-value, never
    significant."""
    from geoxai.core.statistics import binomial_p_value, false_discovery_rate

    p_values = np.array([
        binomial_p_value(round(float(a) * int(n)), int(n), float(c))
        if np.isfinite(a) and np.isfinite(c) and n > 0 else np.nan
        for a, n, c in zip(accuracy, samples, chance, strict=True)
    ], dtype=float)
    return p_values, false_discovery_rate(p_values, q)


def skill_against_chance(validation_accuracy: Sequence[float], labels: pd.DataFrame,
                         level: float = 0.05) -> dict[str, Any]:
    """The networks' median validation accuracy against chance (the best constant forecast on
    the validation labels, :func:`best_constant_chance`): a one-sided binomial test of the
    median's correct count; skilful where p < ``level``."""
    from geoxai.core.statistics import binomial_p_value

    trials = int((labels["split"] == "validation").sum())
    chance = best_constant_chance(labels)[0]
    median = float(np.median(np.asarray(validation_accuracy, float)))
    p_value = binomial_p_value(round(median * trials), trials, chance)
    return {"median_accuracy": median, "chance": chance, "trials": trials, "p_value": p_value,
            "skilful": bool(np.isfinite(p_value) and p_value < level), "level": level}
