"""The three evaluations over every configured method, as the workflow's steps run them: numpy
arrays in, numpy arrays out (:mod:`geoxai.products.evaluation` writes them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from geoxai.xai.evaluation.faithfulness import (
    anomaly_draws,
    deletion_curves,
    random_orders,
    ranking,
)
from geoxai.xai.evaluation.sanity import similarity

#: explain(network, method) -> relevance (samples, features)
Explainer = Callable[[object, str], np.ndarray]

REPLACEMENTS = ("climatology", "anomaly_draw")


@dataclass
class SanityResult:
    stages: list[str]
    spearman: np.ndarray  # (method, stage, sample)
    spearman_abs: np.ndarray  # (method, stage, sample)


def sanity_similarity(explainer: Explainer, network, stages: Sequence[tuple[str, object]],
                      methods: Sequence[str], cells: np.ndarray) -> SanityResult:
    """Each method's explanation by each randomised network against the trained one's, per
    sample, over ``cells``."""
    reference = {method: explainer(network, method)[:, cells] for method in methods}
    n = next(iter(reference.values())).shape[0] if reference else 0
    shape = (len(methods), len(stages), n)
    spearman, spearman_abs = np.full(shape, np.nan), np.full(shape, np.nan)
    for s, (_, randomised) in enumerate(stages):
        for m, method in enumerate(methods):
            scores = similarity(reference[method], explainer(randomised, method)[:, cells])
            spearman[m, s], spearman_abs[m, s] = scores["spearman"], scores["spearman_abs"]
    return SanityResult([name for name, _ in stages], spearman, spearman_abs)


@dataclass
class FaithfulnessResult:
    fractions: np.ndarray  # (step,)
    curves: np.ndarray  # (method, replacement, sample, step)
    random_curves: np.ndarray  # (replacement, sample, step): mean over random orders
    explained_class: np.ndarray  # (sample,)


def faithfulness_curves(logits: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray,
                        relevance: dict[str, np.ndarray], cells: np.ndarray, area: np.ndarray,
                        fractions: np.ndarray, pool: np.ndarray, n_random: int,
                        seed: int) -> FaithfulnessResult:
    """Deletion curves of every method's ranking and of ``n_random`` random rankings, with each
    cell replaced by the climatology (0) and by a draw from its anomalies across ``pool``. The
    draws are the same for every ranking, so the curves differ only by the order."""
    rng = np.random.default_rng(seed)
    explained = logits(inputs).argmax(axis=1)
    fillers = {"climatology": 0.0, "anomaly_draw": anomaly_draws(pool, len(inputs), rng)}
    methods = list(relevance)
    curves = np.empty((len(methods), len(REPLACEMENTS), len(inputs), len(fractions)))
    random = np.zeros((len(REPLACEMENTS), len(inputs), len(fractions)))
    orders = {m: ranking(relevance[m][:, cells], rng) for m in methods}
    shuffled = [random_orders(len(inputs), len(cells), rng) for _ in range(n_random)]
    for r, name in enumerate(REPLACEMENTS):
        for m, method in enumerate(methods):
            curves[m, r] = deletion_curves(logits, inputs, orders[method], cells, area, fractions,
                                           fillers[name], explained).curves
        for order in shuffled:
            random[r] += deletion_curves(logits, inputs, order, cells, area, fractions,
                                         fillers[name], explained).curves / n_random
    return FaithfulnessResult(np.asarray(fractions, float), curves, random, explained)
