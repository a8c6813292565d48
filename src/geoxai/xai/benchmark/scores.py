"""How close an attribution map is to the exact one: per sample, over the cells of that sample.

All functions take (samples, cells) arrays and return one value per sample. A row that is
constant (an attribution of all zeros, say) has no correlation: its r is NaN, and
:func:`constant_rows` counts such rows so a product can report them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _rows(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return values[None] if values.ndim == 1 else values


def constant_rows(values: np.ndarray) -> np.ndarray:
    """True where a row has (numerically) no spread across cells."""
    values = _rows(values)
    spread = values.max(axis=1) - values.min(axis=1)
    scale = np.abs(values).max(axis=1)
    return ~(spread > 1e-12 * np.where(scale > 0, scale, 1.0))


def pearson_rows(attribution: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Pearson r between each row of ``attribution`` and the same row of ``truth`` (over cells)."""
    a = _rows(attribution)
    t = _rows(truth)
    if a.shape != t.shape:
        raise ValueError(f"attribution {a.shape} and truth {t.shape} differ in shape")
    a = a - a.mean(axis=1, keepdims=True)
    t = t - t.mean(axis=1, keepdims=True)
    numerator = np.einsum("ij,ij->i", a, t)
    denominator = np.sqrt(np.einsum("ij,ij->i", a, a) * np.einsum("ij,ij->i", t, t))
    degenerate = constant_rows(attribution) | constant_rows(truth) | ~(denominator > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = numerator / np.where(degenerate, 1.0, denominator)
    return np.where(degenerate, np.nan, np.clip(r, -1.0, 1.0))


def sign_agreement(attribution: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Fraction of cells where the attribution has the truth's sign; cells with truth 0 ignored.

    An attribution of exactly 0 where the truth is not agrees with neither sign. NaN for a row
    whose truth is 0 everywhere.
    """
    a = _rows(attribution)
    t = _rows(truth)
    counted = t != 0
    agree = (np.sign(a) == np.sign(t)) & counted
    n = counted.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, agree.sum(axis=1) / np.maximum(n, 1), np.nan)


def positive_part(truth: np.ndarray, output_sign: np.ndarray | None = None) -> np.ndarray:
    """max(truth, 0): what a one-signed rule such as α=1, β=0 can match at best.

    With ``output_sign`` (n,), the part of each row that pushes the explained output its own way:
    max(truth, 0) where the output is >= 0, min(truth, 0) where it is negative. α=1, β=0 relevance
    takes the sign of the explained output, so a negative regression output is matched against the
    negative part of its truth.
    """
    truth = _rows(truth)
    if output_sign is None:
        return np.maximum(truth, 0.0)
    sign = np.where(np.asarray(output_sign) < 0, -1.0, 1.0)[:, None]
    return sign * np.maximum(sign * truth, 0.0)


def positive_part_correlation(
    attribution: np.ndarray, truth: np.ndarray, output_sign: np.ndarray | None = None,
) -> np.ndarray:
    """Pearson r between each attribution row and the positive part of its truth row."""
    return pearson_rows(attribution, positive_part(truth, output_sign))


@dataclass(frozen=True)
class Scores:
    """The three per-sample scores of one method, and how many rows had no correlation."""

    correlation: np.ndarray  # (n,)
    sign_agreement: np.ndarray  # (n,)
    positive_part_correlation: np.ndarray  # (n,)
    constant_attribution: int  # rows of the attribution that are constant (r = NaN)
    constant_truth: int  # rows of the truth that are constant
    constant_positive_truth: int  # rows whose positive part is constant (all cells <= 0)


def score(attribution: np.ndarray, truth: np.ndarray, output_sign: np.ndarray | None = None) -> Scores:
    """All scores of one method's attribution against the exact attribution.

    ``output_sign``: the explained outputs (or their signs), for :func:`positive_part`.
    """
    part = positive_part(truth, output_sign)
    return Scores(
        correlation=pearson_rows(attribution, truth),
        sign_agreement=sign_agreement(attribution, truth),
        positive_part_correlation=pearson_rows(attribution, part),
        constant_attribution=int(constant_rows(attribution).sum()),
        constant_truth=int(constant_rows(truth).sum()),
        constant_positive_truth=int(constant_rows(part).sum()),
    )
