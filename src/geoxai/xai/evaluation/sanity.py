"""Sanity checks of explanations (Adebayo et al. 2018).

* Model-parameter randomisation, cascading: the dense layers are re-initialised one after the
  other from the output layer down to the first hidden layer, each with its own initializer
  (kernel and bias, seeded), and the explanation of the partly random network is compared with
  that of the trained one after every layer.
* Data randomisation: a network of the same architecture and training settings learns labels
  shuffled within the training set (:func:`shuffle_training_labels`); it can only memorise them.

An explanation that hardly changes under either randomisation does not explain what the network
learned. Sixt et al. (2020) show why some LRP rules (α1β0 among them) stay similar: their
backward pass is dominated by the input and the first layer. Gradients should not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from geoxai.core.errors import GeoxaiError
from geoxai.xai.evaluation.agreement import spearman_rows


def dense_layer_names(model) -> list[str]:
    """The network's dense layers, input side first."""
    return [layer.name for layer in model.layers if hasattr(layer, "kernel")]


def _fresh(initializer, shape, dtype, seed: int) -> np.ndarray:
    """Values of a new instance of ``initializer`` with ``seed`` (graph mode: run in the session)."""
    from geoxai.learn.models import configure_tensorflow

    tf = configure_tensorflow()
    config = initializer.get_config()
    if "seed" in config:
        config["seed"] = int(seed)
    tensor = type(initializer).from_config(config)(shape, dtype=dtype)
    if isinstance(tensor, np.ndarray):
        return tensor
    if tf.executing_eagerly():
        return np.asarray(tensor)
    return tf.compat.v1.keras.backend.get_session().run(tensor)


def randomise_layers(model, layers: Sequence[str], seed: int):
    """A copy of ``model`` with the named dense layers re-initialised (kernel and bias, each with
    the layer's own initializer, seeded per layer); the other layers keep their trained weights."""
    from geoxai.learn.models import configure_tensorflow

    tf = configure_tensorflow()
    names = dense_layer_names(model)
    unknown = [name for name in layers if name not in names]
    if unknown:
        raise GeoxaiError(f"the network has no dense layer {unknown}: its dense layers are {names}")
    copy = tf.keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for name in layers:
        layer = copy.get_layer(name)
        offset = 1000 * (names.index(name) + 1)
        layer.set_weights([
            _fresh(layer.kernel_initializer, tuple(layer.kernel.shape), layer.kernel.dtype,
                   seed + offset),
            _fresh(layer.bias_initializer, tuple(layer.bias.shape), layer.bias.dtype,
                   seed + offset + 1),
        ])
    return copy


def cascading_randomisations(model, seed: int) -> list[tuple[str, object]]:
    """``(stage, network)`` from the output layer down: stage ``cascade_<layer>`` has that
    layer and every layer above it re-initialised."""
    names = dense_layer_names(model)
    stages = []
    for depth in range(1, len(names) + 1):
        chosen = names[-depth:]
        stages.append((f"cascade_{chosen[0]}", randomise_layers(model, chosen, seed)))
    return stages


def shuffle_training_labels(labels: np.ndarray, split: np.ndarray, seed: int) -> np.ndarray:
    """The labels with those of the training samples permuted among themselves (seeded); the
    validation labels stay, so the network's validation accuracy shows what it did not learn."""
    labels = np.asarray(labels).copy()
    train = np.nonzero(np.asarray(split) == "train")[0]
    if train.size == 0:
        raise GeoxaiError("no training sample to shuffle labels of: the label table has no 'train' rows")
    labels[train] = labels[np.random.default_rng(seed).permutation(train)]
    return labels


def similarity(original: np.ndarray, randomised: np.ndarray) -> dict[str, np.ndarray]:
    """Per sample (rows, over the given cells): Spearman correlation of the signed maps and of
    their absolute values (Adebayo et al. report the latter: a rule may flip signs only)."""
    return {
        "spearman": spearman_rows(original, randomised),
        "spearman_abs": spearman_rows(np.abs(original), np.abs(randomised)),
    }


def survives(median_spearman: np.ndarray, median_spearman_abs: np.ndarray,
             threshold: float) -> np.ndarray:
    """Flag: the explanation stays similar (either median at or above ``threshold``)."""
    signed = np.nan_to_num(median_spearman, nan=-np.inf)
    absolute = np.nan_to_num(median_spearman_abs, nan=-np.inf)
    return (signed >= threshold) | (absolute >= threshold)
