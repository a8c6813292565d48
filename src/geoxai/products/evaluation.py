"""The evaluation products of one application and target (docs/attribution.md, "Evaluating the
explanations"), and the tables of their medians for the report.

* ``{target}_sanity.nc``: per method, randomisation stage and explained sample, the Spearman
  correlation (signed and of absolute values) of the randomised network's explanation with the
  trained one's; medians and the ``survives_randomisation`` flag per method and stage.
* ``{target}_faithfulness.nc``: mean deletion curves per method and replacement, the random
  baseline, and their areas.
* ``{target}/{method}_seed_agreement.nc``: per seed pair and sample, Spearman correlation and
  top-fraction overlap; medians per class; the map of how often a cell is in both top sets.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.grid import LAT_ATTRS, LON_ATTRS
from geoxai.products.relevance import class_flags, sample_time_coords

ONE = {"units": "1"}
PER_SAMPLE = "over the ocean cells of one sample's map; medians are over the explained samples"


def median_over(values: np.ndarray, axis: int) -> np.ndarray:
    """NaN-ignoring median; NaN (without a warning) where every value is NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(np.asarray(values, dtype=np.float64), axis=axis)


def sanity_dataset(methods: Sequence[str], result, survives: np.ndarray, accuracy: Mapping[str, float],
                   time: np.ndarray, threshold: float, attrs: Mapping[str, Any],
                   dates: np.ndarray | None = None) -> xr.Dataset:
    """``result``: a :class:`geoxai.xai.evaluation.run.SanityResult`; ``accuracy``: validation
    accuracy of the trained network (``trained``) and of each stage's network; ``time``: the
    samples' "YYYY-MM" keys, ``dates`` their times (:func:`sample_time_coords`)."""
    median = median_over(result.spearman, 2)
    median_abs = median_over(result.spearman_abs, 2)
    stages = list(result.stages)
    dims = ("method", "stage", "sample")
    return xr.Dataset(
        {
            "spearman": (dims, result.spearman.astype(np.float32), {
                "long_name": "Spearman rank correlation of the randomised network's explanation "
                             "with the trained network's", **ONE, "comment": PER_SAMPLE}),
            "spearman_abs": (dims, result.spearman_abs.astype(np.float32), {
                "long_name": "Spearman rank correlation of the absolute values of the two "
                             "explanations", **ONE, "comment": PER_SAMPLE}),
            "median_spearman": (dims[:2], median, {
                "long_name": "median over samples of spearman", **ONE}),
            "median_spearman_abs": (dims[:2], median_abs, {
                "long_name": "median over samples of spearman_abs", **ONE}),
            "survives_randomisation": (dims[:2], survives.astype(np.int8), {
                "long_name": "explanation stays similar after the randomisation", **ONE,
                "flag_values": np.array([0, 1], np.int8), "flag_meanings": "changes survives",
                "comment": f"1 where median_spearman or median_spearman_abs >= {threshold}"}),
            "accuracy": (("network",), np.array([accuracy[k] for k in accuracy], np.float32), {
                "long_name": "validation accuracy of the network", **ONE}),
        },
        coords={
            "method": ("method", list(methods), {"long_name": "explanation method"}),
            "stage": ("stage", stages, {"long_name": "randomisation stage", "comment":
                      "cascade_<layer>: that dense layer and all above it re-initialised; "
                      "shuffled_labels: a network trained on labels shuffled within the training set"}),
            "network": ("network", list(accuracy), {
                "long_name": "network: the trained one or a randomisation stage's"}),
            **sample_time_coords(time, dates),
        },
        attrs={"title": "Sanity checks of the explanations (Adebayo et al. 2018)",
               "survival_threshold": float(threshold), **attrs},
    )


def faithfulness_dataset(methods: Sequence[str], replacements: Sequence[str], result,
                         attrs: Mapping[str, Any]) -> xr.Dataset:
    """``result``: a :class:`geoxai.xai.evaluation.run.FaithfulnessResult`."""
    fractions = result.fractions
    mean = result.curves.mean(axis=2)  # (method, replacement, step)
    random = result.random_curves.mean(axis=1)  # (replacement, step)
    auc = np.trapz(mean, fractions, axis=-1)
    random_auc = np.trapz(random, fractions, axis=-1)
    start = result.curves[0, 0, :, 0].mean() if result.curves.size else np.nan
    logit = {"units": "1", "comment": "logit of the class that won on the intact input, mean over "
                                      "the explained samples"}
    return xr.Dataset(
        {
            "deletion_curve": (("method", "replacement", "fraction"), mean, {
                "long_name": "explained logit after removing the most relevant cells", **logit}),
            "random_curve": (("replacement", "fraction"), random, {
                "long_name": "explained logit after removing cells in random order", **logit}),
            "auc": (("method", "replacement"), auc, {
                "long_name": "area under the deletion curve", **ONE,
                "comment": "over the removed ocean-area fraction 0..1; lower is more faithful"}),
            "random_auc": (("replacement",), random_auc, {
                "long_name": "area under the random-order deletion curve", **ONE}),
            "auc_minus_random": (("method", "replacement"), auc - random_auc[None], {
                "long_name": "auc minus random_auc", **ONE,
                "comment": "negative: the ranking removes what the network uses faster than chance"}),
            "initial_logit": ((), float(start), {
                "long_name": "mean explained logit of the intact inputs", "units": "1"}),
        },
        coords={
            "method": ("method", list(methods), {"long_name": "explanation method"}),
            "replacement": ("replacement", list(replacements), {
                "long_name": "what a removed cell is replaced by",
                "comment": "climatology: anomaly 0; anomaly_draw: a draw from the cell's own "
                           "anomalies across the labelled samples"}),
            "fraction": ("fraction", fractions, {
                "long_name": "fraction of the ocean area removed (cos(latitude) weights)", **ONE}),
        },
        attrs={"title": "Faithfulness: deletion curves (Samek et al. 2017)", **attrs},
    )


def agreement_dataset(method: str, seeds: Sequence[int], agreement, true_class: np.ndarray,
                      time: np.ndarray, class_names: Sequence[str], both_top_map: np.ndarray,
                      lat: np.ndarray, lon: np.ndarray, fraction: float,
                      attrs: Mapping[str, Any], dates: np.ndarray | None = None) -> xr.Dataset:
    """``agreement``: a :class:`geoxai.xai.evaluation.agreement.SeedAgreement`; ``both_top_map``
    its ``both_top`` on the (lat, lon) grid, NaN on land; ``time`` the samples' "YYYY-MM" keys,
    ``dates`` their times."""
    classes = range(len(class_names))
    rows = [true_class == c for c in classes]
    median_spearman = [median_over(agreement.spearman[:, r].reshape(-1), 0) for r in rows]
    median_overlap = [median_over(agreement.top_overlap[:, r].reshape(-1), 0) for r in rows]
    pair_names = [f"{seeds[i]}-{seeds[j]}" for i, j in agreement.pairs]
    percent = f"{100 * fraction:g}%"
    return xr.Dataset(
        {
            "spearman": (("pair", "sample"), agreement.spearman.astype(np.float32), {
                "long_name": "Spearman rank correlation of two seeds' relevance maps", **ONE,
                "comment": PER_SAMPLE}),
            "top_overlap": (("pair", "sample"), agreement.top_overlap.astype(np.float32), {
                "long_name": f"fraction of the top {percent} cells by |relevance| both seeds share",
                **ONE, "comment": f"1: the same cells; about {fraction:g} for unrelated maps"}),
            "median_spearman": (("class",), np.array(median_spearman, float), {
                "long_name": "median of spearman over seed pairs and samples of the true class", **ONE}),
            "median_top_overlap": (("class",), np.array(median_overlap, float), {
                "long_name": "median of top_overlap over seed pairs and samples of the true class",
                **ONE}),
            "both_top_fraction": (("lat", "lon"), both_top_map.astype(np.float32), {
                "long_name": f"fraction of seed pairs with the cell in both top-{percent} sets", **ONE,
                "comment": "mean over the samples; NaN over land"}),
        },
        coords={
            "pair": ("pair", pair_names, {"long_name": "seeds compared"}),
            "class": ("class", list(class_names), {"long_name": "class name"}),
            "lat": ("lat", lat, LAT_ATTRS),
            "lon": ("lon", lon, LON_ATTRS),
            **sample_time_coords(time, dates),
            "true_class": ("sample", np.asarray(true_class, np.int64), {
                "long_name": "true class", **class_flags(class_names)}),
        },
        attrs={"title": f"Per-sample agreement across seeds, {method}", "rule": method,
               "seeds": json.dumps([int(s) for s in seeds]), "top_fraction": float(fraction),
               **attrs},
    )


def open_evaluation(path: str, variables: Sequence[str], what: str) -> xr.Dataset:
    from geoxai.figures.base import open_product

    return open_product(path, variables, what)


def sanity_table(dataset: xr.Dataset) -> pd.DataFrame:
    rows = []
    for method in dataset["method"].values.astype(str):
        for stage in dataset["stage"].values.astype(str):
            one = dataset.sel({"method": method, "stage": stage})
            rows.append({"method": method, "stage": stage,
                         "median Spearman": float(one["median_spearman"]),
                         "median Spearman |R|": float(one["median_spearman_abs"]),
                         "survives": "yes" if int(one["survives_randomisation"]) else "no"})
    return pd.DataFrame(rows)


def faithfulness_table(dataset: xr.Dataset) -> pd.DataFrame:
    rows = []
    for method in dataset["method"].values.astype(str):
        row = {"method": method}
        for replacement in dataset["replacement"].values.astype(str):
            one = dataset.sel({"method": method, "replacement": replacement})
            row[f"AUC ({replacement})"] = float(one["auc"])
            row[f"AUC - random ({replacement})"] = float(one["auc_minus_random"])
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values(table.columns[2]) if len(table.columns) > 2 else table


def agreement_table(datasets: Sequence[xr.Dataset]) -> pd.DataFrame:
    if not datasets:
        raise GeoxaiError("no seed agreement file to tabulate: run the seed_agreement rule first")
    rows = []
    for dataset in datasets:
        for name in dataset["class"].values.astype(str):
            one = dataset.sel({"class": name})
            rows.append({"method": dataset.attrs.get("rule", ""), "class": name,
                         "median Spearman": float(one["median_spearman"]),
                         "median top overlap": float(one["median_top_overlap"])})
    return pd.DataFrame(rows)
