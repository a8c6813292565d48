"""Tests the evaluation steps share: a one-sided binomial test against chance, and the
Benjamini–Hochberg control of the false discovery rate over many such tests (Wilks 2016); and the
red-noise (AR(1)) series both synthetic sources draw."""

from __future__ import annotations

import math

import numpy as np


def binomial_p_value(successes: int, trials: int, chance: float) -> float:
    """P(X ≥ successes) for X ~ Binomial(trials, chance): how often chance alone does as well."""
    from scipy.stats import binom

    if trials <= 0:
        return float("nan")
    return float(binom.sf(int(successes) - 1, int(trials), float(chance)))


def false_discovery_rate(p_values: np.ndarray, q: float = 0.05) -> np.ndarray:
    """Which tests are significant with the false discovery rate held at ``q``
    (Benjamini & Hochberg 1995): the largest k with p_(k) ≤ q·k/m, and every p at or below it.
    NaN p-values are never significant and do not count among the m tests."""
    p = np.asarray(p_values, dtype=float)
    significant = np.zeros(p.shape, dtype=bool)
    finite = np.isfinite(p)
    m = int(finite.sum())
    if m == 0:
        return significant
    ordered = np.sort(p[finite])
    below = ordered <= q * np.arange(1, m + 1) / m
    if below.any():
        cutoff = ordered[np.nonzero(below)[0].max()]
        significant[finite] = p[finite] <= cutoff
    return significant


def ar1(rng: np.random.Generator, phi: float, shape: int | tuple[int, ...]) -> np.ndarray:
    """Stationary unit-variance AR(1) series along the first axis of ``shape`` (time first);
    the other axes are independent series. One draw of all shocks, then the recursion in place
    (the shocks' array becomes the series: no second array of the full size)."""
    series = rng.standard_normal(shape)
    scale = math.sqrt(1 - phi * phi)
    for t in range(1, len(series)):
        series[t] *= scale
        series[t] += phi * series[t - 1]
    return series
