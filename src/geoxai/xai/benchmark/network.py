"""The benchmark's network: the workflow's dense ReLU family, fitted to the synthetic response.

Regression: Dense(ReLU) layers → one linear output, mean squared error, on y divided by its
training standard deviation (Adam's steps then suit any field; attributions are scaled back).
Classification: the workflow's classifier (:func:`geoxai.learn.models.train_model`, two logits
and a softmax) on y > threshold. Both keep what the numpy explanation backend needs: ReLU hidden
layers and a linear logits layer with biases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geoxai.core.errors import GeoxaiError
from geoxai.learn.models import (
    ModelSettings,
    TrainingSettings,
    build_model,
    configure_tensorflow,
    train_model,
)
from geoxai.xai.benchmark.settings import DEFAULT_SETTINGS, BenchmarkSettings
from geoxai.xai.benchmark.truth import Benchmark


@dataclass
class FittedNetwork:
    """The trained network and how well it fits the held-out samples."""

    model: Any
    fit: float  # held-out R² (regression) or accuracy (classification)
    fit_metric: str
    fits: bool  # fit >= settings.min_fit
    target_scale: float  # regression: the network learned y / target_scale (1 for classification)
    history: dict[str, list[float]] = field(default_factory=dict)

    @property
    def flag(self) -> str:
        if self.fits:
            return "ok"
        return f"network does not fit: held-out {self.fit_metric} {self.fit:.3f} below the minimum"


def model_settings(settings: BenchmarkSettings) -> ModelSettings:
    hidden = tuple(int(units) for units in settings.hidden_units)
    return ModelSettings(hidden_units=hidden, l2=(float(settings.l2),) * (len(hidden) + 1))


def r_squared(predicted: np.ndarray, observed: np.ndarray) -> float:
    observed = np.asarray(observed, dtype=np.float64)
    residual = np.sum((np.asarray(predicted, dtype=np.float64) - observed) ** 2)
    total = np.sum((observed - observed.mean()) ** 2)
    return float(1.0 - residual / total) if total > 0 else float("nan")


def _fit_regression(benchmark: Benchmark, settings: BenchmarkSettings):
    tf = configure_tensorflow(settings.threads)
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(int(settings.seed))
    tf.config.experimental.enable_op_determinism()
    train, held = slice(0, settings.n_train), slice(settings.n_train, None)
    scale = float(np.std(benchmark.response[train])) or 1.0
    target = (benchmark.response / scale).astype(np.float32)
    model = build_model(benchmark.inputs.shape[1], 1, model_settings(settings), softmax=False)
    model.compile(optimizer=tf.keras.optimizers.legacy.Adam(learning_rate=settings.learning_rate), loss="mse")
    history = model.fit(
        benchmark.inputs[train], target[train], validation_data=(benchmark.inputs[held], target[held]),
        batch_size=settings.batch_size, epochs=settings.epochs, shuffle=True, verbose=0,
    )
    predicted = np.asarray(model.predict(benchmark.inputs[held], batch_size=4096, verbose=0))[:, 0]
    fit = r_squared(predicted, target[held])
    return model, fit, scale, {key: [float(v) for v in values] for key, values in history.history.items()}


def _fit_classification(benchmark: Benchmark, settings: BenchmarkSettings):
    n = settings.n_train
    result = train_model(
        benchmark.inputs[:n], benchmark.labels[:n], benchmark.inputs[n:], benchmark.labels[n:],
        seed=settings.seed, model_settings=model_settings(settings),
        training=TrainingSettings(
            optimizer="adam", learning_rate=settings.learning_rate, schedule="constant",
            batch_size=settings.batch_size, epochs=settings.epochs, threads=settings.threads,
        ),
    )
    probabilities = np.asarray(result.model.predict(benchmark.inputs[n:], batch_size=4096, verbose=0))
    fit = float(np.mean(np.argmax(probabilities, axis=1) == benchmark.labels[n:]))
    return result.model, fit, 1.0, result.history


def fit_network(benchmark: Benchmark, settings: BenchmarkSettings = DEFAULT_SETTINGS) -> FittedNetwork:
    """Train on the first ``train_fraction`` of the samples; score the fit on the rest.

    A network below ``min_fit`` is flagged (:attr:`FittedNetwork.fits`), or refused with a
    GeoxaiError when ``fail_on_poor_fit`` is set: its explanations would be judged against a
    function it never learned.
    """
    if settings.task == "classification" and len(np.unique(benchmark.labels[: settings.n_train])) < 2:
        raise GeoxaiError(
            f"the training samples fall in one class only (threshold {benchmark.threshold}): "
            "set attribution_benchmark.threshold inside the range of y, or leave it unset (median)"
        )
    fitter = _fit_regression if settings.task == "regression" else _fit_classification
    model, fit, scale, history = fitter(benchmark, settings)
    fitted = FittedNetwork(model, fit, settings.fit_metric, bool(fit >= settings.min_fit), scale, history)
    if not fitted.fits and settings.fail_on_poor_fit:
        raise GeoxaiError(
            f"the benchmark network fits the held-out samples with {settings.fit_metric} {fit:.3f}, "
            f"below attribution_benchmark.min_fit = {settings.min_fit}: raise "
            "attribution_benchmark.samples, epochs or hidden_units (or unset fail_on_poor_fit to "
            "write a flagged product)"
        )
    return fitted
