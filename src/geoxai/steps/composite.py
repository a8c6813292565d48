"""Rule of composite.smk: relevance composited per class, per seed and over seeds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core import provenance
from geoxai.products.relevance import (
    read_optimal_input_reached,
    read_optimal_inputs,
    read_relevance,
)


def composite(relevance: Sequence[str], anomalies: str, labels: str, composite: str,
              class_names: Sequence[str], subset: str, optimal_input: Sequence[str] = (),
              evaluation: str = "", config: dict[str, Any] | None = None) -> xr.Dataset:
    """Composite relevance per class, per seed and over seeds, with the observed composites and,
    from ``evaluation``, the networks' validation accuracy against chance (for the figure)."""
    from geoxai.learn.samples import load_samples
    from geoxai.xai.composites import composite_relevance

    samples = load_samples(anomalies, labels)
    relevance_sets = read_relevance(relevance)
    result = composite_relevance(
        relevance_sets, samples.to_maps(samples.inputs), samples.time,
        read_optimal_inputs(optimal_input), samples.lat, samples.lon, samples.ocean_mask,
        class_names, subset, reached=read_optimal_input_reached(optimal_input),
    )
    first = relevance_sets[0].attrs
    result.attrs.update({"rule": first.get("rule", ""), "backend": first.get("backend", ""),
                         "sign_convention": first.get("sign_convention", "")})
    if evaluation:
        result = result.assign(skill_variables(evaluation, labels, result["seed"].values))
    provenance.write_netcdf_atomic(result, composite, config=config)
    return result


def skill_variables(evaluation: str, labels: str, seeds: np.ndarray) -> dict[str, xr.DataArray]:
    """Each seed's validation accuracy, their median, chance (the majority-class fraction of the
    validation labels) and the one-sided binomial test of the median against it."""
    from geoxai.core.errors import GeoxaiError
    from geoxai.learn.metrics import skill_against_chance
    from geoxai.products.labels import read_label_table
    from geoxai.products.metrics import read_seed_accuracies

    table = read_seed_accuracies(evaluation).set_index("seed")
    missing = [int(s) for s in seeds if int(s) not in table.index]
    if missing:
        raise GeoxaiError(f"{evaluation} has no validation accuracy for seed(s) {missing} of the "
                          "config key `seeds`: rerun the evaluate rule")
    accuracy = table.loc[[int(s) for s in seeds], "validation_accuracy"].to_numpy(float)
    skill = skill_against_chance(accuracy, read_label_table(labels))
    scalar = {"units": "1"}
    return {
        "validation_accuracy": xr.DataArray(accuracy.astype(np.float32), dims=("seed",), attrs={
            "long_name": "validation accuracy of each network", **scalar}),
        "validation_accuracy_median": xr.DataArray(np.float32(skill["median_accuracy"]), attrs={
            "long_name": "median validation accuracy over the networks", **scalar}),
        "chance_accuracy": xr.DataArray(np.float32(skill["chance"]), attrs={
            "long_name": "chance accuracy: majority-class fraction of the validation labels",
            **scalar}),
        "validation_samples": xr.DataArray(np.int64(skill["trials"]), attrs={
            "long_name": "validation samples", **scalar}),
        "skill_p_value": xr.DataArray(np.float64(skill["p_value"]), attrs={
            "long_name": "one-sided binomial p-value of the median validation accuracy against "
                         "chance", **scalar}),
        "skilful": xr.DataArray(np.int8(skill["skilful"]), attrs={
            "long_name": f"whether the networks beat chance (p < {skill['level']})",
            "flag_values": np.array([0, 1], np.int8), "flag_meanings": "not_skilful skilful",
            **scalar}),
    }
