"""Rules of explain.smk: LRP relevance of every sample, and the optimal input of each class."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from geoxai.core import provenance
from geoxai.core.errors import GeoxaiError
from geoxai.products.relevance import optimal_input_dataset, relevance_dataset


def relevance(model: str, anomalies: str, labels: str, relevance: str, lrp_rule: str,
              backend: str, seed: int, class_names: Sequence[str], epsilon: float,
              config: dict[str, Any] | None = None) -> None:
    """Raw LRP relevance of the winning logit for every labelled sample."""
    from geoxai.learn.models import load_model, predict_probabilities
    from geoxai.learn.samples import load_samples
    from geoxai.xai.explain import explain

    samples = load_samples(anomalies, labels)
    network = load_model(model, samples.n_features)
    explanation = explain(network, samples.inputs, lrp_rule, backend=backend, epsilon=epsilon)
    predicted = predict_probabilities(network, samples.inputs).argmax(axis=1)
    maps = samples.to_maps(explanation.relevance) * samples.ocean_mask
    dataset = relevance_dataset(samples, maps, explanation, predicted, lrp_rule, backend, seed,
                                class_names)
    provenance.write_netcdf_atomic(
        dataset, relevance, config=config, inputs={"model": model, "anomalies": anomalies}
    )


def optimal_input(model: str, anomalies: str, labels: str, optimal_input: str,
                  class_index: int, seed: int, settings: dict[str, Any], class_names: Sequence[str],
                  config: dict[str, Any] | None = None) -> None:
    """Backwards optimization: the input that the network finds most typical of a class."""
    from geoxai.learn.models import load_model
    from geoxai.learn.samples import load_samples
    from geoxai.xai.optimal_input import OptimalInputSettings
    from geoxai.xai.optimal_input import optimal_input as optimize

    samples = load_samples(anomalies, labels)
    if not 0 <= class_index < len(class_names):
        raise GeoxaiError(f"class {class_index} does not exist: classes are 0..{len(class_names) - 1}")
    network = load_model(model, samples.n_features)
    chosen = OptimalInputSettings.from_config(settings)
    result = optimize(
        network, class_index, steps=chosen.steps, step_size=chosen.step_size,
        l2_penalty=chosen.l2_penalty,
        start=chosen.start_map(samples.inputs, samples.labels, class_index),
    )
    field = samples.to_maps(result.input) * samples.ocean_mask
    dataset = optimal_input_dataset(samples, field, result, class_index, class_names[class_index],
                                    seed, asdict(chosen))
    provenance.write_netcdf_atomic(dataset, optimal_input, config=config, inputs={"model": model})
