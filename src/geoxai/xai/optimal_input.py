"""Backwards optimization: the input that a trained classifier finds most typical of a class.

Gradient descent on the input (docs/science.md, after Toms et al. 2020): start from an all-zero map (or a
given one), minimise the cross-entropy between the target class and the softmax output plus
``l2_penalty * sum(x**2)``, with a fixed step size, for a fixed number of steps.

The loss gradient has a closed form for the dense ReLU network, :func:`loss_and_gradient`
(checked against TensorFlow's in the tests). The descent itself never needs the 64,800-long map
at every step: the gradient with respect to the input is ``W1 @ g + 2λx`` (W1 the first kernel,
g the gradient at the first layer's preactivation), so every iterate stays of the form
``x_t = a_t * start + W1 @ c_t``. The loop updates the scalar ``a_t`` and the 8 numbers ``c_t``
with the Gram matrix ``W1ᵀW1``: the same iterates as plain gradient descent (identical in exact
arithmetic, computed in float64), at a cost per step independent of the map size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from geoxai.core.errors import GeoxaiError
from geoxai.core.progress import report, stride
from geoxai.core.settings import settings_from_section
from geoxai.xai.explain import Weights, weights_of


@dataclass
class OptimalInput:
    """The result of backwards optimization for one target class."""

    input: np.ndarray  # (features,) float32, not normalised
    target_class: int
    probability: float  # softmax probability of the target class at ``input``
    # target probability at steps 0, record_every, 2 * record_every, ... (start included)
    probability_history: np.ndarray
    steps: int
    step_size: float
    l2_penalty: float
    record_every: int


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def _hidden_forward(
    weights: Weights, first_preactivation: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """Forward from the first layer's preactivation; returns all preactivations and the logits."""
    preactivations = [first_preactivation]
    for kernel, bias in weights[1:]:
        preactivations.append(np.maximum(preactivations[-1], 0) @ kernel + bias)
    return preactivations, preactivations[-1]


def _gradient_at_first_preactivation(
    weights: Weights, preactivations: list[np.ndarray], logits_gradient: np.ndarray
) -> np.ndarray:
    gradient = logits_gradient
    for (kernel, _), preactivation in zip(reversed(weights[1:]), reversed(preactivations[:-1])):
        gradient = (kernel @ gradient) * (preactivation > 0)
    return gradient


def loss_and_gradient(
    weights: Weights, x: np.ndarray, target_class: int, l2_penalty: float = 0.0
) -> tuple[float, np.ndarray]:
    """Cross-entropy of ``target_class`` plus ``l2_penalty * sum(x**2)``, and its gradient in x."""
    first_kernel, first_bias = weights[0]
    preactivations, logits = _hidden_forward(weights, x @ first_kernel + first_bias)
    probabilities = _softmax(logits)
    largest = logits.max()
    cross_entropy = largest + np.log(np.exp(logits - largest).sum()) - logits[target_class]
    loss = cross_entropy + l2_penalty * np.sum(x * x)
    logits_gradient = probabilities.copy()
    logits_gradient[target_class] -= 1.0
    first_gradient = _gradient_at_first_preactivation(weights, preactivations, logits_gradient)
    return float(loss), first_kernel @ first_gradient + 2.0 * l2_penalty * x


def target_probability(weights: Weights, x: np.ndarray, target_class: int) -> float:
    first_kernel, first_bias = weights[0]
    _, logits = _hidden_forward(weights, x @ first_kernel + first_bias)
    return float(_softmax(logits)[target_class])


def _check_settings(
    n_features: int,
    n_classes: int,
    target_class: int,
    steps: int,
    step_size: float,
    l2_penalty: float,
    start: np.ndarray | None,
    record_every: int,
) -> None:
    if not 0 <= target_class < n_classes:
        raise GeoxaiError(
            f"target class {target_class} does not exist: the model has classes 0..{n_classes - 1}"
        )
    if steps < 0 or record_every < 1:
        raise GeoxaiError(
            f"optimal input steps={steps}, record_every={record_every}: give steps >= 0 and "
            "record_every >= 1"
        )
    if step_size <= 0 or l2_penalty < 0:
        raise GeoxaiError(
            f"optimal input step_size={step_size}, l2_penalty={l2_penalty}: give a positive "
            "step size and a non-negative penalty"
        )
    if step_size * l2_penalty >= 1:
        raise GeoxaiError(
            f"optimal input step_size * l2_penalty = {step_size * l2_penalty:g} >= 1: the "
            "penalty alone makes gradient descent diverge; lower one of them"
        )
    if start is not None and np.shape(start) != (n_features,):
        raise GeoxaiError(
            f"optimal input start has shape {np.shape(start)} but the model takes "
            f"{n_features} features: give a flattened map of the training grid"
        )


@dataclass(frozen=True)
class OptimalInputSettings:
    """The ``optimal_input`` config section."""

    steps: int = 50000
    step_size: float = 0.01
    l2_penalty: float = 0.0
    start: str = "zeros"
    target_probability: float = 0.9

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> OptimalInputSettings:
        settings = settings_from_section(cls, section, "optimal_input")
        if settings.start not in ("zeros", "composite"):
            raise GeoxaiError(
                f"config key optimal_input.start={settings.start!r}: use 'zeros' or 'composite'"
            )
        return settings

    def start_map(self, inputs: np.ndarray, labels: np.ndarray, class_index: int) -> np.ndarray | None:
        """Zeros (None), or the mean input of the class's samples."""
        return None if self.start == "zeros" else inputs[labels == class_index].mean(axis=0)


def optimal_input(
    model,
    target_class: int,
    steps: int = 50000,
    step_size: float = 0.01,
    l2_penalty: float = 0.0,
    start: np.ndarray | None = None,
    record_every: int = 100,
    goal: float | None = 0.9,
    progress: bool = True,
) -> OptimalInput:
    """Gradient descent on the input towards ``target_class`` (see the module docstring).

    ``progress``: a line on stdout (the job log) every tenth of the steps with the step, the
    target probability and the input's L2 norm, and a last line saying whether the probability
    reached ``goal`` (the config's ``optimal_input.target_probability``). The lines only read
    the iterates: the result is the same without them.
    """
    weights32 = weights_of(model)
    n_features, n_classes = weights32[0][0].shape[0], weights32[-1][0].shape[1]
    _check_settings(
        n_features, n_classes, target_class, steps, step_size, l2_penalty, start, record_every
    )
    weights = [(kernel.astype(np.float64), bias.astype(np.float64)) for kernel, bias in weights32]
    first_kernel, first_bias = weights[0]
    origin = np.zeros(n_features) if start is None else np.asarray(start, dtype=np.float64)

    gram = first_kernel.T @ first_kernel
    origin_projection = origin @ first_kernel
    decay = 1.0 - 2.0 * step_size * l2_penalty  # what the penalty does to x in one step
    origin_weight = 1.0  # a_t
    coefficients = np.zeros(first_kernel.shape[1])  # c_t
    history = []
    what = f"optimal input class {int(target_class)}"
    report_every = stride(steps, 10)
    for step in range(steps + 1):
        first_preactivation = origin_weight * origin_projection + gram @ coefficients + first_bias
        preactivations, logits = _hidden_forward(weights, first_preactivation)
        probabilities = _softmax(logits)
        if step % record_every == 0:
            history.append(probabilities[target_class])
        if progress and (step % report_every == 0 or step == steps):
            norm = np.linalg.norm(origin_weight * origin + first_kernel @ coefficients)
            report(what, f"step {step}/{steps} probability {probabilities[target_class]:.4f} "
                         f"input norm {norm:.4g}")
        if step == steps:
            break
        probabilities[target_class] -= 1.0  # now the gradient at the logits
        first_gradient = _gradient_at_first_preactivation(weights, preactivations, probabilities)
        coefficients = decay * coefficients - step_size * first_gradient
        origin_weight *= decay

    result = (origin_weight * origin + first_kernel @ coefficients).astype(np.float32)
    probability = target_probability(weights, result.astype(np.float64), target_class)
    if progress:
        if goal is None:
            verdict = "no target probability set"
        elif probability >= goal:
            verdict = f"target probability {goal:g} reached"
        else:
            verdict = f"target probability {goal:g} NOT reached (more steps or a larger step size?)"
        report(what, f"done, {steps} steps, probability {probability:.4f}: {verdict}")
    return OptimalInput(
        input=result,
        target_class=int(target_class),
        probability=probability,
        probability_history=np.asarray(history, dtype=np.float64),
        steps=int(steps),
        step_size=float(step_size),
        l2_penalty=float(l2_penalty),
        record_every=int(record_every),
    )
