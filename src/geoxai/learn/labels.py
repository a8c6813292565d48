"""Class labels from an index, aligned to the SST samples, and the chronological train/validation split.

A label table has one row per kept sample, in time order, with the columns ``time`` ("YYYY-MM", the
sample's stamp month), ``index`` (the index value that made the label), ``label`` (0 = negative
phase, 1 = positive) and ``split`` ("train" or "validation"). Both applications write this table,
so the same training and explanation code serves both.

The index value of a sample is the index at its stamp month, or (``index_months="sample"``) the
mean of the index over the months the sample averages, for seasonal or annual SST means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geoxai.core.errors import GeoxaiError
from geoxai.core.months import covered_keys
from geoxai.core.settings import settings_from_section

SPLITS = ("train", "validation")

#: Which months of the index label a sample: its stamp month, or the mean over the months it covers.
INDEX_MONTHS = ("stamp", "sample")

#: Where these settings sit in the workflow config; error messages name keys by their full path.
SECTION = "enso.labels"


@dataclass(frozen=True)
class LabelSettings:
    positive_threshold: float = 0.5
    negative_threshold: float = -0.5
    months: tuple[int, ...] = tuple(range(1, 13))
    train_fraction: float = 0.8
    class_names: tuple[str, str] = ("La Nina", "El Nino")
    index_months: str = "stamp"

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> LabelSettings:
        settings = settings_from_section(cls, section, SECTION)
        if settings.negative_threshold > settings.positive_threshold:
            raise GeoxaiError(
                f"config keys {SECTION}.negative_threshold > {SECTION}.positive_threshold: the negative "
                "phase must lie below the positive one"
            )
        if not 0 < settings.train_fraction < 1:
            raise GeoxaiError(f"config key {SECTION}.train_fraction={settings.train_fraction} must be in (0, 1)")
        if settings.index_months not in INDEX_MONTHS:
            raise GeoxaiError(
                f"config key {SECTION}.index_months={settings.index_months!r}: use 'stamp' (the index at "
                "each sample's time stamp) or 'sample' (its mean over the months the sample covers)"
            )
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


def sample_index(index: pd.Series, covered: Sequence[str]) -> np.ndarray:
    """The index averaged over each sample's months ("YYYY-MM/YYYY-MM"); NaN where any is missing.

    A mean over the months the index has would label a winter by a part of it: such samples are
    left out instead.
    """
    values = np.full(len(covered), np.nan)
    for i, span in enumerate(covered):
        months = index.reindex(covered_keys(span)).to_numpy(dtype=float)
        if np.all(np.isfinite(months)):
            values[i] = months.mean()
    return values


def phase_labels(
    index: pd.Series, sample_keys: Sequence[str], settings: LabelSettings = LabelSettings(),
    covered: Sequence[str] | None = None, source: str | None = None,
    samples_source: str = "the SST anomalies",
) -> pd.DataFrame:
    """Label every SST sample whose index lies beyond a threshold; drop the samples in between.

    ``index`` is keyed by "YYYY-MM"; ``sample_keys`` are the stamp months of the samples that have
    SST anomalies and ``covered`` the months each averages ("YYYY-MM/YYYY-MM", needed when
    ``settings.index_months`` is "sample"). ``source`` and ``samples_source`` name the index and the
    samples in error messages. ``table.attrs["dropped"]`` counts the samples left out, by reason.
    """
    months = pd.Index(sample_keys)
    calendar_month = np.array([int(key[5:7]) for key in months])
    if settings.index_months == "sample":
        if covered is None:
            raise GeoxaiError(
                f"config key {SECTION}.index_months is 'sample' (the index averaged over the months each "
                f"sample covers), but {samples_source} does not say which months those are: the SST "
                "file has no CF time bounds and config key enso.sst.sample_months is not set. Set "
                "enso.sst.sample_months (e.g. [11, 12, 1, 2, 3] for November-March means) and rerun the "
                f"anomalies step, or set {SECTION}.index_months to 'stamp'"
            )
        if len(covered) != len(months):
            raise GeoxaiError(
                f"{samples_source}: {len(covered)} covered-month spans for {len(months)} samples"
            )
        value = sample_index(index, covered)
        first, last = covered_keys(covered[0])[0], covered_keys(covered[-1])[-1]
    else:
        value = index.reindex(months).to_numpy(dtype=float)
        first, last = months[0], months[-1]
    positive = value > settings.positive_threshold
    negative = value < settings.negative_threshold
    in_months = np.isin(calendar_month, settings.months)
    has_index = np.isfinite(value)
    keep = (positive | negative) & in_months & has_index
    table = pd.DataFrame(
        {
            "time": months[keep],
            "index": value[keep],
            "label": positive[keep].astype(int),
        }
    )
    if table.empty:
        raise GeoxaiError(
            "no SST sample has an index value beyond the thresholds: check that the index"
            f"{f' ({source})' if source else ''} "
            f"covers the SST period ({first} .. {last}), config key {SECTION}.months and the thresholds "
            f"({SECTION}.positive_threshold, {SECTION}.negative_threshold)"
        )
    table["split"] = chronological_split(len(table), settings.train_fraction)
    table.attrs["dropped"] = {
        "other_months": int((~in_months).sum()),
        "index_missing": int((in_months & ~has_index).sum()),
        "neutral": int((in_months & has_index & ~(positive | negative)).sum()),
    }
    missing = np.flatnonzero(in_months & ~has_index)
    if missing.size:
        where = covered[missing[0]] if settings.index_months == "sample" else months[missing[0]]
        table.attrs["first_index_missing"] = f"{months[missing[0]]} (index months {where})"
    return table


def count_classes(table: pd.DataFrame, class_names: Sequence[str]) -> dict[str, Any]:
    """Samples per class and split, e.g. ``{"all": {"El Nino": 337, ...}, "train": {...}, ...}``."""
    counts: dict[str, Any] = {"class_names": list(class_names)}
    for split in ("all", *SPLITS):
        rows = table if split == "all" else table[table["split"] == split]
        per_class = {name: int((rows["label"] == c).sum()) for c, name in enumerate(class_names)}
        counts[split] = {**per_class, "total": len(rows)}
    return counts
