"""Explanations of the dense ReLU classifier: LRP rules, gradients, integrated gradients,
SmoothGrad and occlusion, each one entry of :data:`geoxai.xai.rules.RULES`.

Two backends compute the same quantity:

* ``innvestigate`` (:mod:`geoxai.xai.innvestigate_backend`): the reference library that Toms et
  al. (2020) used, run on the model with the softmax removed.
* ``numpy`` (:mod:`geoxai.xai.numpy_backend`): an independent implementation for the dense ReLU
  networks of :func:`geoxai.learn.models.build_model`. The tests hold it equal to iNNvestigate,
  method by method, wherever iNNvestigate has the method.

A method iNNvestigate lacks (occlusion), asked of the innvestigate backend, is computed with
numpy: the :class:`Explanation` says so (``backend`` "numpy", ``requested_backend``
"innvestigate"). Every method explains each sample's winning logit.

This module re-exports what other modules import from it (the registry, the numpy helpers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geoxai.core.errors import GeoxaiError
from geoxai.learn.models import DenseNetwork, load_model
from geoxai.xai.innvestigate_backend import explain_innvestigate
from geoxai.xai.numpy_backend import (
    NUMPY_BLOCK_BYTES,
    Weights,
    dense_layers,
    explain_numpy,
    forward_steps,
    numpy_block_rows,
    weights_of,
)
from geoxai.xai.occlusion import grid_cells
from geoxai.xai.rules import (
    RULES,
    ZERO_DENOMINATOR,
    BackwardStep,
    DenseLayer,
    DenseStep,
    Parameter,
    Rule,
    rule_label,
    rule_named,
    rule_parameters,
    rule_quantity,
    rule_title,
)

__all__ = [
    "BACKENDS", "NUMPY_BLOCK_BYTES", "RULES", "ZERO_DENOMINATOR", "BackwardStep", "DenseLayer",
    "DenseStep", "ExplainSettings", "Explanation", "Parameter", "Rule", "Weights", "dense_layers",
    "explain", "forward_steps", "numpy_block_rows", "rule_label", "rule_named",
    "rule_parameters", "rule_quantity", "rule_title", "weights_of",
]


@dataclass
class Explanation:
    """Relevance of every input for the winning logit of every sample, and how it was made."""

    relevance: np.ndarray  # (n, features) float32
    explained_class: np.ndarray  # (n,) int: the class whose logit is explained
    explained_logit: np.ndarray  # (n,) float32: that logit's value
    rule: str
    backend: str  # the backend that computed it
    sign_convention: str
    label: str = ""  # the registry's figure label
    quantity: str = "LRP relevance"  # "LRP relevance", "attribution" or "sensitivity"
    conserves_relevance: str = "no"  # "exact", "approximate", "per_patch" or "no"
    conserved_quantity: str = ""  # what the relevance sums to, where it conserves
    bias_treatment: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)  # every parameter, defaults included
    requested_backend: str = ""  # differs from backend where the method fell back to numpy
    seed: int = 0  # of the random methods' noise
    note: str = ""


_BACKEND_FUNCTIONS = {"innvestigate": explain_innvestigate, "numpy": explain_numpy}
BACKENDS = tuple(_BACKEND_FUNCTIONS)


@dataclass(frozen=True)
class ExplainSettings:
    """The ``explain`` config section. ``rules`` has no default: the config names them."""

    rules: tuple[str, ...] = ()
    backend: str = "numpy"
    parameters: Mapping[str, Any] = field(default_factory=dict)  # by method; defaults in RULES
    compression: str = "zstd"  # how the relevance files are stored: provenance.COMPRESSIONS


def explain(
    model,
    inputs: np.ndarray,
    rule: str,
    backend: str = ExplainSettings.backend,
    epsilon: float | None = None,
    batch_size: int = 256,
    *,
    parameters: Mapping[str, Any] | None = None,
    seed: int = 0,
    grid=None,
) -> Explanation:
    """Explain the winning logit of each row of ``inputs`` (samples, features) with ``rule``.

    ``model`` is a Keras model or a :class:`geoxai.learn.models.DenseNetwork` (its weights read
    without TensorFlow; the innvestigate backend then loads the Keras model from its file).

    ``parameters`` are the rule's own (its entry's ``parameters`` name them and their defaults;
    an unknown key raises :class:`GeoxaiError` naming ``explain.parameters.<rule>.<key>``).
    ``epsilon`` is the ε-rule's parameter for callers that predate ``parameters``;
    ``parameters["epsilon"]`` wins over it. ``seed`` seeds SmoothGrad's noise. ``grid`` is
    ``(lat, lon)`` or ``(lat, lon, ocean_mask)`` of the maps the inputs flatten, needed by
    occlusion. ``batch_size`` is the number of samples per iNNvestigate call; the numpy backend
    uses at most that many per block, fewer for wide inputs (:data:`NUMPY_BLOCK_BYTES`).
    """
    chosen = rule_named(rule)
    if backend not in _BACKEND_FUNCTIONS:
        raise GeoxaiError(f"unknown explanation backend {backend!r}: use one of {list(BACKENDS)}")
    given = dict(parameters or {})
    if chosen.uses_epsilon and epsilon is not None:
        given.setdefault("epsilon", epsilon)
    chosen_parameters = rule_parameters(rule, given)
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
    for key, declared in chosen.parameters.items():
        value = chosen_parameters[key]
        if declared.kind == "baseline" and not isinstance(value, str) and value.size != expected:
            raise GeoxaiError(
                f"explain.parameters.{rule}.{key} has {value.size} values but the model takes "
                f"{expected} features: give one value per input feature, or \"zeros\""
            )
    if chosen.kind == "occlusion":
        grid_cells(grid, expected)  # fails early, with the same message, on a missing grid
    used = backend if chosen.analyzer is not None else "numpy"
    if used == "innvestigate" and isinstance(model, DenseNetwork):
        model = load_model(model.path)  # iNNvestigate analyses the Keras model itself
    if len(inputs) == 0:
        relevance, winner, logit = inputs.copy(), np.zeros(0, np.int64), np.zeros(0, np.float32)
    else:
        relevance, winner, logit = _BACKEND_FUNCTIONS[used](
            model, inputs, chosen, chosen_parameters, batch_size, seed=seed, grid=grid
        )
    note = chosen.note
    if used != backend:
        note = (f"computed with numpy: iNNvestigate has no analyzer for {rule}"
                + (f"; {note}" if note else ""))
    return Explanation(
        relevance=relevance,
        explained_class=np.asarray(winner, dtype=np.int64),
        explained_logit=np.asarray(logit, dtype=np.float32),
        rule=rule,
        backend=used,
        sign_convention=chosen.sign_convention,
        label=chosen.label,
        quantity=chosen.quantity,
        conserves_relevance=chosen.conservation,
        conserved_quantity=chosen.conserved_quantity,
        bias_treatment=chosen.bias_treatment,
        parameters=chosen_parameters,
        requested_backend=backend,
        seed=int(seed),
        note=note,
    )
