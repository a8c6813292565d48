"""Faithfulness by region perturbation (Samek et al. 2017): deletion curves.

Cells are removed in the order a method ranks them (most relevant first), in steps of a fixed
fraction of the ocean *area* (cos(latitude) weights, so that a step removes the same area at every
latitude), and replaced by a reference value: the climatology (anomaly 0) or a draw from the
cell's own anomalies across samples. The curve is the logit of the class that won before anything
was removed; a method whose ranking is faithful makes it fall fast, so its area under the curve
(AUC) is low, and lower than that of random rankings of the same cells.

This is numpy, not Quantus (0.6.0): Quantus is not in the pinned analysis environment and would
bring opencv and scikit-image with it, for a computation of a few lines on dense networks whose
logits numpy evaluates exactly (:func:`logits_of`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from geoxai.core.errors import GeoxaiError


def logits_of(model) -> Callable[[np.ndarray], np.ndarray]:
    """The network's logits as a numpy function of (samples, features) inputs."""
    from geoxai.xai.explain import weights_of

    weights = weights_of(model)

    def forward(inputs: np.ndarray) -> np.ndarray:
        activation = np.asarray(inputs, dtype=np.float64)
        for position, (kernel, bias) in enumerate(weights):
            activation = activation @ kernel + bias
            if position < len(weights) - 1:
                activation = np.maximum(activation, 0.0)
        return activation

    return forward


def ranking(relevance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per row, the cells from most to least relevant (signed: most positive first); equal values
    in random order, so that a map with many zeros does not delete them by position."""
    relevance = np.atleast_2d(relevance)
    tie_break = rng.random(relevance.shape)
    return np.lexsort((tie_break, -relevance), axis=-1) if relevance.size else relevance.astype(int)


@dataclass
class DeletionCurves:
    fractions: np.ndarray  # (steps,) area fraction removed
    curves: np.ndarray  # (samples, steps) explained logit

    @property
    def auc(self) -> np.ndarray:
        """Per sample, the area under the curve over the removed area fraction (0..1)."""
        return np.trapz(self.curves, self.fractions, axis=1)


def deletion_curves(logits: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray,
                    order: np.ndarray, cells: np.ndarray, area: np.ndarray,
                    fractions: np.ndarray, replacement: np.ndarray | float = 0.0,
                    explained_class: np.ndarray | None = None) -> DeletionCurves:
    """Deletion curves of ``inputs`` (samples, features).

    ``cells``: the features that may be removed (ocean cells); ``area``: their weights (any
    scale); ``order`` (samples, len(cells)): positions into ``cells``, first removed first.
    At fraction f the cells of the ranking whose cumulative area is at most f of the total are
    replaced by ``replacement`` (a number, or (samples, features) values). ``explained_class``:
    the logit followed; by default each sample's winning class on the intact input.
    """
    inputs = np.atleast_2d(np.asarray(inputs, dtype=np.float64))
    cells, area = np.asarray(cells), np.asarray(area, dtype=np.float64)
    if order.shape != (len(inputs), len(cells)):
        raise GeoxaiError(f"the ranking has shape {order.shape}, expected {(len(inputs), len(cells))}")
    if cells.size == 0 or area.sum() <= 0:
        raise GeoxaiError("no ocean cell to remove: the ocean mask is empty")
    if explained_class is None:
        explained_class = logits(inputs).argmax(axis=1)
    rows = np.arange(len(inputs))
    filler = np.broadcast_to(np.asarray(replacement, dtype=np.float64), inputs.shape)
    cumulative = np.cumsum(area[order], axis=1) / area.sum()  # (samples, cells) in ranking order
    removed_ranked = np.zeros(order.shape, dtype=bool)
    curves = np.empty((len(inputs), len(fractions)))
    perturbed = inputs.copy()
    for step, fraction in enumerate(fractions):
        now = cumulative <= fraction + 1e-9
        new = now & ~removed_ranked
        removed_ranked = now
        sample_rows, ranked = np.nonzero(new)
        features = cells[order[sample_rows, ranked]]
        perturbed[sample_rows, features] = filler[sample_rows, features]
        curves[:, step] = logits(perturbed)[rows, explained_class]
    return DeletionCurves(np.asarray(fractions, dtype=np.float64), curves)


def anomaly_draws(pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, features): each value drawn from the same feature's values across the ``pool`` samples
    (the cell's own anomaly distribution), independently per sample and cell."""
    pool = np.atleast_2d(pool)
    picks = rng.integers(0, len(pool), size=(n, pool.shape[1]))
    return np.take_along_axis(pool, picks, axis=0)


def random_orders(n: int, n_cells: int, rng: np.random.Generator) -> np.ndarray:
    return np.argsort(rng.random((n, n_cells)), axis=1)
