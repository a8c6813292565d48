"""One benchmark run: build the truth, train the network, explain held-out samples, score them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.products.benchmark import benchmark_dataset
from geoxai.xai.benchmark.network import FittedNetwork, fit_network
from geoxai.xai.benchmark.scores import score
from geoxai.xai.benchmark.settings import DEFAULT_SETTINGS, BenchmarkSettings
from geoxai.xai.benchmark.truth import Benchmark, build_benchmark


def explained_rows(settings: BenchmarkSettings) -> slice:
    """The first ``n_explain`` held-out samples."""
    return slice(settings.n_train, settings.n_train + settings.n_explain)


def run_benchmark(
    anomalies: xr.Dataset,
    settings: BenchmarkSettings = DEFAULT_SETTINGS,
    methods: Sequence[str] = ("z", "epsilon", "alpha_1_beta_0", "gradient"),
    backend: str = "numpy",
    parameters: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """The benchmark product (:func:`geoxai.products.benchmark.benchmark_dataset`) of ``methods``.

    Each method is any rule :func:`geoxai.xai.explain.explain` knows; its map is scored as it
    comes (a gradient is scored as a gradient); ``parameters`` are the methods' own
    (``explain.parameters``). No timing goes into the product, so the same settings give the
    same file; the workflow's benchmark files (``results/benchmarks/``) time the job.
    """
    methods = list(dict.fromkeys(methods))
    if not methods:
        raise GeoxaiError("attribution benchmark: name at least one explanation method")
    benchmark = build_benchmark(anomalies, settings)
    network = fit_network(benchmark, settings)
    return score_methods(benchmark, network, settings, methods, backend, parameters)


def score_methods(
    benchmark: Benchmark, network: FittedNetwork, settings: BenchmarkSettings, methods: Sequence[str],
    backend: str = "numpy", parameters: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Explain the held-out samples of a fitted benchmark with each method and score them."""
    from geoxai.xai.explain import explain

    rows = explained_rows(settings)
    inputs = benchmark.inputs[rows]
    grid = benchmark.grid
    scores, references, classes, means = {}, {}, {}, {}
    cells = {"cell_lat": grid.lat[grid.cell_lat_index], "cell_lon": grid.lon[grid.cell_lon_index]}
    for method in methods:
        explanation = explain(network.model, inputs, method, backend=backend,
                              parameters=(parameters or {}).get(method), seed=settings.seed,
                              grid=cells)
        # regression networks learned y / target_scale: scale the maps back to the units of y
        attribution = np.asarray(explanation.relevance, np.float64) * network.target_scale
        if settings.task == "classification":
            truth = benchmark.truth_for_class(explanation.explained_class, rows)
        else:
            truth = benchmark.truth[rows]
        scores[method] = score(attribution, truth, output_sign=explanation.explained_logit)
        references[method] = "positive_part" if method in settings.positive_part_methods else "truth"
        classes[method] = explanation.explained_class
        means[method] = grid.to_map(attribution.mean(axis=0))
    labels = benchmark.labels[rows]
    mean_truth = (
        benchmark.truth_for_class(labels, rows) if settings.task == "classification" else benchmark.truth[rows]
    ).mean(axis=0)
    return benchmark_dataset(
        methods, scores, references=references, fit=network.fit, fit_metric=network.fit_metric,
        fits=network.fits, sample=np.arange(rows.start, rows.stop), response=benchmark.response[rows],
        label=labels, explained_class=classes, lat=grid.lat, lon=grid.lon,
        mean_truth=grid.to_map(mean_truth), mean_attribution=means,
        attrs={
            "task": settings.task, "backend": backend, "cells": int(grid.cells),
            "n_samples": int(settings.samples), "n_train": int(settings.n_train),
            "n_explain": int(settings.n_explain), "threshold": float(benchmark.threshold),
            "target_scale": float(network.target_scale),
            "grid_stride": f"{grid.stride[0]} x {grid.stride[1]} cells of the anomaly grid",
            **settings.as_attrs(),
        },
    )
