"""``attribution_benchmark.nc``: how close each explanation method comes to the exact attribution.

Per method and explained sample: ``correlation`` (Pearson r over the sample's cells between the
method's map and the exact one), ``sign_agreement`` and ``positive_part_correlation`` (r against
max(truth, 0)); ``score`` is the one a method is judged by (the positive-part r for the one-signed
methods named in the settings, else r). Beside them the network's held-out fit and its flag, the
settings as attributes, and the mean truth and mean attribution maps on the coarse grid.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.grid import LAT_ATTRS, LON_ATTRS
from geoxai.core.provenance import open_product, write_netcdf_atomic

ONE = {"units": "1"}
OVER_CELLS = "computed per sample over the ocean cells of the coarse grid (not over samples)"
REQUIRED = ("correlation", "sign_agreement", "positive_part_correlation", "score", "fit")
REFERENCES = ("truth", "positive_part")


def benchmark_dataset(
    methods: Sequence[str],
    scores: Mapping[str, Any],
    *,
    references: Mapping[str, str],
    fit: float,
    fit_metric: str,
    fits: bool,
    sample: np.ndarray,
    response: np.ndarray,
    label: np.ndarray,
    explained_class: Mapping[str, np.ndarray],
    lat: np.ndarray,
    lon: np.ndarray,
    mean_truth: np.ndarray,
    mean_attribution: Mapping[str, np.ndarray],
    attrs: Mapping[str, Any],
) -> xr.Dataset:
    """``scores``: a :class:`geoxai.xai.benchmark.scores.Scores` per method; ``references``:
    ``truth`` or ``positive_part`` per method; maps are (lat, lon) on the coarse grid, NaN where no
    cell was used."""
    methods = list(methods)
    if not methods:
        raise GeoxaiError("no explanation methods were scored: name at least one")
    per = ("rule", "sample")

    def stack(name: str) -> np.ndarray:
        return np.stack([np.asarray(getattr(scores[m], name), np.float32) for m in methods])

    headline = np.stack([
        np.asarray(scores[m].positive_part_correlation if references[m] == "positive_part"
                   else scores[m].correlation, np.float32) for m in methods
    ])
    metric_name = "R²" if fit_metric == "r_squared" else fit_metric
    return xr.Dataset(
        {
            "correlation": (per, stack("correlation"), {
                **ONE, "long_name": "Pearson correlation of the attribution with the exact attribution",
                "comment": f"{OVER_CELLS}; NaN where either map is constant"}),
            "sign_agreement": (per, stack("sign_agreement"), {
                **ONE, "long_name": "fraction of cells where the attribution has the exact attribution's sign",
                "comment": f"{OVER_CELLS}; cells whose exact attribution is 0 are not counted"}),
            "positive_part_correlation": (per, stack("positive_part_correlation"), {
                **ONE, "long_name": "Pearson correlation of the attribution with the part of the exact "
                             "attribution that has the explained output's sign",
                "comment": f"{OVER_CELLS}; max(truth, 0) for a positive output, min(truth, 0) for a "
                           "negative one: what a one-signed rule (alpha=1, beta=0) can match"}),
            "score": (per, headline, {
                **ONE, "long_name": "the correlation each method is judged by",
                "comment": "positive_part_correlation for the methods whose reference is "
                           "positive_part, correlation for the others"}),
            "constant_attribution": (("rule",), np.array(
                [scores[m].constant_attribution for m in methods], np.int32), {
                **ONE, "long_name": "explained samples whose attribution is constant (r is NaN)"}),
            "mean_truth": (("lat", "lon"), np.asarray(mean_truth, np.float32), {
                **ONE, "long_name": "exact attribution averaged over the explained samples",
                "comment": "of the true class's logit for classification; NaN off the benchmark's cells"}),
            "mean_attribution": (("rule", "lat", "lon"), np.stack(
                [np.asarray(mean_attribution[m], np.float32) for m in methods]), {
                **ONE, "long_name": "attribution averaged over the explained samples",
                "comment": "in the units of the response (regression networks learn a rescaled y; "
                           "the rescaling is undone); NaN off the benchmark's cells"}),
            "fit": ((), np.float32(fit), {
                **ONE, "long_name": f"held-out {metric_name} of the benchmark network"}),
            "fits": ((), np.int8(fits), {
                **ONE, "long_name": "whether the network reached the minimum fit",
                "flag_values": np.array([0, 1], np.int8), "flag_meanings": "does_not_fit fits"}),
        },
        coords={
            "rule": ("rule", methods, {"long_name": "explanation method (a geoxai.xai.explain rule)"}),
            "reference": ("rule", [references[m] for m in methods], {
                "long_name": "what the method's score is computed against"}),
            "sample": ("sample", np.asarray(sample, np.int64), {
                "long_name": "position of the explained sample among the drawn samples"}),
            "response": ("sample", np.asarray(response, np.float64), {
                **ONE, "long_name": "synthetic response y = mean over cells of F_i(x_i)"}),
            "label": ("sample", np.asarray(label, np.int8), {
                "long_name": "class of the sample: y above the threshold",
                "flag_values": np.array([0, 1], np.int8), "flag_meanings": "below above"}),
            "explained_class": (per, np.stack([np.asarray(explained_class[m], np.int8) for m in methods]), {
                "long_name": "output whose logit was explained",
                "flag_values": np.array([0, 1], np.int8), "flag_meanings": "below above",
                "comment": "the class of `label`; a regression network's single output is 0"}),
            "lat": ("lat", np.asarray(lat, np.float64), dict(LAT_ATTRS)),
            "lon": ("lon", np.asarray(lon, np.float64), dict(LON_ATTRS)),
        },
        attrs={
            "title": "Attribution benchmark with an exact answer (Mamalakis, Ebert-Uphoff and Barnes 2022)",
            "comment": "synthetic inputs X ~ MVN(0, S) with S the correlation of the anomaly field's "
                       "coarse-grid cells; y is additive in piecewise-linear functions of the cells, "
                       "so each cell's exact attribution is known; " + OVER_CELLS,
            "references": "Mamalakis, Ebert-Uphoff and Barnes (2022), Environmental Data Science 1, "
                          "e8, arXiv:2103.10005",
            "fit_metric": fit_metric,
            "fit": float(fit),
            "flag": "ok" if fits else f"network does not fit: held-out {metric_name} {fit:.3f} below the minimum",
            **dict(attrs),
        },
    )


def write_benchmark(dataset: xr.Dataset, path: str | os.PathLike, config: dict[str, Any] | None = None,
                    inputs: dict[str, str | os.PathLike] | None = None) -> None:
    write_netcdf_atomic(dataset, path, config=config, inputs=inputs)


def read_benchmark(path: str | os.PathLike) -> xr.Dataset:
    """The benchmark product, loaded; a file lacking its variables is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise GeoxaiError(f"attribution benchmark file {path} does not exist: run the benchmark first")
    try:
        with open_product(path) as opened:
            dataset = opened.load()
    except (OSError, ValueError) as error:
        raise GeoxaiError(f"attribution benchmark file {path} cannot be read ({error}): rerun the benchmark") from error
    missing = [name for name in REQUIRED if name not in dataset]
    if missing:
        raise GeoxaiError(
            f"attribution benchmark file {path} lacks {', '.join(missing)}: it was written by another "
            "version of geoxai; rerun the benchmark"
        )
    return dataset
