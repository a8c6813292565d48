"""The classifier: the paper's size, bitwise determinism per seed, faithful reload in a new process."""

import hashlib
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from geoxai.core.errors import GeoxaiError
from geoxai.learn.models import (
    ModelSettings,
    TrainingSettings,
    build_model,
    class_weights,
    load_model,
)

TRAIN_SCRIPT = textwrap.dedent("""
    import hashlib, json, sys
    import numpy as np
    from geoxai.learn.models import configure_tensorflow, train_model, save_model, TrainingSettings
    configure_tensorflow(1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 50)).astype("float32")
    y = (x[:, :5].sum(axis=1) > 0).astype(int)
    result = train_model(x[:96], y[:96], x[96:], y[96:], seed=int(sys.argv[1]),
                         training=TrainingSettings(epochs=5, batch_size=16))
    save_model(result.model, sys.argv[2])
    weights = b"".join(w.tobytes() for w in result.model.get_weights())
    print(json.dumps({"weights": hashlib.sha256(weights).hexdigest(),
                      "probabilities": result.model.predict(x, verbose=0).tolist()}))
""")

RELOAD_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from geoxai.learn.models import configure_tensorflow, load_model
    configure_tensorflow(1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 50)).astype("float32")
    print(json.dumps(load_model(sys.argv[1], 50).predict(x, verbose=0).tolist()))
""")


def run(script, *args):
    out = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_paper_network_has_518498_parameters():
    assert build_model(64800).count_params() == 518_498


def test_same_seed_same_weights_other_seed_differs_and_reload_is_exact(tmp_path):
    first = run(TRAIN_SCRIPT, 7, tmp_path / "a.h5")
    second = run(TRAIN_SCRIPT, 7, tmp_path / "b.h5")
    other = run(TRAIN_SCRIPT, 8, tmp_path / "c.h5")
    assert first["weights"] == second["weights"]
    assert first["weights"] != other["weights"]
    reloaded = run(RELOAD_SCRIPT, tmp_path / "a.h5")
    np.testing.assert_array_equal(np.array(reloaded), np.array(first["probabilities"]))
    digest = [hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in ("a.h5", "b.h5")]
    assert digest[0] == digest[1]


def test_model_for_another_grid_is_a_clear_error(tmp_path):
    from geoxai.learn.models import save_model

    save_model(build_model(30), tmp_path / "m.h5")
    with pytest.raises(GeoxaiError, match="takes 30 inputs but the anomaly grid has 40"):
        load_model(tmp_path / "m.h5", 40)
    (tmp_path / "bad.h5").write_bytes(b"not a model")
    with pytest.raises(GeoxaiError, match="cannot be read"):
        load_model(tmp_path / "bad.h5")


def test_class_weights_follow_the_tutorial():
    weights = class_weights(np.array([0] * 30 + [1] * 10), 2)
    assert weights == {0: 1.0, 1: 3.0}
    with pytest.raises(GeoxaiError, match="no training samples"):
        class_weights(np.zeros(5, int), 2)


def test_bad_settings_name_the_key():
    with pytest.raises(GeoxaiError, match="model.l2"):
        ModelSettings.from_config({"hidden_units": [8, 8], "l2": [1.0]})
    with pytest.raises(GeoxaiError, match="training.schedule"):
        TrainingSettings.from_config({"schedule": "cosine"})


def toy_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 20)).astype("float32")
    return x, (x[:, :3].sum(axis=1) > 0).astype(int)


def test_training_progress_lines_leave_the_weights_unchanged(capsys):
    from geoxai.learn.models import train_model

    x, y = toy_data()
    settings = TrainingSettings(epochs=25, batch_size=16, halve_after_epoch=12)
    quiet = train_model(x[:160], y[:160], x[160:], y[160:], seed=5, training=settings,
                        progress=False)
    quiet_weights = [w.tobytes() for w in quiet.model.get_weights()]  # before the next session
    assert capsys.readouterr().out == ""
    loud = train_model(x[:160], y[:160], x[160:], y[160:], seed=5, training=settings)
    lines = capsys.readouterr().out.splitlines()
    assert [w.tobytes() for w in loud.model.get_weights()] == quiet_weights
    assert loud.history == quiet.history
    epochs = [int(line.split("epoch ")[1].split("/")[0]) for line in lines]
    assert epochs == [1, 10, 20, 25]
    first, *_, last = lines
    assert first.startswith("[geoxai] train seed 5: epoch 1/25 loss ")
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        value = float(last.split(f" {name} ")[1].split(" ")[0])
        assert value == pytest.approx(loud.history[name][-1], abs=1e-4)
    assert first.endswith(" lr 0.01") and last.endswith(" lr 0.005")


def test_training_and_saving_emit_no_tensorflow_deprecation_noise(tmp_path):
    import logging
    import warnings

    from conftest import train_toy_network

    from geoxai.learn.models import save_model

    class Records(logging.Handler):
        def __init__(self):
            super().__init__()
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    records = Records()
    loggers = [logging.getLogger(name) for name in ("tensorflow", "absl")]
    for logger in loggers:
        logger.addHandler(records)
    try:
        with warnings.catch_warnings(record=True) as caught:
            x, y = toy_data(1)
            result = train_toy_network(x, y)
            save_model(result.model, tmp_path / "toy.h5")
            load_model(tmp_path / "toy.h5").predict(x, verbose=0)
            # What TensorFlow's deprecation decorators log (tf.compat.v1 names, removed args):
            loggers[0].warning("From x.py:1: The name tf.placeholder is deprecated. Please use "
                               "tf.compat.v1.placeholder instead.")
            loggers[0].warning("From x.py:2: calling Zeros.__init__ (from tensorflow.python.ops."
                               "init_ops) with dtype is deprecated and will be removed in a "
                               "future version.\nInstructions for updating:\nCall initializer")
            loggers[0].warning("a warning that is not about a deprecation")
            warnings.warn("geoxai's own warning", UserWarning, stacklevel=1)
    finally:
        for logger in loggers:
            logger.removeHandler(records)
    messages = [str(w.message) for w in caught]
    noise = ("state_updates", "HDF5 file", "tf.compat.v1", "is deprecated", "randrange")
    assert not [m for m in messages if any(n in m for n in noise)], messages
    assert "geoxai's own warning" in messages  # only the noise is filtered
    assert records.messages == ["a warning that is not about a deprecation"]
