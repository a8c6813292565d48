"""Class labels from an index, aligned to the SST months, and the chronological train/validation split.

A label table has one row per kept sample, in time order, with the columns ``time`` ("YYYY-MM"),
``index`` (the index value that made the label), ``label`` (0 = negative phase, 1 = positive) and
``split`` ("train" or "validation"). Both applications write this table, so the same training and
explanation code serves both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geoxai.errors import GeoxaiError
from geoxai.settings import settings_from_section

SPLITS = ("train", "validation")


@dataclass(frozen=True)
class LabelSettings:
    positive_threshold: float = 0.5
    negative_threshold: float = -0.5
    months: tuple[int, ...] = tuple(range(1, 13))
    train_fraction: float = 0.8
    class_names: tuple[str, str] = ("La Nina", "El Nino")

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> LabelSettings:
        settings = settings_from_section(cls, section, "labels")
        if settings.negative_threshold > settings.positive_threshold:
            raise GeoxaiError(
                "config keys labels.negative_threshold > labels.positive_threshold: the negative phase "
                "must lie below the positive one"
            )
        if not 0 < settings.train_fraction < 1:
            raise GeoxaiError(f"config key labels.train_fraction={settings.train_fraction} must be in (0, 1)")
        return settings


def chronological_split(n_samples: int, train_fraction: float) -> np.ndarray:
    """"train" for the first ``round(train_fraction * n)`` samples, "validation" for the rest."""
    n_train = round(train_fraction * n_samples)
    return np.array(["train"] * n_train + ["validation"] * (n_samples - n_train))


def check_both_classes(table: pd.DataFrame, class_names: Sequence[str], source: str) -> None:
    """Every split must hold both classes, or a network cannot be trained and validated on it."""
    for split in SPLITS:
        present = set(table.loc[table["split"] == split, "label"].tolist())
        missing = [class_names[c] for c in range(len(class_names)) if c not in present]
        if missing:
            raise GeoxaiError(
                f"{source}: the {split} split has no {', '.join(missing)} sample: change the thresholds, "
                "months, period or labels.train_fraction so both classes occur in both splits"
            )


def phase_labels(
    index: pd.Series, sample_months: Sequence[str], settings: LabelSettings = LabelSettings()
) -> pd.DataFrame:
    """Label every SST month whose index lies beyond a threshold; drop the months in between.

    ``index`` is keyed by "YYYY-MM"; ``sample_months`` are the months that have SST anomalies.
    """
    months = pd.Index(sample_months)
    aligned = index.reindex(months)
    calendar_month = np.array([int(key[5:7]) for key in months])
    value = aligned.to_numpy(dtype=float)
    positive = value > settings.positive_threshold
    negative = value < settings.negative_threshold
    keep = (positive | negative) & np.isin(calendar_month, settings.months) & np.isfinite(value)
    table = pd.DataFrame(
        {
            "time": months[keep],
            "index": value[keep],
            "label": positive[keep].astype(int),
        }
    )
    if table.empty:
        raise GeoxaiError(
            "no SST month has an index value beyond the thresholds: check that the index covers the "
            f"SST period ({months[0]} .. {months[-1]}) and the label thresholds"
        )
    table["split"] = chronological_split(len(table), settings.train_fraction)
    return table


def count_classes(table: pd.DataFrame, class_names: Sequence[str]) -> dict[str, Any]:
    """Samples per class and split, e.g. ``{"all": {"El Nino": 337, ...}, "train": {...}, ...}``."""
    counts: dict[str, Any] = {"class_names": list(class_names)}
    for split in ("all", *SPLITS):
        rows = table if split == "all" else table[table["split"] == split]
        per_class = {name: int((rows["label"] == c).sum()) for c, name in enumerate(class_names)}
        counts[split] = {**per_class, "total": len(rows)}
    return counts


def read_label_table(path) -> pd.DataFrame:
    """Read a label table written by the labels rule, checking its columns."""
    try:
        table = pd.read_csv(path, dtype={"time": str, "split": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise GeoxaiError(f"label table {path} cannot be read ({error}): rerun the labels rule") from error
    required = {"time", "index", "label", "split"}
    if not required <= set(table.columns):
        raise GeoxaiError(
            f"label table {path} lacks column(s) {sorted(required - set(table.columns))}; it has "
            f"{list(table.columns)}"
        )
    return table
