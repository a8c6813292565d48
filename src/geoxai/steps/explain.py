"""Rules of explain.smk: every method's relevance of every sample, and the optimal input of each
class."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from geoxai.core import provenance
from geoxai.core.errors import GeoxaiError
from geoxai.products.relevance import optimal_input_dataset, relevance_dataset


def relevance(model: str, anomalies: str, labels: str, relevance: Sequence[str],
              methods: Sequence[str], backend: str, seed: int, class_names: Sequence[str],
              parameters: dict[str, Any], compression: str,
              config: dict[str, Any] | None = None) -> None:
    """Relevance (or attribution) of the winning logit for every labelled sample, one file per
    method: the network is loaded once for all of them. ``parameters`` is the
    ``explain.parameters`` section: each method's own settings; ``compression`` is
    ``explain.compression``, how the files are stored. With ``backend`` numpy the network's
    weights are read with h5py: the job never imports TensorFlow."""
    from geoxai.learn.models import load_model, load_network, predict_probabilities
    from geoxai.learn.samples import load_samples

    check_one_file_per_method(methods, relevance)
    samples = load_samples(anomalies, labels)
    network = (load_network if backend == "numpy" else load_model)(model, samples.n_features)
    predicted = predict_probabilities(network, samples.inputs).argmax(axis=1)
    write_relevance_files(network, samples, predicted, methods, relevance, backend=backend,
                          seed=seed, class_names=class_names, parameters=parameters,
                          anomalies=anomalies, compression=compression, config=config,
                          inputs={"model": model, "anomalies": anomalies})


def check_one_file_per_method(methods: Sequence[str], files: Sequence[str]) -> None:
    if len(files) != len(methods):
        raise GeoxaiError(f"{len(methods)} methods ({', '.join(methods)}) but {len(files)} "
                          "relevance files: give one file per method, in the same order")


def write_relevance_files(network: Any, samples: Any, predicted: Any, methods: Sequence[str],
                          files: Sequence[str], *, backend: str, seed: int,
                          class_names: Sequence[str], parameters: dict[str, Any] | None,
                          anomalies: str, compression: str, config: dict[str, Any] | None,
                          inputs: dict[str, str], attrs: dict[str, str] | None = None) -> None:
    """Explain every sample of ``samples`` with each method and write its relevance file: the
    step of the real networks (:func:`relevance`) and of the shuffled-label ones
    (``null_network``). ``attrs`` are added to each file's global attributes."""
    from geoxai.xai.explain import explain

    for method, output in zip(methods, files):
        chosen = method_parameters(method, (parameters or {}).get(method), anomalies)
        explanation = explain(network, samples.inputs, method, backend=backend, parameters=chosen,
                              seed=seed, grid=(samples.lat, samples.lon, samples.ocean_mask))
        maps = samples.to_maps(explanation.relevance) * samples.ocean_mask
        dataset = relevance_dataset(samples, maps, explanation, predicted, method, backend, seed,
                                    class_names)
        dataset.attrs.update(attrs or {})
        provenance.write_netcdf_atomic(dataset, output, compression=compression, config=config,
                                       inputs=inputs)


def method_parameters(method: str, given: dict[str, Any] | None,
                       anomalies: str) -> dict[str, Any]:
    """A method's parameters with a ``baseline`` month (``YYYY-MM``) replaced by that month's
    anomaly map from ``anomalies``: integrated gradients then integrates from that state."""
    chosen = dict(given or {})
    baseline = chosen.get("baseline")
    if isinstance(baseline, str) and baseline != "zeros":
        from geoxai.products.anomalies import open_anomalies

        with open_anomalies(anomalies) as field:
            keys = list(field["time_key"].values.astype(str))
            if baseline not in keys:
                raise GeoxaiError(
                    f"config key explain.parameters.{method}.baseline is {baseline!r}, which is "
                    f"not a sample of {anomalies} ({keys[0]} .. {keys[-1]}): give \"zeros\" "
                    "(the climatology) or one of its months"
                )
            chosen["baseline"] = field["sst_anomaly"].values[keys.index(baseline)].reshape(-1)
    return chosen


def optimal_input(model: str, anomalies: str, labels: str, optimal_input: str,
                  class_index: int, seed: int, settings: dict[str, Any], class_names: Sequence[str],
                  config: dict[str, Any] | None = None) -> None:
    """Backwards optimization: the input that the network finds most typical of a class.

    Plain numpy on the weights read with h5py (no TensorFlow); the anomaly maps are read only
    when the descent starts from the class composite (``optimal_input.start: composite``)."""
    from geoxai.learn.models import load_network
    from geoxai.learn.samples import load_grid, load_samples
    from geoxai.xai.optimal_input import OptimalInputSettings
    from geoxai.xai.optimal_input import optimal_input as optimize

    chosen = OptimalInputSettings.from_config(settings)
    samples = load_samples(anomalies, labels) if chosen.start == "composite" else load_grid(anomalies)
    if not 0 <= class_index < len(class_names):
        raise GeoxaiError(f"class {class_index} does not exist: classes are 0..{len(class_names) - 1}")
    network = load_network(model, samples.n_features)
    result = optimize(
        network, class_index, steps=chosen.steps, step_size=chosen.step_size,
        l2_penalty=chosen.l2_penalty,
        start=chosen.start_map(samples.inputs, samples.labels, class_index),
        goal=chosen.target_probability,
    )
    field = samples.to_maps(result.input) * samples.ocean_mask
    dataset = optimal_input_dataset(samples, field, result, class_index, class_names[class_index],
                                    seed, asdict(chosen))
    provenance.write_netcdf_atomic(dataset, optimal_input, config=config, inputs={"model": model})
