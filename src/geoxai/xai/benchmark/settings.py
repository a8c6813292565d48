"""The ``attribution_benchmark`` settings: every default of the benchmark lives here.

The defaults were measured (docs/attribution_benchmark.md): on one core a demo-size run (a 4°
field, 20,000 samples) takes about 11 s and fits with held-out R² 0.953, just above
:attr:`BenchmarkSettings.min_fit`; a paper-size one (100,000 samples from a 1° field) about 70 s,
R² 0.974. Fields of more independent cells need more samples to fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from geoxai.core.errors import GeoxaiError
from geoxai.core.settings import settings_from_section

SECTION = "attribution_benchmark"
TASKS = ("regression", "classification")


@dataclass(frozen=True)
class BenchmarkSettings:
    """How the synthetic benchmark is built, which network learns it and how it is scored.

    ``grid_degrees``: spacing of the coarse grid the inputs live on (every k-th cell of the
    anomaly grid, see :func:`geoxai.xai.benchmark.truth.coarse_cells`).
    ``samples``: N, the number of synthetic input maps drawn from MVN(0, S).
    ``train_fraction``: the first part of the samples trains, the rest is held out (fit score,
    explained samples).
    ``n_explain``: held-out samples explained and scored per method.
    ``breakpoints``: random breakpoints of each cell's piecewise-linear response, besides the fixed
    one at 0 (``breakpoints + 2`` slopes per cell).
    ``task``: ``regression`` (linear output, MSE) or ``classification`` (y > threshold, softmax).
    ``threshold``: the classification threshold on y; ``None`` takes the median of y (balanced).
    ``hidden_units``, ``l2``, ``epochs``, ``batch_size``, ``learning_rate``: the network (dense
    ReLU layers, Adam) and its training.
    ``seed``: one seed for the field draws and the network.
    ``min_fit``: held-out R² (regression) or accuracy (classification) the network must reach.
    ``fail_on_poor_fit``: raise a GeoxaiError when it does not (else the product is flagged).
    ``positive_part_methods``: methods scored against the positive part of the truth (α1β0
    relevance is one-signed); names not run are ignored.
    ``eigenvalue_floor``: eigenvalues of the correlation matrix are clipped to this fraction of the
    largest one, so S is positive definite even when cells outnumber months.
    ``threads``: TensorFlow threads.
    ``applications``: the applications whose ``anomalies.nc`` gives S (one benchmark each).
    ``methods``: the explanation methods scored (keys of :data:`geoxai.xai.rules.RULES`).
    """

    grid_degrees: float = 10.0
    samples: int = 20_000
    train_fraction: float = 0.8
    n_explain: int = 1_000
    breakpoints: int = 4
    task: str = "regression"
    threshold: float | None = None
    hidden_units: tuple[int, ...] = (1024,)
    l2: float = 0.0
    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 0
    min_fit: float = 0.95
    fail_on_poor_fit: bool = False
    positive_part_methods: tuple[str, ...] = ("alpha_1_beta_0", "alpha_1_beta_0_bias")
    eigenvalue_floor: float = 1e-6
    threads: int = 1
    #: the workflow's side: whose anomaly files give S, and which methods are scored
    applications: tuple[str, ...] = ("enso",)
    methods: tuple[str, ...] = (
        "alpha_1_beta_0", "alpha_1_beta_0_bias", "z", "epsilon", "alpha_2_beta_1", "gradient",
        "input_x_gradient", "integrated_gradients", "smoothgrad", "occlusion",
    )

    def __post_init__(self) -> None:
        problems = []
        if self.task not in TASKS:
            problems.append(("task", f"is {self.task!r}: use one of {list(TASKS)}"))
        if not self.grid_degrees > 0:
            problems.append(("grid_degrees", f"is {self.grid_degrees}: give a positive spacing"))
        if not 0 < self.train_fraction < 1:
            problems.append(("train_fraction", f"is {self.train_fraction}: give a fraction in (0, 1)"))
        for key in ("samples", "n_explain", "epochs", "batch_size", "threads"):
            if int(getattr(self, key)) < 1:
                problems.append((key, f"is {getattr(self, key)}: give a positive number"))
        if self.breakpoints < 0:
            problems.append(("breakpoints", f"is {self.breakpoints}: give 0 or more"))
        if any(int(units) < 1 for units in self.hidden_units):
            problems.append(("hidden_units", f"is {self.hidden_units}: give positive widths"))
        if not 0 < self.eigenvalue_floor < 1:
            problems.append(("eigenvalue_floor", f"is {self.eigenvalue_floor}: give a fraction in (0, 1)"))
        if not problems and self.n_explain > self.held_out:
            message = f"is {self.n_explain} but only {self.held_out} samples are held out"
            problems.append(("n_explain", message + ": lower it or raise samples"))
        if problems:
            key, message = problems[0]
            raise GeoxaiError(f"config key {SECTION}.{key} {message}")

    @property
    def n_train(self) -> int:
        return round(self.samples * self.train_fraction)

    @property
    def held_out(self) -> int:
        return self.samples - self.n_train

    @property
    def fit_metric(self) -> str:
        return "r_squared" if self.task == "regression" else "accuracy"

    @classmethod
    def from_config(cls, section: dict[str, Any] | None) -> BenchmarkSettings:
        """From the ``attribution_benchmark`` config section; unknown keys name the section."""
        section = dict(section or {})
        unknown = sorted(set(section) - set(cls.__dataclass_fields__))
        if unknown:
            names = ", ".join(f"{SECTION}.{key}" for key in unknown)
            raise GeoxaiError(
                f"unknown config key(s) {names}; known: {sorted(cls.__dataclass_fields__)}"
            )
        return settings_from_section(cls, section, SECTION)

    def as_attrs(self) -> dict[str, Any]:
        """The settings as netCDF attributes (``setting_<key>``; None and tuples as text)."""
        attrs = {}
        for key in self.__dataclass_fields__:
            value = getattr(self, key)
            if value is None:
                value = "none"
            elif isinstance(value, bool):
                value = int(value)
            elif isinstance(value, tuple):
                value = ", ".join(str(v) for v in value)
            attrs[f"setting_{key}"] = value
        return attrs


#: The defaults, for function signatures.
DEFAULT_SETTINGS = BenchmarkSettings()
