"""Rules of train.smk: one network per seed, and the table over seeds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from geoxai.products.metrics import read_metrics, write_evaluation, write_metrics


def train(anomalies: str, labels: str, seed: int, model: str, metrics: str,
          model_config: dict[str, Any], training_config: dict[str, Any],
          class_names: Sequence[str]) -> dict[str, Any]:
    """Train one network for one seed; save it (HDF5) and its metrics (JSON)."""
    from geoxai.learn.labels import check_both_classes
    from geoxai.learn.metrics import split_scores
    from geoxai.learn.models import (
        ModelSettings,
        TrainingSettings,
        predict_probabilities,
        save_model,
        train_model,
    )
    from geoxai.learn.samples import load_samples

    samples = load_samples(anomalies, labels)
    check_both_classes(
        pd.DataFrame({"label": samples.labels, "split": samples.split}), class_names, labels
    )
    subsets = {name: samples.in_split(name) for name in ("train", "validation")}
    result = train_model(
        subsets["train"].inputs, subsets["train"].labels, subsets["validation"].inputs,
        subsets["validation"].labels, seed, ModelSettings.from_config(model_config),
        TrainingSettings.from_config(training_config), n_classes=len(class_names),
    )
    predicted = {name: predict_probabilities(result.model, subset.inputs).argmax(axis=1)
                 for name, subset in subsets.items()}
    accuracy, confusion = split_scores(
        predicted, {name: subset.labels for name, subset in subsets.items()}, len(class_names))
    scores: dict[str, Any] = {"seed": int(seed), "class_names": list(class_names),
                              "history": result.history, "accuracy": accuracy,
                              "confusion": confusion,
                              "n_parameters": int(result.model.count_params())}
    save_model(result.model, model)
    write_metrics(metrics, scores)
    return scores


def evaluate(metrics: Sequence[str], evaluation: str) -> pd.DataFrame:
    """One table over seeds: accuracy per split, then the median and spread rows."""
    from geoxai.learn.metrics import seed_table

    table = seed_table([read_metrics(path) for path in metrics])
    write_evaluation(table, evaluation)
    return table
