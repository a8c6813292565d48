"""Composite relevance maps, their agreement across seeds, and the matching observed composites.

The paper's composite (docs/science.md): each correctly classified sample's relevance map is divided by its
own maximum, then the maps of a class are averaged. We do this per seed, then summarise over seeds:
the mean, the spread, and how well the seeds' patterns agree (pattern correlation over the ocean).

Beside those dimensionless maps the file keeps the composites in physical units (the SST anomaly
in K, the raw relevance in the method's units), and the optimal inputs are averaged only over the
networks whose optimization reached the target probability with a non-zero map: the others would
show a full-strength pattern the network was never confident of, or shrink the mean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.grid import LAT_ATTRS, LON_ATTRS
from geoxai.products.anomalies import OCEAN_MASK_ATTRS
from geoxai.products.relevance import sample_keys


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


#: Units of the raw relevance: the LRP rules and the attributions share the logit's (dimensionless)
#: units per cell; the gradients are the logit's change per kelvin of SST anomaly.
GRADIENT_RULES = ("gradient", "smoothgrad")


def relevance_units(rule: str) -> str:
    return "K-1" if rule in GRADIENT_RULES else "1"


def usable_optimal_inputs(
    optimal_inputs: dict[tuple[int, int], np.ndarray],
    reached: Mapping[tuple[int, int], bool] | None,
) -> dict[tuple[int, int], bool]:
    """Which optimal inputs may enter the mean: the target probability reached and not all zero
    (a zero start with a zero gradient never moves). ``reached`` None: every one reached it."""
    return {key: bool((reached is None or reached.get(key, False))
                      and np.nanmax(np.abs(field), initial=0.0) > 0)
            for key, field in optimal_inputs.items()}


def _optimal_means(optimal_inputs, usable, seeds, n_classes, shape):
    """Normalized mean of the usable maps, the normalized mean of the others (for a greyed panel),
    the raw mean of the usable ones (K), and the counts used and excluded per class."""
    normalized, unreached, physical = (np.full((n_classes, *shape), np.nan, np.float32)
                                       for _ in range(3))
    used = np.zeros(n_classes, np.int64)
    excluded = np.zeros(n_classes, np.int64)
    for c in range(n_classes):
        keys = [(seed, c) for seed in seeds if (seed, c) in optimal_inputs]
        good = [optimal_inputs[k] for k in keys if usable[k]]
        bad = [optimal_inputs[k] for k in keys if not usable[k]]
        used[c], excluded[c] = len(good), len(bad)
        if good:
            normalized[c] = np.mean([normalize_map(m) for m in good], axis=0)
            physical[c] = np.mean(good, axis=0)
        if bad:
            unreached[c] = np.mean([normalize_map(m) for m in bad], axis=0)
    return normalized, unreached, physical, used, excluded


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
    reached: Mapping[tuple[int, int], bool] | None = None,
) -> xr.Dataset:
    """Per-seed and across-seed composites.

    ``relevance_per_seed``: datasets with ``relevance(sample, lat, lon)`` and per-sample ``time``,
    ``true_class``, ``predicted_class``, ``split``, attribute ``seed``. ``anomalies``: the SST
    anomaly maps (time, lat, lon) aligned with ``sample_time`` (month keys). ``optimal_inputs``:
    {(seed, class): map} raw optimal inputs (K); ``reached``: {(seed, class): whether that
    optimization reached its target probability} (None: all did).
    """
    if not relevance_per_seed:
        raise GeoxaiError("no relevance file to composite: the config key `seeds` is empty")
    seeds = [int(ds.attrs["seed"]) for ds in relevance_per_seed]
    n_classes = len(class_names)
    shape = (len(seeds), n_classes, lat.size, lon.size)
    relevance_mean = np.zeros(shape, np.float32)
    raw_mean = np.zeros(shape, np.float32)
    sst_mean = np.zeros(shape, np.float32)
    counts = np.zeros((len(seeds), n_classes), np.int64)
    position = {key: i for i, key in enumerate(sample_time)}
    for s, dataset in enumerate(relevance_per_seed):
        rows = np.array([position[str(t)] for t in sample_keys(dataset)])
        raw = dataset["relevance"].values
        normalized = normalize_each(raw)
        for c in range(n_classes):
            chosen = correct_samples(
                dataset["true_class"].values, dataset["predicted_class"].values,
                dataset["split"].values.astype(str), c, subset,
            )
            counts[s, c] = chosen.sum()
            if counts[s, c]:
                relevance_mean[s, c] = normalized[chosen].mean(axis=0)
                raw_mean[s, c] = raw[chosen].mean(axis=0)
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
    mean_over_seeds, raw_over_seeds, sst_physical = (
        _mean_over_seeds(per_seed, have) for per_seed in (relevance_mean, raw_mean, sst_mean)
    )
    spread = np.array([
        relevance_mean[have[:, c], c].std(axis=0) if have[:, c].any() else np.zeros(weights.shape)
        for c in range(n_classes)
    ], dtype=np.float32)
    sst_composite = np.array([normalize_map(m) for m in sst_physical], dtype=np.float32)
    usable = usable_optimal_inputs(optimal_inputs, reached)
    optimal_mean, optimal_unreached, optimal_physical, used, excluded = _optimal_means(
        optimal_inputs, usable, seeds, n_classes, weights.shape)
    flags = np.array([[usable.get((seed, c), False) for c in range(n_classes)] for seed in seeds],
                     np.int8)
    rule = str(relevance_per_seed[0].attrs.get("rule", ""))

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
            "relevance_composite_raw": (dims_map, raw_over_seeds, {
                "long_name": "mean over seeds of the composite of raw (not normalized) relevance",
                "units": relevance_units(rule)}),
            "sst_composite": (dims_map, sst_composite, {
                "long_name": "observed composite SST anomaly of the same samples, divided by its max abs",
                "units": "1"}),
            "sst_composite_physical": (dims_map, sst_physical, {
                "long_name": "observed composite SST anomaly of the same samples, mean over seeds",
                "units": "K"}),
            "optimal_input_mean": (dims_map, optimal_mean, {
                "long_name": "mean over the seeds that reached the target probability of the optimal "
                             "input, each divided by its max abs; NaN where none did",
                "units": "1"}),
            "optimal_input_mean_physical": (dims_map, optimal_physical, {
                "long_name": "mean of the same optimal inputs, not normalized; NaN where none reached "
                             "the target", "units": "K"}),
            "optimal_input_mean_unreached": (dims_map, optimal_unreached, {
                "long_name": "mean of the normalized optimal inputs left out (target probability "
                             "missed or an all-zero map): for a greyed panel only", "units": "1"}),
            "optimal_input_used": (("seed", "class"), flags, {
                "long_name": "whether the seed's optimal input reached the target probability with "
                             "a non-zero map and so entered the mean", "units": "1",
                "flag_values": np.array([0, 1], np.int8), "flag_meanings": "excluded used"}),
            "optimal_input_count_used": (("class",), used, {
                "long_name": "optimal inputs in the mean (target probability reached)", "units": "1"}),
            "optimal_input_count_excluded": (("class",), excluded, {
                "long_name": "optimal inputs left out of the mean (target missed or all zero)",
                "units": "1"}),
            "sample_count": (("seed", "class"), counts, {
                "long_name": "correctly classified samples in the composite", "units": "1"}),
            "ocean_mask": (("lat", "lon"), ocean_mask.astype(np.int8), dict(OCEAN_MASK_ATTRS)),
        },
        coords={
            "seed": ("seed", np.array(seeds), {"long_name": "random seed of the network"}),
            "seed_other": ("seed_other", np.array(seeds), {
                "long_name": "random seed of the network compared with"}),
            "class": ("class", np.array(list(class_names)), {"long_name": "class name"}),
            "lat": ("lat", lat, LAT_ATTRS),
            "lon": ("lon", lon, LON_ATTRS),
        },
        attrs={"title": "Composite relevance maps", "composite_samples": subset},
    )


def _mean_over_seeds(per_seed: np.ndarray, have: np.ndarray) -> np.ndarray:
    """Mean over the seeds (axis 0) with samples of the class; zero where none has."""
    with np.errstate(invalid="ignore"):
        return np.where(
            have.any(axis=0)[:, None, None],
            (per_seed * have[:, :, None, None]).sum(axis=0)
            / np.maximum(have.sum(axis=0), 1)[:, None, None],
            0.0,
        ).astype(np.float32)


def relevance_share_in_region(relevance: np.ndarray, region: np.ndarray, ocean_mask: np.ndarray,
                              lat: np.ndarray | None = None) -> float:
    """Share of total |relevance| inside ``region`` divided by the region's share of the ocean.

    1 means relevance is spread evenly over the ocean area; the known-answer tests ask for >= 5.
    A cell's relevance is an amount (the LRP rules and attributions share out the logit), so the
    relevance share is a plain sum; the region's share is of ocean *area* (cos latitude of ``lat``,
    the maps' latitudes), so a region of small high-latitude cells is not over-counted. Without
    ``lat`` every cell counts the same (only right for equal-area cells).
    """
    ocean = ocean_mask > 0
    inside = (region > 0) & ocean
    area = (np.cos(np.deg2rad(np.asarray(lat, float)))[:, None] * np.ones(ocean.shape)
            if lat is not None else np.ones(ocean.shape))
    magnitude = np.nan_to_num(np.abs(relevance)) * ocean
    relevance_share = magnitude[inside].sum() / magnitude.sum()
    area_share = area[inside].sum() / area[ocean].sum()
    return float(relevance_share / area_share)
