"""Rules of explain.smk: LRP relevance of every sample, and the optimal input of each class."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from geoxai.core import provenance
from geoxai.core.errors import GeoxaiError
from geoxai.products.relevance import optimal_input_dataset, relevance_dataset


def relevance(model_path: str, anomalies_path: str, labels_path: str, output: str, rule: str,
              backend: str, seed: int, class_names: Sequence[str], epsilon: float,
              config: dict[str, Any] | None = None) -> None:
    """Raw LRP relevance of the winning logit for every labelled sample."""
    from geoxai.learn.models import load_model, predict_probabilities
    from geoxai.learn.samples import load_samples
    from geoxai.xai.explain import explain

    samples = load_samples(anomalies_path, labels_path)
    model = load_model(model_path, samples.n_features)
    explanation = explain(model, samples.inputs, rule, backend=backend, epsilon=epsilon)
    predicted = predict_probabilities(model, samples.inputs).argmax(axis=1)
    maps = samples.to_maps(explanation.relevance) * samples.ocean_mask
    dataset = relevance_dataset(samples, maps, explanation, predicted, rule, backend, seed,
                                class_names)
    provenance.write_netcdf_atomic(
        dataset, output, config=config, inputs={"model": model_path, "anomalies": anomalies_path}
    )


def optimal_input(model_path: str, anomalies_path: str, labels_path: str, output: str,
                  class_index: int, seed: int, settings: dict[str, Any], class_names: Sequence[str],
                  config: dict[str, Any] | None = None) -> None:
    """Backwards optimization: the input that the network finds most typical of a class."""
    from geoxai.learn.models import load_model
    from geoxai.learn.samples import load_samples
    from geoxai.xai.optimal_input import OptimalInputSettings
    from geoxai.xai.optimal_input import optimal_input as optimize

    samples = load_samples(anomalies_path, labels_path)
    if not 0 <= class_index < len(class_names):
        raise GeoxaiError(f"class {class_index} does not exist: classes are 0..{len(class_names) - 1}")
    model = load_model(model_path, samples.n_features)
    chosen = OptimalInputSettings.from_config(settings)
    result = optimize(
        model, class_index, steps=chosen.steps, step_size=chosen.step_size,
        l2_penalty=chosen.l2_penalty,
        start=chosen.start_map(samples.inputs, samples.labels, class_index),
    )
    field = samples.to_maps(result.input) * samples.ocean_mask
    dataset = optimal_input_dataset(samples, field, result, class_index, class_names[class_index],
                                    seed, asdict(chosen))
    provenance.write_netcdf_atomic(dataset, output, config=config, inputs={"model": model_path})
