"""Composite relevance maps, their agreement across seeds, and the matching observed composites.

The paper's composite (docs/science.md): each correctly classified sample's relevance map is divided by its
own maximum, then the maps of a class are averaged. We do this per seed, then summarise over seeds:
the mean, the spread, and how well the seeds' patterns agree (pattern correlation over the ocean).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.grid import LAT_ATTRS, LON_ATTRS


def normalize_each(maps: np.ndarray) -> np.ndarray:
    """Divide each map (first axis) by its own maximum absolute value; all-zero maps stay zero.

    For α1β0 relevance (non-negative) this is the paper's division by the maximum; the absolute
    value keeps the same meaning for rules whose relevance has both signs.
    """
    flat = maps.reshape(maps.shape[0], -1)
    scale = np.abs(flat).max(axis=1)
    scale[scale == 0] = 1.0
    return (flat / scale[:, None]).reshape(maps.shape)


def normalize_map(field: np.ndarray) -> np.ndarray:
    return normalize_each(field[None])[0]


def area_weights(lat: np.ndarray, ocean_mask: np.ndarray) -> np.ndarray:
    """cos(latitude) weights over ocean cells, shape (lat, lon)."""
    return np.cos(np.deg2rad(lat))[:, None] * (ocean_mask > 0)


def pattern_correlation(first: np.ndarray, second: np.ndarray, weights: np.ndarray) -> float:
    """Area-weighted, centred Pearson correlation of two maps over the cells with weight > 0."""
    w = weights / weights.sum()
    a = first - (w * first).sum()
    b = second - (w * second).sum()
    denominator = np.sqrt((w * a * a).sum() * (w * b * b).sum())
    return float((w * a * b).sum() / denominator) if denominator > 0 else float("nan")


def correct_samples(true_class: np.ndarray, predicted_class: np.ndarray, split: np.ndarray,
                    class_index: int, subset: str) -> np.ndarray:
    """Samples of ``class_index`` that the network classified correctly, in the chosen subset."""
    if subset not in {"all", "validation"}:
        raise GeoxaiError(f"config key composite.samples={subset!r}: use 'all' or 'validation'")
    chosen = (true_class == class_index) & (predicted_class == class_index)
    if subset == "validation":
        chosen &= split == "validation"
    return chosen


def composite_relevance(
    relevance_per_seed: Sequence[xr.Dataset],
    anomalies: np.ndarray,
    sample_time: np.ndarray,
    optimal_inputs: dict[tuple[int, int], np.ndarray],
    lat: np.ndarray,
    lon: np.ndarray,
    ocean_mask: np.ndarray,
    class_names: Sequence[str],
    subset: str = "all",
) -> xr.Dataset:
    """Per-seed and across-seed composites.

    ``relevance_per_seed``: datasets with ``relevance(sample, lat, lon)`` and per-sample ``time``,
    ``true_class``, ``predicted_class``, ``split``, attribute ``seed``. ``anomalies``: the SST
    anomaly maps (time, lat, lon) aligned with ``sample_time`` (month keys). ``optimal_inputs``:
    {(seed, class): map} raw optimal inputs.
    """
    if not relevance_per_seed:
        raise GeoxaiError("no relevance file to composite: the config key `seeds` is empty")
    seeds = [int(ds.attrs["seed"]) for ds in relevance_per_seed]
    n_classes = len(class_names)
    shape = (len(seeds), n_classes, lat.size, lon.size)
    relevance_mean = np.zeros(shape, np.float32)
    sst_mean = np.zeros(shape, np.float32)
    counts = np.zeros((len(seeds), n_classes), np.int64)
    position = {key: i for i, key in enumerate(sample_time)}
    for s, dataset in enumerate(relevance_per_seed):
        rows = np.array([position[str(t)] for t in dataset["time"].values])
        normalized = normalize_each(dataset["relevance"].values)
        for c in range(n_classes):
            chosen = correct_samples(
                dataset["true_class"].values, dataset["predicted_class"].values,
                dataset["split"].values.astype(str), c, subset,
            )
            counts[s, c] = chosen.sum()
            if counts[s, c]:
                relevance_mean[s, c] = normalized[chosen].mean(axis=0)
                sst_mean[s, c] = anomalies[rows[chosen]].mean(axis=0)

    weights = area_weights(lat, ocean_mask)
    agreement = np.full((n_classes, len(seeds), len(seeds)), np.nan, np.float32)
    for c in range(n_classes):
        for i in range(len(seeds)):
            for j in range(len(seeds)):
                if counts[i, c] and counts[j, c]:
                    agreement[c, i, j] = pattern_correlation(
                        relevance_mean[i, c], relevance_mean[j, c], weights
                    )
    have = counts > 0
    with np.errstate(invalid="ignore"):
        mean_over_seeds = np.where(
            have.any(axis=0)[:, None, None],
            (relevance_mean * have[:, :, None, None]).sum(axis=0)
            / np.maximum(have.sum(axis=0), 1)[:, None, None],
            0.0,
        )
    spread = np.array([
        relevance_mean[have[:, c], c].std(axis=0) if have[:, c].any() else np.zeros(weights.shape)
        for c in range(n_classes)
    ], dtype=np.float32)
    sst_composite = np.array([
        normalize_map(sst_mean[have[:, c], c].mean(axis=0)) if have[:, c].any() else np.zeros(weights.shape)
        for c in range(n_classes)
    ], dtype=np.float32)
    optimal_mean = np.zeros((n_classes, lat.size, lon.size), np.float32)
    for c in range(n_classes):
        maps = [normalize_map(optimal_inputs[(seed, c)]) for seed in seeds if (seed, c) in optimal_inputs]
        if maps:
            optimal_mean[c] = np.mean(maps, axis=0)

    dims_map = ("class", "lat", "lon")
    return xr.Dataset(
        {
            "relevance_composite": (("seed", *dims_map), relevance_mean, {
                "long_name": "composite of per-sample max-normalized relevance of the winning logit",
                "units": "1"}),
            "relevance_composite_mean": (dims_map, mean_over_seeds.astype(np.float32), {
                "long_name": "mean over seeds of the composite relevance", "units": "1"}),
            "relevance_spread": (dims_map, spread, {
                "long_name": "standard deviation over seeds of the composite relevance", "units": "1"}),
            "seed_pattern_correlation": (("class", "seed", "seed_other"), agreement, {
                "long_name": "area-weighted pattern correlation of composite relevance between seeds",
                "units": "1"}),
            "sst_composite": (dims_map, sst_composite, {
                "long_name": "observed composite SST anomaly of the same samples, divided by its max abs",
                "units": "1"}),
            "optimal_input_mean": (dims_map, optimal_mean, {
                "long_name": "mean over seeds of the optimal input, each divided by its max abs",
                "units": "1"}),
            "sample_count": (("seed", "class"), counts, {
                "long_name": "correctly classified samples in the composite", "units": "1"}),
            "ocean_mask": (("lat", "lon"), ocean_mask.astype(np.int8), {
                "long_name": "ocean mask (1 ocean, 0 land)", "units": "1"}),
        },
        coords={
            "seed": ("seed", np.array(seeds)),
            "seed_other": ("seed_other", np.array(seeds)),
            "class": ("class", np.array(list(class_names))),
            "lat": ("lat", lat, LAT_ATTRS),
            "lon": ("lon", lon, LON_ATTRS),
        },
        attrs={"title": "Composite relevance maps", "composite_samples": subset},
    )


def relevance_share_in_region(relevance: np.ndarray, region: np.ndarray, ocean_mask: np.ndarray) -> float:
    """Share of total |relevance| inside ``region`` divided by the region's share of ocean cells.

    1 means relevance is spread evenly over the ocean; the known-answer tests ask for >= 5.
    """
    ocean = ocean_mask > 0
    inside = (region > 0) & ocean
    magnitude = np.abs(relevance) * ocean
    relevance_share = magnitude[inside].sum() / magnitude.sum()
    area_share = inside.sum() / ocean.sum()
    return float(relevance_share / area_share)
