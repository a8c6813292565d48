"""The significance file of one target and method (``results/{app}/significance/{target}/{method}.nc``):
the real composite, the null networks' composites, the threshold, p-values, both masks and the
bootstrap spread."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

FLAG = {"flag_values": np.array([0, 1], np.int8),
        "flag_meanings": "not_significant significant", "units": "1"}


def null_validation_accuracy(null_sets: Sequence[xr.Dataset]) -> np.ndarray:
    """Each null network's accuracy on the (real, unshuffled) validation labels."""
    scores = []
    for dataset in null_sets:
        held_out = dataset["split"].values.astype(str) == "validation"
        right = dataset["predicted_class"].values == dataset["true_class"].values
        scores.append(float(right[held_out].mean()) if held_out.any() else np.nan)
    return np.array(scores, np.float32)


def significance_dataset(real: xr.Dataset, null: xr.Dataset, null_maps: np.ndarray,
                         fields: dict[str, np.ndarray], draws: np.ndarray,
                         null_sets: Sequence[xr.Dataset], settings: Any) -> xr.Dataset:
    """``real`` and ``null``: :func:`geoxai.xai.composites.composite_relevance` of the real and
    the null networks; ``null_maps`` the null composites with NaN where a network had no sample
    of the class; ``fields`` from :func:`geoxai.xai.significance.significance_fields`;
    ``draws`` the bootstrap composites (repeat, class, lat, lon)."""
    dims = ("class", "lat", "lon")
    low, high = settings.spread
    n_null = np.isfinite(null_maps).any(axis=(2, 3)).sum(axis=0)
    ocean = real["ocean_mask"].values > 0
    share = {key: [float(fields[key][c][ocean].mean()) for c in range(null_maps.shape[1])]
             for key in ("significant", "significant_fdr")}
    with np.errstate(invalid="ignore"):
        spread_low = np.percentile(draws, low, axis=0)
        spread_high = np.percentile(draws, high, axis=0)
    dataset = xr.Dataset(
        {
            "relevance_composite_mean": (dims, real["relevance_composite_mean"].values, {
                "long_name": "mean over seeds of the composite relevance (the real networks)",
                "units": "1"}),
            "null_composite": (("network", *dims), null_maps.astype(np.float32), {
                "long_name": "composite relevance of each network trained on shuffled labels",
                "units": "1", "comment": "NaN where the network classified no sample of the class "
                "as the class"}),
            "null_threshold": (dims, fields["threshold"].astype(np.float32), {
                "long_name": f"{settings.percentile:g}th percentile over the null networks of "
                             "the composite's magnitude", "units": "1"}),
            "p_value": (dims, fields["p_value"].astype(np.float32), {
                "long_name": "fraction of null composites at least as large (in magnitude) as "
                             "the real one, (1 + count) / (1 + networks)", "units": "1"}),
            "significant": (dims, fields["significant"].astype(np.int8), {
                **FLAG, "long_name": f"real composite above the {settings.percentile:g}th "
                                     "percentile of the null composites"}),
            "significant_fdr": (dims, fields["significant_fdr"].astype(np.int8), {
                **FLAG, "long_name": f"field significance: p-value significant with the false "
                                     f"discovery rate at {settings.q:g} over the ocean cells "
                                     "(Benjamini-Hochberg)"}),
            "bootstrap_low": (dims, spread_low.astype(np.float32), {
                "long_name": f"{low:g}th percentile of the composite over bootstrap resamplings "
                             "of each seed's samples", "units": "1"}),
            "bootstrap_high": (dims, spread_high.astype(np.float32), {
                "long_name": f"{high:g}th percentile of the composite over bootstrap resamplings "
                             "of each seed's samples", "units": "1"}),
            "bootstrap_std": (dims, draws.std(axis=0).astype(np.float32), {
                "long_name": "standard deviation of the composite over bootstrap resamplings",
                "units": "1"}),
            "sample_count": (("seed", "class"), real["sample_count"].values, {
                "long_name": "correctly classified samples in the real composite", "units": "1"}),
            "null_sample_count": (("network", "class"), null["sample_count"].values, {
                "long_name": "samples of the class the null network assigned to it",
                "units": "1"}),
            "null_validation_accuracy": (("network",), null_validation_accuracy(null_sets), {
                "long_name": "null network's accuracy on the real validation labels",
                "units": "1"}),
            "null_networks_per_class": (("class",), n_null.astype(np.int32), {
                "long_name": "null networks with a composite of the class", "units": "1"}),
            "significant_share": (("class",), np.array(share["significant"], np.float32), {
                "long_name": "share of ocean cells above the null threshold", "units": "1"}),
            "significant_fdr_share": (("class",), np.array(share["significant_fdr"], np.float32), {
                "long_name": "share of ocean cells significant after the FDR", "units": "1"}),
            "ocean_mask": (("lat", "lon"), real["ocean_mask"].values, real["ocean_mask"].attrs),
        },
        coords={
            "network": ("network", null["seed"].values, {"long_name": "seed of the null network"}),
            "seed": ("seed", real["seed"].values, {"long_name": "random seed of the real network"}),
            "class": real["class"],
            "lat": real["lat"],
            "lon": real["lon"],
        },
        attrs={
            "title": "Significance of composite relevance against networks trained on shuffled "
                     "labels",
            "references": "Labe and Barnes (2021), doi:10.1029/2021MS002464; Wilks (2016), "
                          "doi:10.1175/BAMS-D-15-00267.1",
            "null_labels": "training labels shuffled in blocks of a year; validation kept",
            "test": "one-sided on the composite's magnitude; real = mean over seeds, null = one "
                    "network each (conservative)",
            "percentile": float(settings.percentile), "q": float(settings.q),
            "bootstrap": int(settings.bootstrap), "networks": int(null_maps.shape[0]),
            "smallest_p_value": 1.0 / (1.0 + null_maps.shape[0]),
            "composite_samples": real.attrs.get("composite_samples", ""),
            "rule": null_sets[0].attrs.get("rule", "") if null_sets else "",
            "backend": null_sets[0].attrs.get("backend", "") if null_sets else "",
        },
    )
    return dataset
