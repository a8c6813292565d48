"""The registry of explanation methods, as data, and the numpy backward steps of the LRP rules.

Each method is one :class:`Rule` in :data:`RULES` (Zennit-style: the entry carries everything
about it): its figure label, the iNNvestigate analyzer that computes the same numbers (None
where iNNvestigate has none), the numpy backward step through one dense layer (LRP rules and the
plain gradient), its declared parameters with their defaults, its sign convention, whether and
what it conserves, and how it treats biases. Adding a method is adding one entry (and, for a new
kind, its numpy code in :mod:`geoxai.xai.numpy_backend`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from geoxai.core.errors import GeoxaiError

#: iNNvestigate replaces a zero denominator by Keras' epsilon; the numpy backend does the same.
ZERO_DENOMINATOR = np.float32(1e-7)

#: Relative size below which a denominator computed as a difference counts as zero.
ROUNDING = np.float32(1e-5)


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


def _alpha_beta_step(alpha: float, beta: float, ignore_bias: bool = False) -> BackwardStep:
    """α-β rule in iNNvestigate's convention (activators x⁺w⁺ and x⁻w⁻, whole bias in both, or
    no bias at all with ``ignore_bias``).

    Term by term x⁺w⁺ + x⁻w⁻ = (xw)⁺ = (xw + |x||w|)/2 and x⁺w⁻ + x⁻w⁺ = (xw)⁻ = (xw - |x||w|)/2,
    so the denominators and the backward pass need only products with W and |W|: no split copies
    of the inputs or the kernel, two skinny matrix products each way, and one temporary (|x|,
    then the second product) of the inputs' size.
    """

    def backward(step: DenseStep, relevance: np.ndarray, epsilon: float) -> np.ndarray:
        absolute_inputs = np.abs(step.inputs, out=step.scratch)
        magnitude = absolute_inputs @ step.layer.absolute_kernel  # Σ|x||w|
        # preactivation = Σxw + b, so each denominator (Σxw ± Σ|x||w|)/2 (+ b) is:
        centre = step.preactivation - step.bias if ignore_bias else step.preactivation + step.bias
        activators = 0.5 * (centre + magnitude)
        if ignore_bias:
            # Σ(xw)⁺ is exactly 0 where no term is positive (iNNvestigate then passes nothing
            # down); here it is a difference, so treat what is within rounding of 0 as 0
            activators[activators <= ROUNDING * (magnitude + np.abs(step.bias))] = 0
        activator_share = np.float32(alpha) * _safe_divide(relevance, activators)
        if ignore_bias:
            activator_share[activators == 0] = 0
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


@dataclass(frozen=True)
class Parameter:
    """One declared parameter of a method: its default and what values it takes."""

    default: Any
    kind: str  # "positive_float", "positive_int", "float", "baseline"
    description: str


@dataclass(frozen=True)
class Rule:
    """One explanation method: how to compute it, how iNNvestigate names it, how to read it.

    ``kind`` says which numpy code computes it: ``layerwise`` (a backward step per dense layer:
    the LRP rules and the gradients), ``integrated``, ``smoothed`` or ``occlusion``.
    ``conservation`` is ``exact`` (the relevance sums to ``conserved_quantity``), ``approximate``
    (it does up to a discretization error), ``per_patch`` or ``no``.
    """

    label: str  # how the figures name it
    kind: str
    sign_convention: str
    conservation: str
    bias_treatment: str
    analyzer: str | None = None  # the iNNvestigate analyzer; None: numpy only
    cross_checks: tuple[str, ...] = ()  # further iNNvestigate analyzers the tests hold equal
    backward: BackwardStep | None = None
    parameters: Mapping[str, Parameter] = field(default_factory=lambda: MappingProxyType({}))
    conserved_quantity: str = ""
    quantity: str = "LRP relevance"  # what the numbers are called in outputs
    family: str = "LRP"  # prefix of figure titles ("LRP α=1, β=0"); "" for non-LRP methods
    starts_from_logit: bool = True  # LRP starts from the logit's value, gradients from 1
    times_input: bool = False  # multiply the input gradient by the input
    note: str = ""

    @property
    def uses_epsilon(self) -> bool:
        return "epsilon" in self.parameters

    @property
    def conserves(self) -> bool:
        return self.conservation in ("exact", "approximate")

    @property
    def defaults(self) -> dict[str, Any]:
        return {key: parameter.default for key, parameter in self.parameters.items()}


def _declared(**parameters: Parameter) -> Mapping[str, Parameter]:
    return MappingProxyType(parameters)


_ALPHA_BETA_CONVENTION = (
    "iNNvestigate alpha-beta convention: activators x+w+ and x-w-, inhibitors x+w- and x-w+, "
    "zero denominators replaced by 1e-7; so a cold anomaly under a negative weight gets positive "
    "relevance (relevance says where the network looks, not the sign of the anomaly)"
)
_BIAS_AS_INPUT = "bias as a constant input: it takes a share of the relevance (not conserved)"
_NO_BIAS_PATH = "biases shift the network's operating point but are not attributed"
_GRADIENT_CONVENTION = "positive where increasing the input raises the winning logit"

RULES: dict[str, Rule] = {
    "z": Rule(
        label="z", kind="layerwise", analyzer="lrp.z", backward=_z_step,
        sign_convention=(
            "LRP-z on the winning logit: relevance x*w/z, bias as a constant input, zero "
            "denominators replaced by 1e-7; positive where the input raises the logit"
        ),
        conservation="no", bias_treatment=_BIAS_AS_INPUT,
        note="conserves the logit only in a network without biases",
    ),
    "epsilon": Rule(
        label="ε", kind="layerwise", analyzer="lrp.epsilon", backward=_epsilon_step,
        sign_convention=(
            "LRP-epsilon on the winning logit: relevance x*w/(z + epsilon*sign(z)) with "
            "sign(0)=+1, bias as a constant input; positive where the input raises the logit"
        ),
        conservation="no", bias_treatment=_BIAS_AS_INPUT + "; epsilon absorbs some more",
        parameters=_declared(epsilon=Parameter(1e-7, "positive_float", "stabilizer of z")),
    ),
    "alpha_1_beta_0": Rule(
        label="α=1, β=0", kind="layerwise", analyzer="lrp.alpha_1_beta_0_IB",
        cross_checks=("deep_taylor",), backward=_alpha_beta_step(1.0, 0.0, ignore_bias=True),
        sign_convention=_ALPHA_BETA_CONVENTION
        + "; biases ignored on every dense layer; alpha=1, beta=0: relevance has the sign of "
        "the explained logit",
        conservation="exact", conserved_quantity="explained logit",
        bias_treatment="ignored: denominators are the activators' sums without the bias",
        note="the tutorial's rule (Toms et al. 2020): iNNvestigate's deep_taylor on dense ReLU "
        "networks",
    ),
    "alpha_1_beta_0_bias": Rule(
        label="α=1, β=0 (with biases)", kind="layerwise", analyzer="lrp.alpha_1_beta_0",
        backward=_alpha_beta_step(1.0, 0.0),
        sign_convention=_ALPHA_BETA_CONVENTION
        + "; both denominators include the whole bias; alpha=1, beta=0: relevance has the "
        "sign of the explained logit",
        conservation="no", bias_treatment="the whole bias in the activator denominator: it "
        "absorbs relevance (sums fall well short of the logit)",
    ),
    "alpha_2_beta_1": Rule(
        label="α=2, β=1", kind="layerwise", analyzer="lrp.alpha_2_beta_1",
        backward=_alpha_beta_step(2.0, 1.0),
        sign_convention=_ALPHA_BETA_CONVENTION
        + "; both denominators include the whole bias; alpha=2, beta=1",
        conservation="no", bias_treatment="the whole bias in both denominators",
    ),
    "gradient": Rule(
        label="gradient", kind="layerwise", analyzer="gradient", backward=_gradient_step,
        sign_convention="gradient of the winning logit with respect to the input: "
        + _GRADIENT_CONVENTION,
        conservation="no", bias_treatment=_NO_BIAS_PATH,
        quantity="sensitivity", family="", starts_from_logit=False,
    ),
    "input_x_gradient": Rule(
        label="input × gradient", kind="layerwise", analyzer="input_t_gradient",
        backward=_gradient_step,
        sign_convention="input times the gradient of the winning logit: positive where the "
        "anomaly pushes the logit up to first order",
        conservation="no", bias_treatment=_NO_BIAS_PATH,
        quantity="attribution", family="", starts_from_logit=False, times_input=True,
        note="sums to the logit minus the biases' part only for a linear network",
    ),
    "integrated_gradients": Rule(
        label="integrated gradients", kind="integrated", analyzer="integrated_gradients",
        sign_convention="(input - baseline) times the mean gradient of the winning logit on "
        "the straight path from the baseline (left Riemann sum, iNNvestigate's placement "
        "k/steps for k = 0..steps-1): positive where the input raises the logit above the "
        "baseline's",
        conservation="approximate",
        conserved_quantity="explained logit minus that logit at the baseline",
        bias_treatment="in the network on both ends of the path: cancel in the difference",
        quantity="attribution", family="",
        parameters=_declared(
            steps=Parameter(32, "positive_int", "points on the path"),
            baseline=Parameter("zeros", "baseline", '"zeros" (climatology: inputs are '
                               "anomalies) or a 1-D array of n_features"),
        ),
    ),
    "smoothgrad": Rule(
        label="SmoothGrad", kind="smoothed", analyzer="smoothgrad",
        sign_convention="mean gradient of the winning logit (class of the unperturbed input) "
        "over inputs with added Gaussian noise: " + _GRADIENT_CONVENTION,
        conservation="no", bias_treatment=_NO_BIAS_PATH, quantity="sensitivity", family="",
        parameters=_declared(
            noise_scale=Parameter(0.5, "positive_float", "standard deviation of the noise, in "
                                  "input units (K), the same on every cell"),
            samples=Parameter(32, "positive_int", "noisy copies per input"),
        ),
        note="noise drawn per sample from the explicit seed, the same for both backends; "
        "iNNvestigate's own smoothgrad analyzer (2.1.2) ignores noise_scale (always std 1) and "
        "is unseeded, so the innvestigate backend runs its gradient analyzer on our noise",
    ),
    "occlusion": Rule(
        label="occlusion", kind="occlusion", analyzer=None,
        sign_convention="drop of the winning logit when a lat/lon patch of ocean cells is "
        "replaced by value, shared among the patch's ocean cells by area (cos lat): positive "
        "where the patch's anomaly raises the logit",
        conservation="per_patch",
        conserved_quantity="each patch: the drop of the explained logit when it is replaced",
        bias_treatment="not applicable: the network runs whole, biases included",
        quantity="attribution", family="",
        parameters=_declared(
            patch_degrees=Parameter(10.0, "positive_float", "patch side, degrees, anchored at "
                                    "90°S and 0°E"),
            value=Parameter(0.0, "float", "replacement value (0 = climatology)"),
        ),
        note="numpy only: iNNvestigate has no occlusion analyzer; needs the map grid",
    ),
}


def rule_label(name: str) -> str:
    """How the figures name a rule, given by its key or an iNNvestigate analyzer name."""
    rule = RULES.get(name) or _by_analyzer().get(name)
    return rule.label if rule else name


def rule_title(name: str) -> str:
    """The label with the method family for titles: ``LRP α=1, β=0``, ``integrated gradients``."""
    rule = RULES.get(name) or _by_analyzer().get(name)
    if rule is None:
        return name
    return f"{rule.family} {rule.label}" if rule.family else rule.label


def rule_quantity(name: str) -> str:
    """``LRP relevance`` or ``attribution``: what a rule's numbers are called."""
    rule = RULES.get(name) or _by_analyzer().get(name)
    return rule.quantity if rule else "relevance"


def _by_analyzer() -> dict[str, Rule]:
    found = {}
    for rule in RULES.values():
        for analyzer in (rule.analyzer, *rule.cross_checks):
            if analyzer:
                found.setdefault(analyzer, rule)
    return found


def rule_named(name: str) -> Rule:
    if name not in RULES:
        raise GeoxaiError(f"unknown explanation rule {name!r}: use one of {sorted(RULES)}")
    return RULES[name]


def rule_parameters(name: str, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The rule's declared defaults updated by ``given``, each value checked."""
    rule = rule_named(name)
    given = dict(given or {})
    chosen = rule.defaults
    for key, value in given.items():
        where = f"explain.parameters.{name}.{key}"
        if key not in rule.parameters:
            takes = sorted(rule.parameters) or "no parameters"
            raise GeoxaiError(f"{where}: rule {name!r} has no parameter {key!r} (it takes {takes})")
        chosen[key] = _checked(where, rule.parameters[key], value)
    return chosen


def _checked(where: str, parameter: Parameter, value: Any) -> Any:
    kind = parameter.kind
    if kind == "baseline":
        if isinstance(value, str):
            if value != "zeros":
                raise GeoxaiError(f'{where} is {value!r}: give "zeros" or a 1-D array of inputs')
            return value
        array = np.asarray(value, dtype=np.float32)
        if array.ndim != 1 or not np.all(np.isfinite(array)):
            raise GeoxaiError(f"{where} has shape {array.shape}: give a finite 1-D array of "
                              'n_features values, or "zeros"')
        return array
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise GeoxaiError(f"{where} is {value!r}: give a number ({parameter.description})")
    if kind == "positive_int":
        if int(value) != value or value < 1:
            raise GeoxaiError(f"{where} is {value!r}: give a positive whole number")
        return int(value)
    if not np.isfinite(value) or (kind == "positive_float" and value <= 0):
        raise GeoxaiError(f"{where} is {value!r}: give a {'positive ' if kind != 'float' else ''}"
                          "finite number")
    return float(value)
