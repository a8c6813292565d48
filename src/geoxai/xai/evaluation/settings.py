"""The ``evaluation`` config section: every default of the sanity checks, the deletion curves and
the per-sample seed agreement lives here (the schema and config/README.md repeat them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from geoxai.core.errors import GeoxaiError
from geoxai.core.settings import settings_from_section

SECTION = "evaluation"


@dataclass(frozen=True)
class EvaluationSettings:
    """``samples``: labelled samples explained (drawn without replacement with ``seed``; all of
    them when there are fewer). ``survival_threshold``: a method whose median Spearman correlation
    (of the signed or of the absolute maps) with the trained network's explanation stays at or
    above it after a randomisation is flagged ``survives_randomisation``. ``deletion_step``: the
    fraction of the ocean area removed per step of the deletion curves. ``random_orders``: random
    rankings averaged for the deletion baseline. ``top_fraction``: the most relevant fraction of
    ocean cells (by |relevance|) compared between seeds. ``seed``: of the sample draw, the
    randomised layers, the shuffled labels, the replacement draws and the random orders.
    ``threads``: TensorFlow threads. ``backend``: the explanation backend of the sanity checks;
    None takes ``explain.backend``. The numpy backend, held equal to iNNvestigate by the tests,
    explains each randomised network in milliseconds where iNNvestigate builds a graph per
    network and method (about 9 s for the ten methods of the demo)."""

    samples: int = 200
    survival_threshold: float = 0.5
    deletion_step: float = 0.05
    random_orders: int = 5
    top_fraction: float = 0.1
    seed: int = 0
    threads: int = 1
    backend: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.samples < 1:
            problems.append(("samples", f"is {self.samples}: explain at least one sample"))
        if not 0 < self.deletion_step <= 1:
            problems.append(("deletion_step", f"is {self.deletion_step}: give a fraction in (0, 1]"))
        if not 0 < self.top_fraction <= 1:
            problems.append(("top_fraction", f"is {self.top_fraction}: give a fraction in (0, 1]"))
        if self.random_orders < 1:
            problems.append(("random_orders", f"is {self.random_orders}: give at least one"))
        if self.threads < 1:
            problems.append(("threads", f"is {self.threads}: give at least one"))
        if self.backend not in (None, "innvestigate", "numpy"):
            problems.append(("backend", f"is {self.backend!r}: use innvestigate, numpy or null"))
        if problems:
            key, text = problems[0]
            raise GeoxaiError(f"config key {SECTION}.{key} {text}")

    @classmethod
    def from_config(cls, section: dict[str, Any] | None) -> EvaluationSettings:
        return settings_from_section(cls, dict(section or {}), SECTION)

    def fractions(self) -> np.ndarray:
        """Area fractions removed along a deletion curve: 0, step, 2 step, ..., 1."""
        steps = int(np.ceil(1.0 / self.deletion_step - 1e-9))
        return np.minimum(np.arange(steps + 1) * self.deletion_step, 1.0)


def explained_subset(n: int, samples: int, seed: int) -> np.ndarray:
    """Sorted positions of the samples explained: ``samples`` of ``n`` drawn with ``seed``."""
    if samples >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=samples, replace=False))
