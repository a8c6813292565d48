"""The iNNvestigate backend: the reference library that Toms et al. (2020) used, run on the model
with the softmax removed. Its default neuron selection explains the winning logit; the wrapped
analyzers (integrated gradients) pick the class of the unperturbed input, as the numpy backend
does.

SmoothGrad is the exception: iNNvestigate 2.1.2's ``smoothgrad`` analyzer ignores its
``noise_scale`` (its noise layer is built with the default standard deviation 1) and draws
unseeded noise, so here iNNvestigate's ``gradient`` analyzer runs on the noisy copies that
:func:`geoxai.xai.numpy_backend.smoothgrad_noise` draws from the explicit seed: the same noise
the numpy backend uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from geoxai.core.errors import GeoxaiError
from geoxai.xai.numpy_backend import baseline_of, smoothgrad_noise
from geoxai.xai.rules import Rule


def _analyze(analyzer, inputs: np.ndarray, samples_per_call: int, **options) -> np.ndarray:
    relevance = np.empty(inputs.shape, dtype=np.float32)
    for start in range(0, len(inputs), samples_per_call):
        block = slice(start, start + samples_per_call)
        relevance[block] = analyzer.analyze(inputs[block], **options)
    return relevance


def _smoothgrad(logit_model, inputs, winner, parameters, batch_size, seed) -> np.ndarray:
    import innvestigate

    copies = int(parameters["samples"])
    scale = float(parameters["noise_scale"])
    analyzer = innvestigate.create_analyzer("gradient", logit_model, neuron_selection_mode="index")
    relevance = np.empty(inputs.shape, dtype=np.float32)
    per_call = max(1, batch_size // copies)  # samples per call: batch_size rows of noisy copies
    for start in range(0, len(inputs), per_call):
        rows = range(start, min(start + per_call, len(inputs)))
        noisy = np.concatenate([
            inputs[row] + smoothgrad_noise(seed, row, copies, inputs.shape[1], scale)
            for row in rows
        ])
        gradients = analyzer.analyze(noisy, neuron_selection=np.repeat(winner[rows.start:rows.stop], copies))
        relevance[rows.start:rows.stop] = np.asarray(gradients).reshape(len(rows), copies, -1).mean(axis=1)
    return relevance



def _without_softmax(innvestigate, model):
    """The model up to its logits; a model that ends in a linear output (the benchmark's
    regression network) already is that, and iNNvestigate refuses to strip what is not there."""
    last = model.layers[-1].get_config().get("activation")
    return innvestigate.model_wo_softmax(model) if last == "softmax" else model


def explain_innvestigate(model, inputs: np.ndarray, rule: Rule, parameters: Mapping[str, Any],
                         batch_size: int, seed: int = 0, grid=None):
    """(relevance, explained class, explained logit) of every row of ``inputs``."""
    import innvestigate

    if rule.analyzer is None:
        raise GeoxaiError(f"iNNvestigate has no analyzer for rule {rule.label!r}: use numpy")
    logit_model = _without_softmax(innvestigate, model)
    logits = np.asarray(logit_model.predict(inputs, batch_size=batch_size, verbose=0))
    winner = np.argmax(logits, axis=1)
    winning_logit = logits[np.arange(len(inputs)), winner]
    if rule.kind == "smoothed":
        relevance = _smoothgrad(logit_model, inputs, winner, parameters, batch_size, seed)
        return relevance, winner, winning_logit
    options: dict[str, Any] = {}
    per_call = batch_size
    if rule.uses_epsilon:
        options["epsilon"] = float(parameters["epsilon"])
    if rule.kind == "integrated":
        steps = int(parameters["steps"])
        baseline = parameters["baseline"]
        options["steps"] = steps
        options["reference_inputs"] = (
            0.0 if isinstance(baseline, str) else baseline_of(parameters, inputs.shape[1])[None, :]
        )
        per_call = max(1, batch_size // steps)  # iNNvestigate holds steps copies of each
    analyzer = innvestigate.create_analyzer(rule.analyzer, logit_model, **options)
    return _analyze(analyzer, inputs, per_call), winner, winning_logit
