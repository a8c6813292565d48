"""The paper's classifier: dense ReLU layers with L2 penalties, trained per seed, saved as HDF5.

TensorFlow runs in graph mode (eager execution off) in every geoxai process: iNNvestigate needs it,
and a model must be built in the same mode it is analysed in (docs/stack.md). The mode, the thread count
and oneDNN are fixed in :func:`configure_tensorflow` before the first model exists, which is also
what makes a seed reproduce bit for bit.
"""

from __future__ import annotations

import itertools
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geoxai.core.errors import GeoxaiError
from geoxai.core.progress import report
from geoxai.core.settings import settings_from_section

_CONFIGURED_THREADS: int | None = None

#: Warnings that TensorFlow/Keras/iNNvestigate raise on every run in graph mode, about their own
#: internals or about choices geoxai makes on purpose (graph mode, legacy HDF5: docs/stack.md).
#: Each is (category, message regex); anything else still shows.
TENSORFLOW_NOISE: tuple[tuple[type[Warning], str], ...] = (
    (UserWarning, r"`Model\.state_updates` will be removed"),
    (UserWarning, r"`layer\.updates` will be removed"),
    (UserWarning, r"`layer\.apply` is deprecated"),
    (UserWarning, r"You are saving your model as an HDF5 file"),
    (DeprecationWarning, r"ml_dtypes\.float8_e4m3b11 is deprecated"),
    (DeprecationWarning, r"non-integer arguments to randrange\(\) have been deprecated"),
    (DeprecationWarning, r"`np\.bool8` is a deprecated alias"),
)
#: Lines of TensorFlow's (and absl's) Python logging that only announce deprecations: the
#: ``tf.compat.v1`` notices ("The name tf.x is deprecated. Please use tf.compat.v1.x"),
#: "... is deprecated and will be removed in a future version. Instructions for updating: ...".
TENSORFLOW_LOG_NOISE = (
    "is deprecated and will be removed",
    "Instructions for updating",
    "is deprecated. Please use tf.compat.v1",
    "Please use tf.compat.v1",
    "`lr` is deprecated in Keras optimizer",
)


class _DeprecationNotices(logging.Filter):
    """Drops TensorFlow's deprecation notices from its loggers; passes every other record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in TENSORFLOW_LOG_NOISE)


def quiet_tensorflow() -> None:
    """Silence the deprecation noise of TensorFlow, Keras and absl (only that; see
    :data:`TENSORFLOW_NOISE`). Idempotent; repeated because ``warnings.catch_warnings``
    blocks (pytest runs every test in one) restore the filters on exit."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ INFO/WARNING lines (oneDNN, TRT)
    for category, pattern in TENSORFLOW_NOISE:
        warnings.filterwarnings("ignore", message=pattern, category=category)
    for name in ("tensorflow", "absl", "keras"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DeprecationNotices) for f in logger.filters):
            logger.addFilter(_DeprecationNotices())


def configure_tensorflow(threads: int = 1):
    """Import TensorFlow in graph mode with a fixed thread count; return the module.

    Safe to call more than once with the same thread count. TensorFlow's deprecation noise is
    silenced (:func:`quiet_tensorflow`).
    """
    global _CONFIGURED_THREADS
    quiet_tensorflow()
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import tensorflow as tf

    quiet_tensorflow()  # again: importing TensorFlow may have set up its loggers

    if _CONFIGURED_THREADS is None:
        tf.compat.v1.disable_eager_execution()
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            pass  # the runtime already started in this process; keep its threads
        _CONFIGURED_THREADS = threads
    return tf


@dataclass(frozen=True)
class ModelSettings:
    """Architecture of the classifier (docs/science.md, Application 1)."""

    hidden_units: tuple[int, ...] = (8, 8)
    l2: tuple[float, ...] = (25.0, 0.01, 0.01)
    initializer: str = "he_normal"

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> ModelSettings:
        settings = settings_from_section(cls, section, "model")
        if len(settings.l2) != len(settings.hidden_units) + 1:
            raise GeoxaiError(
                f"config key model.l2 has {len(settings.l2)} values but the network has "
                f"{len(settings.hidden_units) + 1} dense layers (model.hidden_units + output): "
                "give one L2 factor per dense layer"
            )
        return settings


@dataclass(frozen=True)
class TrainingSettings:
    optimizer: str = "sgd"
    learning_rate: float = 0.01
    schedule: str = "halve"
    halve_after_epoch: int = 50
    batch_size: int = 32
    epochs: int = 100
    class_weights: str = "balanced"
    threads: int = 1

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> TrainingSettings:
        settings = settings_from_section(cls, section, "training")
        if settings.schedule not in {"halve", "constant"}:
            raise GeoxaiError(f"config key training.schedule is {settings.schedule!r}: use 'halve' or 'constant'")
        if settings.optimizer not in {"sgd", "adam"}:
            raise GeoxaiError(f"config key training.optimizer is {settings.optimizer!r}: use 'sgd' or 'adam'")
        return settings


#: Layer names are explicit: reloading an .h5 with default names breaks iNNvestigate (docs/stack.md).
LOGITS_LAYER = "logits"
SOFTMAX_LAYER = "softmax"


def hidden_layer_name(position: int) -> str:
    return f"hidden_{position + 1}"


def build_model(n_features: int, n_classes: int = 2, settings: ModelSettings = ModelSettings(),
                softmax: bool = True):
    """Dense(ReLU) layers → Dense logits → softmax, with per-layer L2 penalties.

    ``softmax=False`` ends at the linear logits layer: with ``n_classes=1`` that is a regression
    network with one linear output (the attribution benchmark, :mod:`geoxai.xai.benchmark`).
    """
    tf = configure_tensorflow()
    layers = tf.keras.layers
    regularizers = tf.keras.regularizers
    inputs = layers.Input(shape=(n_features,), name="sst_anomaly")
    x = inputs
    for position, (units, l2) in enumerate(zip(settings.hidden_units, settings.l2)):
        x = layers.Dense(
            units, activation="relu", kernel_initializer=settings.initializer,
            kernel_regularizer=regularizers.l2(l2),
            name=hidden_layer_name(position),
        )(x)
    logits = layers.Dense(
        n_classes, activation=None, kernel_initializer=settings.initializer,
        kernel_regularizer=regularizers.l2(settings.l2[-1]),
        name=LOGITS_LAYER,
    )(x)
    if not softmax:
        return tf.keras.Model(inputs, logits, name="geoxai_regressor")
    probabilities = layers.Activation("softmax", name=SOFTMAX_LAYER)(logits)
    return tf.keras.Model(inputs, probabilities, name="geoxai_classifier")


def class_weights(labels: np.ndarray, n_classes: int, mode: str = "balanced") -> dict[int, float]:
    """max(count)/count per class (the tutorial's weighting), or all ones."""
    counts = np.bincount(labels, minlength=n_classes)
    if mode == "none":
        return {c: 1.0 for c in range(n_classes)}
    if np.any(counts == 0):
        missing = [c for c in range(n_classes) if counts[c] == 0]
        raise GeoxaiError(f"class(es) {missing} have no training samples: cannot weight or learn them")
    return {c: float(counts.max() / counts[c]) for c in range(n_classes)}


#: A training progress line every this many epochs (and after the first and the last).
PROGRESS_EVERY_EPOCHS = 10


def epoch_progress_callback(tf, what: str, epochs: int, every: int = PROGRESS_EVERY_EPOCHS):
    """A Keras callback writing ``[geoxai] <what>: epoch e/E loss ... accuracy ... val_loss ...
    val_accuracy ... lr ...`` after the first epoch, every ``every`` epochs and the last.

    It only reads the logs Keras hands it (and the learning rate, which the scheduler put in
    them or which is read from the optimizer's variable): no random draw, no graph change, so the
    trained weights are bit for bit those of a run without it.
    """

    class EpochProgress(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            done = epoch + 1
            if done != 1 and done % every and done != epochs:
                return
            logs = dict(logs or {})
            rate = logs.pop("lr", logs.pop("learning_rate", None))
            if rate is None:
                rate = tf.keras.backend.get_value(self.model.optimizer.learning_rate)
            numbers = [f"{name} {float(value):.4f}" for name, value in logs.items()
                       if name in ("loss", "accuracy", "val_loss", "val_accuracy")]
            report(what, f"epoch {done}/{epochs} " + " ".join(numbers) + f" lr {float(rate):g}")

    return EpochProgress()


@dataclass
class TrainingResult:
    model: Any
    history: dict[str, list[float]] = field(default_factory=dict)


def train_model(
    inputs_train: np.ndarray,
    labels_train: np.ndarray,
    inputs_validation: np.ndarray,
    labels_validation: np.ndarray,
    seed: int,
    model_settings: ModelSettings = ModelSettings(),
    training: TrainingSettings = TrainingSettings(),
    n_classes: int = 2,
    progress: bool = True,
) -> TrainingResult:
    """Train one network; the same seed, data and settings give bitwise the same weights.

    ``progress``: a line every :data:`PROGRESS_EVERY_EPOCHS` epochs on stdout (the job log),
    which does not change the weights.
    """
    tf = configure_tensorflow(training.threads)
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()

    model = build_model(inputs_train.shape[1], n_classes, model_settings)
    optimizers = tf.keras.optimizers.legacy
    optimizer = (
        optimizers.SGD(learning_rate=training.learning_rate)
        if training.optimizer == "sgd"
        else optimizers.Adam(learning_rate=training.learning_rate)
    )
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])

    def learning_rate(epoch: int, current: float) -> float:
        if training.schedule == "halve" and epoch >= training.halve_after_epoch:
            return training.learning_rate * 0.5
        return training.learning_rate

    history = model.fit(
        inputs_train,
        tf.keras.utils.to_categorical(labels_train, n_classes),
        validation_data=(
            inputs_validation, tf.keras.utils.to_categorical(labels_validation, n_classes)
        ),
        batch_size=training.batch_size,
        epochs=training.epochs,
        shuffle=True,
        class_weight=class_weights(labels_train, n_classes, training.class_weights),
        callbacks=[
            tf.keras.callbacks.LearningRateScheduler(learning_rate),
            # After the scheduler, which puts the epoch's learning rate into the logs.
            *([epoch_progress_callback(tf, f"train seed {int(seed)}", training.epochs)]
              if progress else []),
        ],
        verbose=0,
    )
    return TrainingResult(
        model=model,
        history={key: [float(v) for v in values] for key, values in history.history.items()},
    )


def save_model(model, path: str | Path) -> None:
    """Legacy HDF5: in graph mode the .keras format reloads wrong weights silently (docs/stack.md)."""
    from geoxai.core.provenance import atomic_output

    with atomic_output(path, suffix=".part.h5") as tmp:
        model.save(tmp, save_format="h5", include_optimizer=False)


def _on_grid(network, path: Path, n_features: int | None):
    """``network`` (Keras or h5py-read) when it takes ``n_features`` inputs; else a clear error."""
    expected = network.input_shape[-1]
    if n_features is not None and expected != n_features:
        raise GeoxaiError(
            f"model file {path} takes {expected} inputs but the anomaly grid has {n_features} "
            "cells: the model was trained on another grid; delete it and retrain"
        )
    return network


def load_model(path: str | Path, n_features: int | None = None):
    """Reload a saved classifier; check that it takes ``n_features`` inputs when given."""
    tf = configure_tensorflow()
    path = Path(path)
    if not path.exists():
        raise GeoxaiError(f"model file {path} does not exist: run the train rule first")
    try:
        model = tf.keras.models.load_model(path, compile=False)
    except (OSError, ValueError) as error:
        raise GeoxaiError(f"model file {path} cannot be read ({error}): delete it and retrain") from error
    return _on_grid(model, path, n_features)


def predict_probabilities(model, inputs: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    if isinstance(model, DenseNetwork):
        return model.predict(inputs)
    return np.asarray(model.predict(inputs, batch_size=batch_size, verbose=0))


@dataclass(frozen=True)
class DenseLayerWeights:
    """One dense layer of a saved network: float32 kernel (in, out), bias (out,), activation."""

    name: str
    kernel: np.ndarray
    bias: np.ndarray
    activation: str


@dataclass(frozen=True)
class DenseNetwork:
    """A saved classifier as plain arrays, read from its HDF5 file without TensorFlow.

    What the numpy explanation backend and backwards optimization need: importing TensorFlow
    and rebuilding the Keras model cost a job seconds, far more than the work itself.
    """

    path: str
    name: str
    layers: tuple[DenseLayerWeights, ...]
    softmax: bool  # the network ends in a softmax after the last dense layer

    @property
    def input_shape(self) -> tuple[None, int]:
        return (None, int(self.layers[0].kernel.shape[0]))

    def predict(self, inputs: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The network's outputs (probabilities with a softmax, else the last layer's), float32."""
        outputs = []
        for start in range(0, len(inputs), batch_size):
            activations = np.asarray(inputs[start:start + batch_size], dtype=np.float32)
            for layer in self.layers:
                activations = activations @ layer.kernel + layer.bias
                if layer.activation == "relu":
                    activations = np.maximum(activations, 0)
            if self.softmax:
                activations = np.exp(activations - activations.max(axis=1, keepdims=True))
                activations /= activations.sum(axis=1, keepdims=True)
            outputs.append(activations)
        width = self.layers[-1].kernel.shape[1]
        return np.concatenate(outputs) if outputs else np.zeros((0, width), np.float32)


#: Layers of a saved network that :func:`load_network` reads, and the activations it knows.
_NETWORK_LAYERS = {"InputLayer", "Dense", "Activation"}
_NETWORK_ACTIVATIONS = {"relu", "linear", "softmax"}


def _layer_chain(config: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    """The layers of a Keras 2 Sequential or Functional ``model_config``, from input to output,
    following each layer's inbound node (a plain chain; anything else is refused)."""
    layers = config.get("config", {}).get("layers", [])
    unsupported = sorted({layer.get("class_name") for layer in layers} - _NETWORK_LAYERS)
    if config.get("class_name") not in ("Functional", "Model", "Sequential") or unsupported:
        raise GeoxaiError(
            f"model file {path} holds a {config.get('class_name')} with layers {unsupported}: "
            "the numpy code reads only chains of Dense layers (geoxai.learn.models.build_model); "
            "use explain.backend: innvestigate for other networks"
        )
    if config["class_name"] == "Sequential":
        return [layer for layer in layers if layer["class_name"] != "InputLayer"]
    by_name = {layer["config"]["name"]: layer for layer in layers}
    following: dict[str, str] = {}
    for layer in layers:
        for node in layer.get("inbound_nodes", []):
            if len(node) != 1:
                raise GeoxaiError(f"model file {path}: layer {layer['config']['name']!r} has "
                                  f"{len(node)} inputs; use explain.backend: innvestigate")
            following[node[0][0]] = layer["config"]["name"]
    (start,) = [name for name, layer in by_name.items() if layer["class_name"] == "InputLayer"]
    chain = []
    while start in following:
        start = following[start]
        chain.append(by_name[start])
    return chain


def load_network(path: str | Path, n_features: int | None = None) -> DenseNetwork:
    """The dense layers of a classifier saved by :func:`save_model`, read with h5py (no
    TensorFlow); checks that it takes ``n_features`` inputs when given, as :func:`load_model`.

    The layer order comes from the file's ``model_config`` (the graph), the arrays from
    ``model_weights/<layer>/<layer>/kernel:0`` and ``bias:0``, the Keras 2 HDF5 layout.
    """
    import json

    import h5py

    path = Path(path)
    if not path.exists():
        raise GeoxaiError(f"model file {path} does not exist: run the train rule first")
    try:
        with h5py.File(path, "r") as file:
            config = json.loads(file.attrs["model_config"])
            chain = _layer_chain(config, path)
            stored = file["model_weights"]
            layers, softmax = [], False
            for position, layer in enumerate(chain):
                settings = layer["config"]
                activation = settings.get("activation", "linear")
                if activation not in _NETWORK_ACTIVATIONS or (
                    activation == "softmax" and position != len(chain) - 1
                ):
                    raise GeoxaiError(
                        f"model file {path}: layer {settings['name']!r} has activation "
                        f"{activation!r}; the numpy code needs ReLU hidden layers, a linear "
                        "logits layer and an optional final softmax: use explain.backend: "
                        "innvestigate for other networks"
                    )
                if activation == "softmax":
                    softmax = True
                    if layer["class_name"] == "Activation":
                        continue
                    activation = "linear"  # a Dense layer with a softmax: logits, then softmax
                if layer["class_name"] != "Dense":
                    raise GeoxaiError(f"model file {path}: layer {settings['name']!r} is an "
                                      f"{layer['class_name']} with activation {activation!r}; "
                                      "use explain.backend: innvestigate")
                group = stored[settings["name"]]
                names = [name.decode() if isinstance(name, bytes) else str(name)
                         for name in group.attrs["weight_names"]]
                arrays = {name.rsplit("/", 1)[-1].split(":")[0]: group[name][()] for name in names}
                if "bias" not in arrays:
                    raise GeoxaiError(f"model file {path}: layer {settings['name']!r} has no "
                                      "bias; the numpy code needs biases on every dense layer")
                layers.append(DenseLayerWeights(
                    settings["name"], np.ascontiguousarray(arrays["kernel"], dtype=np.float32),
                    np.asarray(arrays["bias"], dtype=np.float32), activation))
    except (OSError, KeyError, ValueError) as error:
        raise GeoxaiError(f"model file {path} cannot be read ({error!r}): delete it and "
                          "retrain") from error
    if not layers:
        raise GeoxaiError(f"model file {path} has no dense layers: delete it and retrain")
    for before, after in itertools.pairwise(layers):
        if before.kernel.shape[1] != after.kernel.shape[0]:
            raise GeoxaiError(f"model file {path}: layer {after.name!r} takes "
                              f"{after.kernel.shape[0]} inputs but {before.name!r} gives "
                              f"{before.kernel.shape[1]}: delete it and retrain")
    network = DenseNetwork(str(path), config.get("config", {}).get("name", path.stem),
                           tuple(layers), softmax)
    return _on_grid(network, path, n_features)
