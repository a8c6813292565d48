"""Layer-wise relevance propagation and input gradients for the dense ReLU classifier.

Each explanation rule is one :class:`Rule` entry in :data:`RULES`: the name of the matching
iNNvestigate analyzer, the numpy backward step through one dense layer, and the sign convention
recorded in every output. Adding a rule is adding one entry. Two backends compute the same
quantity:

* ``innvestigate``: the reference library that Toms et al. (2020) used, run on the model with the
  softmax removed; its default neuron selection explains the winning logit.
* ``numpy``: an independent implementation for the dense ReLU networks of
  :func:`geoxai.learn.models.build_model`. The first layer (64,800 inputs → 8 units) dominates the
  cost, and there every rule reduces to a few matrix products per block of samples. The tests
  hold it equal to iNNvestigate, rule by rule.

Both explain each sample's winning logit: relevance starts at that logit's value (LRP) or at 1
(gradient) and is passed back one dense layer at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from geoxai.core.errors import GeoxaiError

#: iNNvestigate replaces a zero denominator by Keras' epsilon; the numpy backend does the same.
ZERO_DENOMINATOR = np.float32(1e-7)

#: Input bytes per numpy block (64 rows of a 1° map). The first layer's four skinny matrix
#: products take three quarters of the time; measured, they reach the single-core matmul speed
#: from about 64 rows on (fewer rows re-read the 2 MB kernel more often per sample), while
#: larger blocks gain nothing (benchmarks/README.md).
NUMPY_BLOCK_BYTES = 16 * 2**20

Weights = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class DenseLayer:
    """One dense layer as the numpy backend uses it; |kernel| is computed once per explanation."""

    kernel: np.ndarray  # (in, out) float32
    bias: np.ndarray  # (out,)
    absolute_kernel: np.ndarray  # |kernel|, for the α-β rules
    rectified: bool  # the layer applies a ReLU to its preactivation

    @classmethod
    def of(cls, kernel: np.ndarray, bias: np.ndarray, rectified: bool) -> DenseLayer:
        return cls(kernel, bias, np.abs(kernel), rectified)


@dataclass(frozen=True)
class DenseStep:
    """What a backward step needs to know about one dense layer for a block of samples.

    ``out`` and ``scratch``, when given, are arrays of the inputs' shape that the step may write
    into: the relevance goes to ``out`` and ``scratch`` holds one temporary, so the wide first
    layer allocates nothing per block (a fresh array of a few MB costs page faults on every
    block, as much as the arithmetic).
    """

    inputs: np.ndarray  # (n, in): the layer's input activations
    layer: DenseLayer
    preactivation: np.ndarray  # (n, out): inputs @ kernel + bias
    out: np.ndarray | None = None
    scratch: np.ndarray | None = None

    @property
    def kernel(self) -> np.ndarray:
        return self.layer.kernel

    @property
    def bias(self) -> np.ndarray:
        return self.layer.bias

    @property
    def rectified(self) -> bool:
        return self.layer.rectified


#: A backward step maps the relevance at a layer's output (n, out) to its inputs (n, in); the
#: float is LRP-epsilon's stabilizer, ignored by the other rules.
BackwardStep = Callable[[DenseStep, np.ndarray, float], np.ndarray]


@dataclass(frozen=True)
class Rule:
    """One explanation method: how iNNvestigate names it, how numpy computes it, how to read it."""

    analyzer: str
    backward: BackwardStep
    sign_convention: str
    starts_from_logit: bool = True  # LRP starts from the logit's value, the gradient from 1
    uses_epsilon: bool = False
    label: str = ""  # how the figures name it


@dataclass
class Explanation:
    """Relevance of every input for the winning logit of every sample."""

    relevance: np.ndarray  # (n, features) float32
    explained_class: np.ndarray  # (n,) int: the class whose logit is explained
    explained_logit: np.ndarray  # (n,) float32: that logit's value
    rule: str
    backend: str
    sign_convention: str


def _safe_divide(relevance: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return relevance / np.where(denominator == 0, ZERO_DENOMINATOR, denominator)


def _times_inputs(step: DenseStep, share: np.ndarray) -> np.ndarray:
    """``(share @ kernel.T) * inputs``, written into ``step.out`` when there is one."""
    result = np.matmul(share, step.kernel.T, out=step.out)
    result *= step.inputs
    return result


def _z_step(step: DenseStep, relevance: np.ndarray, epsilon: float) -> np.ndarray:
    return _times_inputs(step, _safe_divide(relevance, step.preactivation))


def _epsilon_step(step: DenseStep, relevance: np.ndarray, epsilon: float) -> np.ndarray:
    z = step.preactivation
    # epsilon takes the sign of the preactivation, with sign(0) = +1 as in iNNvestigate
    stabilizer = np.where(z >= 0, np.float32(epsilon), np.float32(-epsilon))
    return _times_inputs(step, relevance / (z + stabilizer))


def _alpha_beta_step(alpha: float, beta: float) -> BackwardStep:
    """α-β rule in iNNvestigate's convention (activators x⁺w⁺ and x⁻w⁻, whole bias in both).

    Term by term x⁺w⁺ + x⁻w⁻ = (xw)⁺ = (xw + |x||w|)/2 and x⁺w⁻ + x⁻w⁺ = (xw)⁻ = (xw - |x||w|)/2,
    so the denominators and the backward pass need only products with W and |W|: no split copies
    of the inputs or the kernel, two skinny matrix products each way, and one temporary (|x|,
    then the second product) of the inputs' size.
    """

    def backward(step: DenseStep, relevance: np.ndarray, epsilon: float) -> np.ndarray:
        absolute_inputs = np.abs(step.inputs, out=step.scratch)
        magnitude = absolute_inputs @ step.layer.absolute_kernel  # Σ|x||w|
        # preactivation + bias = Σxw + 2b, so each denominator (Σxw ± Σ|x||w|)/2 + b is:
        centre = step.preactivation + step.bias
        activator_share = np.float32(alpha) * _safe_divide(relevance, 0.5 * (centre + magnitude))
        if beta:
            inhibitor_share = np.float32(beta) * _safe_divide(relevance, 0.5 * (centre - magnitude))
            signed_share = activator_share - inhibitor_share
            magnitude_share = activator_share + inhibitor_share
        else:
            signed_share = magnitude_share = activator_share
        # R_i = Σ_j α s_j (x_i w_ij)⁺ - β t_j (x_i w_ij)⁻, each part split as above
        result = np.matmul(0.5 * magnitude_share, step.layer.absolute_kernel.T, out=step.out)
        result *= absolute_inputs
        signed_part = np.matmul(0.5 * signed_share, step.kernel.T, out=step.scratch)
        signed_part *= step.inputs
        result += signed_part
        return result

    return backward


def _gradient_step(step: DenseStep, gradient: np.ndarray, epsilon: float) -> np.ndarray:
    if step.rectified:
        # TensorFlow's ReLU passes the gradient only where the preactivation is > 0
        gradient = gradient * (step.preactivation > 0)
    return np.matmul(gradient, step.kernel.T, out=step.out)


_ALPHA_BETA_CONVENTION = (
    "iNNvestigate alpha-beta convention: activators x+w+ and x-w-, inhibitors x+w- and x-w+, "
    "both denominators include the whole bias, zero denominators replaced by 1e-7; so a cold "
    "anomaly under a negative weight gets positive relevance (relevance says where the network "
    "looks, not the sign of the anomaly)"
)

RULES: dict[str, Rule] = {
    "z": Rule(
        label="z",
        analyzer="lrp.z",
        backward=_z_step,
        sign_convention=(
            "LRP-z on the winning logit: relevance x*w/z, bias as a constant input, zero "
            "denominators replaced by 1e-7; positive where the input raises the logit"
        ),
    ),
    "epsilon": Rule(
        label="ε",
        analyzer="lrp.epsilon",
        backward=_epsilon_step,
        sign_convention=(
            "LRP-epsilon on the winning logit: relevance x*w/(z + epsilon*sign(z)) with "
            "sign(0)=+1, bias as a constant input; positive where the input raises the logit"
        ),
        uses_epsilon=True,
    ),
    "alpha_1_beta_0": Rule(
        label="α=1, β=0",
        analyzer="lrp.alpha_1_beta_0",
        backward=_alpha_beta_step(1.0, 0.0),
        sign_convention=_ALPHA_BETA_CONVENTION
        + "; alpha=1, beta=0: relevance has the sign of the explained logit",
    ),
    "alpha_2_beta_1": Rule(
        label="α=2, β=1",
        analyzer="lrp.alpha_2_beta_1",
        backward=_alpha_beta_step(2.0, 1.0),
        sign_convention=_ALPHA_BETA_CONVENTION + "; alpha=2, beta=1",
    ),
    "gradient": Rule(
        label="gradient",
        analyzer="gradient",
        backward=_gradient_step,
        sign_convention=(
            "gradient of the winning logit with respect to the input: positive where "
            "increasing the input raises the logit"
        ),
        starts_from_logit=False,
    ),
}


def rule_label(name: str) -> str:
    """How the figures name a rule, given by its key or its iNNvestigate analyzer name."""
    by_analyzer = {rule.analyzer: rule for rule in RULES.values()}
    rule = RULES.get(name) or by_analyzer.get(name)
    return rule.label if rule else name


def rule_named(name: str) -> Rule:
    if name not in RULES:
        raise GeoxaiError(f"unknown explanation rule {name!r}: use one of {sorted(RULES)}")
    return RULES[name]


def weights_of(model) -> Weights:
    """Kernels and biases (float32) of the model's dense layers, from the input to the logits.

    Checks that the model is the family the numpy code assumes: ReLU hidden layers and a linear
    logits layer, all with biases (a trailing softmax layer is allowed and ignored).
    """
    import tensorflow as tf

    dense_layers = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.Dense)]
    expected = ["relu"] * (len(dense_layers) - 1) + ["linear"]
    found = [layer.get_config()["activation"] for layer in dense_layers]
    if not dense_layers or found != expected or not all(layer.use_bias for layer in dense_layers):
        raise GeoxaiError(
            f"model {model.name!r} has dense layers with activations {found}; the numpy code "
            "needs ReLU hidden layers and a linear logits layer, all with biases "
            "(geoxai.learn.models.build_model): use backend='innvestigate' for other networks"
        )
    return [
        (np.ascontiguousarray(kernel, dtype=np.float32), np.asarray(bias, dtype=np.float32))
        for kernel, bias in (layer.get_weights() for layer in dense_layers)
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


def _explain_numpy(model, inputs: np.ndarray, rule: Rule, epsilon: float, batch_size: int):
    layers = dense_layers(weights_of(model))
    relevance = np.empty(inputs.shape, dtype=np.float32)
    winner = np.empty(len(inputs), dtype=np.int64)
    winning_logit = np.empty(len(inputs), dtype=np.float32)
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
    return relevance, winner, winning_logit


def _explain_innvestigate(model, inputs: np.ndarray, rule: Rule, epsilon: float, batch_size: int):
    import innvestigate

    logit_model = innvestigate.model_wo_softmax(model)
    options = {"epsilon": epsilon} if rule.uses_epsilon else {}
    analyzer = innvestigate.create_analyzer(rule.analyzer, logit_model, **options)
    relevance = np.empty(inputs.shape, dtype=np.float32)
    for start in range(0, len(inputs), batch_size):
        block = slice(start, start + batch_size)
        relevance[block] = analyzer.analyze(inputs[block])
    logits = np.asarray(logit_model.predict(inputs, batch_size=batch_size, verbose=0))
    winner = np.argmax(logits, axis=1)
    return relevance, winner, logits[np.arange(len(inputs)), winner]


_BACKEND_FUNCTIONS = {"innvestigate": _explain_innvestigate, "numpy": _explain_numpy}
BACKENDS = tuple(_BACKEND_FUNCTIONS)


@dataclass(frozen=True)
class ExplainSettings:
    """The ``explain`` config section. ``rules`` has no default: the config names them."""

    rules: tuple[str, ...] = ()
    backend: str = "innvestigate"
    epsilon: float = 1e-7


def explain(
    model,
    inputs: np.ndarray,
    rule: str,
    backend: str = ExplainSettings.backend,
    epsilon: float = ExplainSettings.epsilon,
    batch_size: int = 256,
) -> Explanation:
    """Explain the winning logit of each row of ``inputs`` (samples, features) with ``rule``.

    ``batch_size`` is the number of samples per iNNvestigate call; the numpy backend uses at
    most that many per block, fewer for wide inputs (:data:`NUMPY_BLOCK_BYTES`).
    """
    chosen = rule_named(rule)
    if backend not in _BACKEND_FUNCTIONS:
        raise GeoxaiError(f"unknown explanation backend {backend!r}: use one of {list(BACKENDS)}")
    inputs = np.ascontiguousarray(inputs, dtype=np.float32)
    expected = int(model.input_shape[-1])
    if inputs.ndim != 2 or inputs.shape[1] != expected:
        raise GeoxaiError(
            f"inputs to explain have shape {inputs.shape} but the model takes {expected} "
            f"features: give (samples, {expected}) anomaly maps of the grid the model was "
            "trained on, flattened"
        )
    if batch_size < 1:
        raise GeoxaiError(f"batch_size is {batch_size}: give a positive number of samples")
    if len(inputs) == 0:
        relevance, winner, logit = inputs.copy(), np.zeros(0, np.int64), np.zeros(0, np.float32)
    else:
        relevance, winner, logit = _BACKEND_FUNCTIONS[backend](
            model, inputs, chosen, epsilon, batch_size
        )
    return Explanation(
        relevance=relevance,
        explained_class=np.asarray(winner, dtype=np.int64),
        explained_logit=np.asarray(logit, dtype=np.float32),
        rule=rule,
        backend=backend,
        sign_convention=chosen.sign_convention,
    )
