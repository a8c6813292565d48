"""Is a composite more than what a network that learned nothing would show? (Labe & Barnes 2021)

The null: networks with the real networks' architecture and training, trained on labels shuffled
in blocks of a year (:func:`shuffle_in_year_blocks`: whole years of training labels change place,
so the labels keep their autocorrelation within a year and their class counts; the validation
labels are untouched). Each is explained with the configured methods and composited exactly as the
real networks are (:func:`geoxai.xai.composites.composite_relevance`, over the samples of the
*real* class that the null network assigns to that class: the same selection by class as the real
composite, so that what the SST patterns of a class alone put into a relevance map is in the null
too).

Per cell and class the test is one-sided on the composite's magnitude (for the non-negative LRP
rules, the composite itself): the ``percentile`` of the null networks' composites is the
threshold (:func:`null_threshold`), the p-value is the fraction of null composites at least as
large as the real one with the usual +1 correction (:func:`permutation_p_values`), and field
significance holds the false discovery rate over the ocean cells at ``q`` (Benjamini–Hochberg,
Wilks 2016). The real composite is the mean over seeds, each null composite one network's, so the
test is conservative: a mean over seeds varies less than one network does.

A bootstrap over samples (:func:`bootstrap_composites`) gives the sampling spread of the real
composite: each seed's samples are drawn with replacement and composited again.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.settings import settings_from_section
from geoxai.core.statistics import false_discovery_rate

SECTION = "significance"


@dataclass(frozen=True)
class SignificanceSettings:
    """The ``significance`` config section."""

    networks: int = 20  # shuffled-label networks per target
    percentile: float = 95.0  # of the null composites: the threshold per cell and class
    q: float = 0.05  # false discovery rate of the field significance
    bootstrap: int = 100  # resamplings of the samples for the real composite's spread
    spread: tuple[float, float] = (5.0, 95.0)  # percentiles of the bootstrap reported
    seed_offset: int = 1000  # null network k has seed seed_offset + k; also seeds the bootstrap
    methods: tuple[str, ...] | None = None  # the methods tested; None: every explain.rules entry

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> SignificanceSettings:
        unknown = sorted(set(section) - set(cls.__dataclass_fields__))
        if unknown:
            raise GeoxaiError(
                f"unknown config key(s) {', '.join(f'{SECTION}.{key}' for key in unknown)}: "
                f"known are {', '.join(sorted(cls.__dataclass_fields__))}"
            )
        settings = settings_from_section(cls, section, SECTION)
        if settings.networks < 1:
            raise GeoxaiError(f"config key {SECTION}.networks is {settings.networks}: give at least 1")
        if not 0 < settings.percentile < 100:
            raise GeoxaiError(f"config key {SECTION}.percentile is {settings.percentile}: give a "
                              "value between 0 and 100, e.g. 95")
        if not 0 < settings.q < 1:
            raise GeoxaiError(f"config key {SECTION}.q is {settings.q}: give a false discovery "
                              "rate between 0 and 1, e.g. 0.05")
        if settings.bootstrap < 1:
            raise GeoxaiError(f"config key {SECTION}.bootstrap is {settings.bootstrap}: give at least 1")
        spread = settings.spread
        if len(spread) != 2 or not 0 <= spread[0] < spread[1] <= 100:
            raise GeoxaiError(f"config key {SECTION}.spread is {list(settings.spread)}: give two "
                              "percentiles [low, high] with 0 <= low < high <= 100")
        return settings

    def null_seeds(self) -> list[int]:
        return [self.seed_offset + k for k in range(self.networks)]


def null_seed(network: int, seed_offset: int) -> int:
    return int(seed_offset) + int(network)


# --------------------------------------------------------------------------- the null's labels


def year_blocks(time: Sequence[str]) -> np.ndarray:
    """The block of each sample: the year of its "YYYY-MM" key (a year's months, or seasons)."""
    return np.array([int(str(key).split("-")[0]) for key in time])


def shuffle_in_year_blocks(labels: np.ndarray, time: Sequence[str], split: np.ndarray,
                           rng: np.random.Generator) -> np.ndarray:
    """Training labels with whole years permuted; validation labels unchanged.

    The training samples' labels are cut into one block per year (in time order), the blocks are
    put in a random order and laid back onto the training samples in time order. A year's labels
    stay together and in order (they fill consecutive samples), the class counts are unchanged,
    and no label crosses into the validation split.
    """
    labels = np.asarray(labels)
    training = np.flatnonzero(np.asarray(split) == "train")
    blocks = year_blocks(np.asarray(time)[training])
    starts = np.flatnonzero(np.r_[True, blocks[1:] != blocks[:-1]])
    pieces = np.split(training, starts[1:])
    order = rng.permutation(len(pieces))
    source = np.concatenate([pieces[i] for i in order]) if pieces else training
    shuffled = labels.copy()
    shuffled[training] = labels[source]
    return shuffled


# --------------------------------------------------------------------------- the tests


def null_threshold(null: np.ndarray, percentile: float) -> np.ndarray:
    """The ``percentile`` over the first axis (networks) of the null composites' magnitude; a
    NaN null composite (a network without a sample of the class) is left out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells stay NaN
        return np.nanpercentile(np.abs(null), percentile, axis=0)


def permutation_p_values(real: np.ndarray, null: np.ndarray) -> np.ndarray:
    """(1 + #null ≥ real) / (1 + networks) per cell, on magnitudes: never 0, at least
    1 / (networks + 1). NaN null composites are left out; NaN where none is left."""
    counted = np.isfinite(null).sum(axis=0)
    with np.errstate(invalid="ignore"):
        exceed = (np.abs(null) >= np.abs(real)[None]).sum(axis=0)
    return np.where(counted > 0, (1.0 + exceed) / (1.0 + np.maximum(counted, 1)), np.nan)


def significance_fields(real: np.ndarray, null: np.ndarray, ocean: np.ndarray,
                        percentile: float, q: float) -> dict[str, np.ndarray]:
    """Threshold, p-value and both masks of real composites (class, lat, lon) against null ones
    (network, class, lat, lon). Land cells get NaN p-values and are never significant; the FDR
    counts, per class, the ocean cells as its tests."""
    if null.shape[1:] != real.shape:
        raise GeoxaiError(f"null composites of shape {null.shape[1:]} for a real composite of "
                          f"shape {real.shape}: they must come from the same grid and classes")
    wet = np.broadcast_to(ocean > 0, real.shape)
    threshold = np.where(wet, null_threshold(null, percentile), np.nan)
    p_values = np.where(wet, permutation_p_values(real, null), np.nan)
    above = wet & (np.abs(real) > threshold)
    fdr = np.stack([false_discovery_rate(p_values[c], q) for c in range(real.shape[0])])
    return {"threshold": threshold, "p_value": p_values, "significant": above,
            "significant_fdr": fdr & wet}


# --------------------------------------------------------------------------- the bootstrap


def bootstrap_composites(relevance_per_seed: Sequence[xr.Dataset], n_classes: int, subset: str,
                         repeats: int, rng: np.random.Generator) -> np.ndarray:
    """``repeats`` composites (repeat, class, lat, lon) of each seed's samples drawn with
    replacement (as many as it has): the over-seed composite that
    :func:`geoxai.xai.composites.composite_relevance` makes (``relevance_composite_mean``) of
    the resampled files, without resampling them. A sample drawn k times weighs k in its seed's
    mean of max-normalised maps, so all draws of a seed are one product of the draw counts with
    that seed's maps, each map normalised once (the composite of 100 resampled copies of ten 1°
    files took minutes and gigabytes; tests hold the two equal)."""
    from geoxai.xai.composites import correct_samples, normalize_each

    sizes = [int(ds.sizes["sample"]) for ds in relevance_per_seed]
    draws = [[rng.integers(0, n, n) for n in sizes] for _ in range(repeats)]
    shape = relevance_per_seed[0]["relevance"].shape[1:]
    total = np.zeros((repeats, n_classes, int(np.prod(shape))), np.float64)
    seeds_with_class = np.zeros((repeats, n_classes), np.int64)
    for s, dataset in enumerate(relevance_per_seed):
        n = sizes[s]
        maps = normalize_each(dataset["relevance"].values).reshape(n, -1)
        chosen = np.stack([correct_samples(dataset["true_class"].values,
                                           dataset["predicted_class"].values,
                                           dataset["split"].values.astype(str), c, subset)
                           for c in range(n_classes)])
        counts = np.stack([np.bincount(draw[s], minlength=n) for draw in draws])
        weights = (counts[:, None, :] * chosen[None, :, :]).astype(np.float32)
        drawn = weights.sum(axis=2)
        sums = (weights.reshape(-1, n) @ maps).reshape(repeats, n_classes, -1)
        have = drawn > 0
        total += np.where(have[..., None], sums / np.maximum(drawn, 1)[..., None], 0.0)
        seeds_with_class += have
    mean = np.where(seeds_with_class[..., None] > 0,
                    total / np.maximum(seeds_with_class, 1)[..., None], 0.0)
    return mean.reshape(repeats, n_classes, *shape).astype(np.float32)
