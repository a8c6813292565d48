"""Per-sample similarity of relevance maps: Spearman rank correlation and the overlap of the most
relevant cells, and their agreement between the networks of different seeds.

The composites (:mod:`geoxai.xai.composites`) compare seeds after averaging many samples; here
each sample's own map is compared, which is what a case study shows a reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.stats import rankdata

from geoxai.core.errors import GeoxaiError


def spearman_rows(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each row of ``first`` with the same row of ``second``
    (samples, cells): Pearson r of the ranks, ties ranked by their average. NaN where a row is
    constant (it has no ranking)."""
    first, second = np.atleast_2d(first), np.atleast_2d(second)
    if first.shape != second.shape:
        raise GeoxaiError(f"maps of shapes {first.shape} and {second.shape} cannot be compared")
    a = rankdata(first, axis=1)
    b = rankdata(second, axis=1)
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=1) / denominator, np.nan)


def top_sets(maps: np.ndarray, fraction: float) -> np.ndarray:
    """(samples, cells) bool: the ``ceil(fraction * cells)`` cells of largest |relevance| per row
    (ties broken by position)."""
    maps = np.atleast_2d(maps)
    k = max(1, int(np.ceil(fraction * maps.shape[1] - 1e-9)))
    order = np.argsort(-np.abs(maps), axis=1, kind="stable")[:, :k]
    chosen = np.zeros(maps.shape, dtype=bool)
    np.put_along_axis(chosen, order, True, axis=1)
    return chosen


def top_overlap(first: np.ndarray, second: np.ndarray, fraction: float) -> np.ndarray:
    """Per row, the fraction of the top ``fraction`` cells (by |relevance|) the two maps share:
    1 for identical rankings, about ``fraction`` for independent ones."""
    a, b = top_sets(first, fraction), top_sets(second, fraction)
    return (a & b).sum(axis=1) / a.sum(axis=1)


@dataclass
class SeedAgreement:
    pairs: list[tuple[int, int]]  # positions in the seed axis
    spearman: np.ndarray  # (pairs, samples)
    top_overlap: np.ndarray  # (pairs, samples)
    both_top: np.ndarray  # (cells,): fraction of pairs with the cell in both top sets, mean over samples


def seed_agreement(maps: np.ndarray, fraction: float) -> SeedAgreement:
    """``maps`` (seeds, samples, cells): every pair of seeds compared sample by sample."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3 or maps.shape[0] < 2:
        raise GeoxaiError(f"seed agreement needs maps of at least two seeds, got shape {maps.shape}: "
                          "give two or more seeds in the config key `seeds`")
    pairs = list(combinations(range(maps.shape[0]), 2))
    tops = np.stack([top_sets(m, fraction) for m in maps])  # (seeds, samples, cells)
    spearman = np.stack([spearman_rows(maps[i], maps[j]) for i, j in pairs])
    overlap = np.stack([(tops[i] & tops[j]).sum(axis=1) / tops[i].sum(axis=1) for i, j in pairs])
    in_top = tops.sum(axis=0).astype(np.float64)  # seeds with the cell in their top set
    both = (in_top * (in_top - 1) / 2).mean(axis=0) / len(pairs)
    return SeedAgreement(pairs, spearman, overlap, both)
