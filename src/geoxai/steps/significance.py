"""Rules of significance.smk: networks trained on labels shuffled in year blocks, explained like the
real ones (one job per network), then per method the real composite tested against theirs, with a
bootstrap spread, and its figure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from geoxai.core import provenance
from geoxai.core.errors import GeoxaiError
from geoxai.products.relevance import read_relevance


def null_network(anomalies: str, labels: str, seed: int, model: str, metrics: str,
                 relevance: Sequence[str], methods: Sequence[str], backend: str,
                 parameters: dict[str, Any], model_config: dict[str, Any],
                 training_config: dict[str, Any], class_names: Sequence[str], compression: str,
                 config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train one network on training labels shuffled in year blocks (validation labels kept),
    with the real networks' settings; explain every sample with each method, one file each.

    The relevance files carry the real labels (``true_class``), so that the composite selects the
    samples of the real class, as the real composite does."""
    from geoxai.learn.labels import check_both_classes
    from geoxai.learn.models import (
        ModelSettings,
        TrainingSettings,
        predict_probabilities,
        save_model,
        train_model,
    )
    from geoxai.learn.samples import load_samples
    from geoxai.products.metrics import write_metrics
    from geoxai.steps.explain import check_one_file_per_method, write_relevance_files
    from geoxai.xai.significance import shuffle_in_year_blocks

    check_one_file_per_method(methods, relevance)
    samples = load_samples(anomalies, labels)
    check_both_classes(
        pd.DataFrame({"label": samples.labels, "split": samples.split}), class_names, labels
    )
    shuffled = shuffle_in_year_blocks(samples.labels, samples.time, samples.split,
                                      np.random.default_rng(int(seed)))
    train, validation = samples.split == "train", samples.split == "validation"
    result = train_model(
        samples.inputs[train], shuffled[train], samples.inputs[validation],
        samples.labels[validation], seed, ModelSettings.from_config(model_config),
        TrainingSettings.from_config(training_config), n_classes=len(class_names),
    )
    predicted = predict_probabilities(result.model, samples.inputs).argmax(axis=1)
    scores: dict[str, Any] = {
        "seed": int(seed), "class_names": list(class_names), "labels": "shuffled in year blocks",
        "accuracy": {"train_on_shuffled": float((predicted[train] == shuffled[train]).mean()),
                     "train_on_real": float((predicted[train] == samples.labels[train]).mean()),
                     "validation": float((predicted[validation]
                                          == samples.labels[validation]).mean())},
        "history": result.history,
    }
    save_model(result.model, model)
    write_metrics(metrics, scores)
    write_relevance_files(
        result.model, samples, predicted, methods, relevance, backend=backend, seed=seed,
        class_names=class_names, parameters=parameters, anomalies=anomalies,
        compression=compression, config=config, inputs={"model": model, "anomalies": anomalies},
        attrs={"null_network": "trained on training labels shuffled in blocks of a year; "
                               "true_class holds the real labels"})
    return scores


def significance(relevance: Sequence[str], null_relevance: Sequence[str], anomalies: str,
                 labels: str, significance: str, class_names: Sequence[str], subset: str,
                 settings: dict[str, Any], config: dict[str, Any] | None = None) -> xr.Dataset:
    """The real composite against the null networks' (threshold, p-values, both masks) and its
    bootstrap spread over samples."""
    from geoxai.learn.samples import load_samples
    from geoxai.products.significance import significance_dataset
    from geoxai.xai.composites import composite_relevance
    from geoxai.xai.significance import (
        SECTION,
        SignificanceSettings,
        bootstrap_composites,
        significance_fields,
    )

    chosen = SignificanceSettings.from_config(settings)
    samples = load_samples(anomalies, labels)
    maps = samples.to_maps(samples.inputs)

    def composites(relevance_sets):
        return composite_relevance(relevance_sets, maps, samples.time, {}, samples.lat,
                                   samples.lon, samples.ocean_mask, class_names, subset)

    real_sets, null_sets = read_relevance(relevance), read_relevance(null_relevance)
    real_seeds = {int(ds.attrs["seed"]) for ds in real_sets}
    shared = sorted(real_seeds & {int(ds.attrs["seed"]) for ds in null_sets})
    if shared:
        raise GeoxaiError(f"{null_relevance[0]}: null networks with the real networks' seeds "
                          f"{shared}: raise config key {SECTION}.seed_offset above the seeds")
    real = composites(real_sets)
    null = composites(null_sets)
    null_maps = null["relevance_composite"].values.astype(float)
    null_maps[null["sample_count"].values == 0] = np.nan  # no sample of the class: no composite
    real_mean = real["relevance_composite_mean"].values
    fields = significance_fields(real_mean, null_maps, samples.ocean_mask, chosen.percentile,
                                 chosen.q)
    draws = bootstrap_composites(real_sets, len(class_names), subset, chosen.bootstrap,
                                 np.random.default_rng(chosen.seed_offset))
    result = significance_dataset(real, null, null_maps, fields, draws, null_sets, chosen)
    provenance.write_netcdf_atomic(result, significance, config=config,
                                   inputs={"anomalies": anomalies, "labels": labels})
    return result


def figure_significance(significance: str, output: Sequence[str], settings: dict[str, Any],
                        app: str = "", target: str = "", truth: str = "", targets: str = "",
                        index_region: dict[str, Any] | None = None) -> None:
    """The real composite of each class where it is significant, FDR-significant cells dotted
    (regions outlined as in figure_composites)."""
    from geoxai.figures.base import FigureSettings
    from geoxai.figures.regions import map_regions
    from geoxai.figures.significance import plot_significance

    chosen = FigureSettings.from_config(settings)
    plot_significance(significance, output, central_longitude=chosen.central_longitude,
                      dpi=chosen.dpi,
                      regions=map_regions(app, target, truth, targets, index_region))
