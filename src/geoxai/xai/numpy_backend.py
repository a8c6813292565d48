"""The numpy backend: every method of :data:`geoxai.xai.rules.RULES` for the dense ReLU networks
of :func:`geoxai.learn.models.build_model`, independent of iNNvestigate.

The first layer (64,800 inputs → 8 units) dominates the cost. The LRP rules reduce there to a few
matrix products per block of samples, written into preallocated buffers. The gradient-type
methods use that the first layer is linear: the preactivation of any point on an integration path
or of a noisy copy is an affine function of the input's, so the forward and backward passes
through the narrow layers run on all samples × steps (or × noisy copies) at once, and the wide
layer is crossed once each way per sample (twice with noise, which lives in input space).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from geoxai.core.errors import GeoxaiError
from geoxai.xai.rules import DenseLayer, DenseStep, Rule

#: Input bytes per numpy block (64 rows of a 1° map). The first layer's four skinny matrix
#: products take three quarters of the time; measured, they reach the single-core matmul speed
#: from about 64 rows on (fewer rows re-read the 2 MB kernel more often per sample), while
#: larger blocks gain nothing (benchmarks/README.md).
NUMPY_BLOCK_BYTES = 16 * 2**20

Weights = list[tuple[np.ndarray, np.ndarray]]


def weights_of(model) -> Weights:
    """Kernels and biases (float32) of the model's dense layers, from the input to the logits.

    Checks that the model is the family the numpy code assumes: ReLU hidden layers and a linear
    logits layer, all with biases (a trailing softmax layer is allowed and ignored). ``model`` is
    a Keras model or a :class:`geoxai.learn.models.DenseNetwork` (read without TensorFlow).
    """
    from geoxai.learn.models import DenseNetwork

    if isinstance(model, DenseNetwork):
        dense = list(model.layers)
        found = [layer.activation for layer in dense]
        biased = True  # load_network refuses layers without a bias
        pairs = [(layer.kernel, layer.bias) for layer in dense]
    else:
        import tensorflow as tf

        dense = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.Dense)]
        found = [layer.get_config()["activation"] for layer in dense]
        biased = all(layer.use_bias for layer in dense)
        pairs = [layer.get_weights() for layer in dense]
    expected = ["relu"] * (len(dense) - 1) + ["linear"]
    if not dense or found != expected or not biased:
        raise GeoxaiError(
            f"model {model.name!r} has dense layers with activations {found}; the numpy code "
            "needs ReLU hidden layers and a linear logits layer, all with biases "
            "(geoxai.learn.models.build_model): use backend='innvestigate' for other networks"
        )
    return [
        (np.ascontiguousarray(kernel, dtype=np.float32), np.asarray(bias, dtype=np.float32))
        for kernel, bias in pairs
    ]


def dense_layers(weights: Weights) -> list[DenseLayer]:
    """The layers of :func:`weights_of` with what the backward steps reuse for every block."""
    last = len(weights) - 1
    return [DenseLayer.of(kernel, bias, position < last) for position, (kernel, bias) in enumerate(weights)]


def forward_steps(
    layers: list[DenseLayer], inputs: np.ndarray, out: np.ndarray | None = None,
    scratch: np.ndarray | None = None,
) -> tuple[list[DenseStep], np.ndarray]:
    """Forward pass that keeps what the backward pass needs; returns the steps and the logits.

    ``out`` and ``scratch`` (the inputs' shape) are handed to the first layer's backward step.
    """
    steps = []
    activations = inputs
    for position, layer in enumerate(layers):
        preactivation = activations @ layer.kernel
        preactivation += layer.bias
        buffers = (out, scratch) if position == 0 else (None, None)
        steps.append(DenseStep(activations, layer, preactivation, *buffers))
        activations = np.maximum(preactivation, 0) if layer.rectified else preactivation
    return steps, activations


def numpy_block_rows(n_features: int, batch_size: int) -> int:
    """Rows per numpy block: at most ``batch_size``, few enough to stay in the CPU cache."""
    return max(1, min(batch_size, NUMPY_BLOCK_BYTES // (4 * n_features)))


def first_layer_pass(
    layers: list[DenseLayer], first: np.ndarray, winner: np.ndarray | None = None,
    gradient: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """From first-layer preactivations (m, units) on: the logits (m, classes), the explained
    class (``winner``, or each row's largest logit) and the gradient of that logit with respect
    to ``first`` (m, units), or None without ``gradient``."""
    preactivations = [first]
    activations = np.maximum(first, 0) if layers[0].rectified else first
    for layer in layers[1:]:
        preactivation = activations @ layer.kernel + layer.bias
        preactivations.append(preactivation)
        activations = np.maximum(preactivation, 0) if layer.rectified else preactivation
    logits = activations
    if winner is None:
        winner = np.argmax(logits, axis=1)
    if not gradient:
        return logits, winner, None
    flowing = np.zeros_like(logits)
    flowing[np.arange(len(logits)), winner] = 1.0
    for position in range(len(layers) - 1, -1, -1):
        if layers[position].rectified:
            flowing = flowing * (preactivations[position] > 0)
        if position:
            flowing = flowing @ layers[position].kernel.T
    return logits, winner, flowing


def _winning(logits: np.ndarray, winner: np.ndarray) -> np.ndarray:
    return logits[np.arange(len(logits)), winner]


def _explain_layerwise(layers, inputs, rule: Rule, parameters, batch_size):
    relevance = np.empty(inputs.shape, dtype=np.float32)
    winner = np.empty(len(inputs), dtype=np.int64)
    winning_logit = np.empty(len(inputs), dtype=np.float32)
    epsilon = float(parameters.get("epsilon", 0.0))
    rows = numpy_block_rows(inputs.shape[1], batch_size)
    scratch = np.empty((min(rows, len(inputs)), inputs.shape[1]), dtype=np.float32)
    for start in range(0, len(inputs), rows):
        block = slice(start, start + rows)
        block_inputs = inputs[block]
        # the first layer's backward step writes the relevance straight into its rows
        steps, logits = forward_steps(
            layers, block_inputs, relevance[block], scratch[: len(block_inputs)]
        )
        winner[block] = np.argmax(logits, axis=1)
        samples = np.arange(len(logits))
        winning_logit[block] = logits[samples, winner[block]]
        flowing = np.zeros_like(logits)
        flowing[samples, winner[block]] = winning_logit[block] if rule.starts_from_logit else 1.0
        for step in reversed(steps):
            flowing = rule.backward(step, flowing, epsilon)
        if rule.times_input:
            relevance[block] *= block_inputs
    return relevance, winner, winning_logit


def baseline_of(parameters: Mapping[str, Any], n_features: int) -> np.ndarray:
    baseline = parameters["baseline"]
    if isinstance(baseline, str):  # "zeros": the climatology of anomaly inputs
        return np.zeros(n_features, dtype=np.float32)
    return np.asarray(baseline, dtype=np.float32)


def _explain_integrated(layers, inputs, rule: Rule, parameters, batch_size):
    """Integrated gradients with iNNvestigate's step placement: the gradient is averaged at
    baseline + k/steps (input - baseline), k = 0..steps-1 (a left Riemann sum: the baseline is
    on the path, the input is not), then multiplied by input - baseline."""
    steps = int(parameters["steps"])
    first = layers[0]
    baseline = baseline_of(parameters, inputs.shape[1])
    start_point = baseline @ first.kernel + first.bias  # (units,)
    fractions = (np.arange(steps, dtype=np.float32) / np.float32(steps))[None, :, None]
    relevance = np.empty(inputs.shape, dtype=np.float32)
    winner = np.empty(len(inputs), dtype=np.int64)
    winning_logit = np.empty(len(inputs), dtype=np.float32)
    rows = numpy_block_rows(inputs.shape[1], batch_size)
    # input - baseline goes to one reused buffer (a fresh block-sized array per block costs page
    # faults as long as the products); a zero baseline needs none
    shifted = None if not baseline.any() else np.empty((min(rows, len(inputs)), inputs.shape[1]),
                                                       dtype=np.float32)
    for start in range(0, len(inputs), rows):
        block = slice(start, start + rows)
        block_inputs = inputs[block]
        end_point = block_inputs @ first.kernel + first.bias  # (r, units)
        logits, winner[block], _ = first_layer_pass(layers, end_point, gradient=False)
        winning_logit[block] = _winning(logits, winner[block])
        path = start_point + fractions * (end_point - start_point)[:, None, :]
        _, _, gradient = first_layer_pass(
            layers, path.reshape(-1, path.shape[-1]), np.repeat(winner[block], steps)
        )
        mean_gradient = gradient.reshape(len(block_inputs), steps, -1).mean(axis=1)
        result = np.matmul(mean_gradient, first.kernel.T, out=relevance[block])
        if shifted is None:
            result *= block_inputs
        else:
            result *= np.subtract(block_inputs, baseline, out=shifted[: len(block_inputs)])
    return relevance, winner, winning_logit


def smoothgrad_noise(seed: int, sample: int, copies: int, n_features: int,
                     noise_scale: float) -> np.ndarray:
    """The noise added to input row ``sample``: (copies, n_features) float32, N(0, noise_scale²).

    Drawn from a generator keyed by (seed, sample), so it depends neither on the block size nor
    on the backend, and both backends can be given the very same noise.
    """
    generator = np.random.default_rng([int(seed), int(sample)])
    noise = generator.standard_normal((copies, n_features), dtype=np.float32)
    noise *= np.float32(noise_scale)
    return noise


def _explain_smoothed(layers, inputs, rule: Rule, parameters, batch_size, seed):
    """SmoothGrad: the mean gradient over noisy copies, for the class of the unperturbed input."""
    copies = int(parameters["samples"])
    scale = float(parameters["noise_scale"])
    n_features = inputs.shape[1]
    first = layers[0]
    relevance = np.empty(inputs.shape, dtype=np.float32)
    winner = np.empty(len(inputs), dtype=np.int64)
    winning_logit = np.empty(len(inputs), dtype=np.float32)
    rows = max(1, min(batch_size, NUMPY_BLOCK_BYTES // (4 * n_features * copies)))
    for start in range(0, len(inputs), rows):
        block = slice(start, start + rows)
        block_inputs = inputs[block]
        count = len(block_inputs)
        clean = block_inputs @ first.kernel + first.bias
        logits, winner[block], _ = first_layer_pass(layers, clean, gradient=False)
        winning_logit[block] = _winning(logits, winner[block])
        noise = np.concatenate([
            smoothgrad_noise(seed, start + row, copies, n_features, scale) for row in range(count)
        ])
        noisy = (noise @ first.kernel).reshape(count, copies, -1) + clean[:, None, :]
        _, _, gradient = first_layer_pass(
            layers, noisy.reshape(count * copies, -1), np.repeat(winner[block], copies)
        )
        mean_gradient = gradient.reshape(count, copies, -1).mean(axis=1)
        np.matmul(mean_gradient, first.kernel.T, out=relevance[block])
    return relevance, winner, winning_logit


def explain_numpy(model, inputs: np.ndarray, rule: Rule, parameters: Mapping[str, Any],
                  batch_size: int, seed: int = 0, grid=None):
    """(relevance, explained class, explained logit) of every row of ``inputs``."""
    layers = dense_layers(weights_of(model))
    if rule.kind == "layerwise":
        return _explain_layerwise(layers, inputs, rule, parameters, batch_size)
    if rule.kind == "integrated":
        return _explain_integrated(layers, inputs, rule, parameters, batch_size)
    if rule.kind == "smoothed":
        return _explain_smoothed(layers, inputs, rule, parameters, batch_size, seed)
    if rule.kind == "occlusion":
        from geoxai.xai.occlusion import explain_occlusion

        return explain_occlusion(layers, inputs, parameters, batch_size, grid)
    raise GeoxaiError(f"the numpy backend has no code for methods of kind {rule.kind!r}")
