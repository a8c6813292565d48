"""Backwards optimization: its gradient against TensorFlow's, and what descent does with it."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import train_toy_network

from geoxai.core.errors import GeoxaiError
from geoxai.learn.models import configure_tensorflow
from geoxai.xai.explain import weights_of
from geoxai.xai.optimal_input import loss_and_gradient, optimal_input, target_probability

tf = configure_tensorflow(threads=1)  # graph mode before any model exists (docs/stack.md)

N_FEATURES = 60
SIGNAL = slice(0, 10)  # class 1 is warm here, class 0 cold


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    inputs = rng.normal(size=(200, N_FEATURES)).astype(np.float32)
    inputs[:, SIGNAL] += (2.0 * labels - 1.0)[:, None]
    result = train_toy_network(inputs, labels)
    assert result.history["val_accuracy"][-1] >= 0.9
    return result.model


def tensorflow_loss_and_gradient(model, x, target_class, l2_penalty):
    backend = tf.compat.v1.keras.backend
    placeholder = tf.compat.v1.placeholder(tf.float32, shape=(1, N_FEATURES))
    probabilities = model(placeholder)
    loss = -tf.math.log(probabilities[0, target_class]) + l2_penalty * tf.reduce_sum(
        placeholder * placeholder
    )
    gradient = backend.gradients(loss, [placeholder])[0]
    value, grad = backend.get_session().run([loss, gradient], {placeholder: x[None, :]})
    return float(value), grad[0]


@pytest.mark.parametrize("target_class", [0, 1])
@pytest.mark.parametrize("l2_penalty", [0.0, 0.3])
def test_gradient_equals_tensorflows(model, target_class, l2_penalty):
    weights = [(k.astype(np.float64), b.astype(np.float64)) for k, b in weights_of(model)]
    rng = np.random.default_rng(target_class)
    for _ in range(3):
        x = rng.normal(size=N_FEATURES).astype(np.float32)
        loss, gradient = loss_and_gradient(weights, x.astype(np.float64), target_class, l2_penalty)
        tf_loss, tf_gradient = tensorflow_loss_and_gradient(model, x, target_class, l2_penalty)
        assert np.abs(gradient).max() > 1e-3
        np.testing.assert_allclose(loss, tf_loss, rtol=1e-5)
        np.testing.assert_allclose(
            gradient, tf_gradient, rtol=1e-4, atol=1e-5 * np.abs(tf_gradient).max()
        )


def test_descent_is_plain_gradient_descent_on_the_input(model):
    """The low-dimensional update reproduces x ← x − η ∇loss(x), step by step."""
    weights = [(k.astype(np.float64), b.astype(np.float64)) for k, b in weights_of(model)]
    start = np.random.default_rng(5).normal(size=N_FEATURES)
    x = start.copy()
    for _ in range(300):
        x -= 0.05 * loss_and_gradient(weights, x, 1, l2_penalty=0.2)[1]
    result = optimal_input(model, 1, steps=300, step_size=0.05, l2_penalty=0.2, start=start)
    assert np.abs(x - start).max() > 0.1  # it moved
    np.testing.assert_allclose(result.input, x, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("target_class", [0, 1])
def test_target_probability_rises_to_at_least_0_9(model, target_class):
    result = optimal_input(model, target_class, steps=20000, record_every=500)
    history = result.probability_history
    assert len(history) == 20000 // 500 + 1
    assert history[0] == pytest.approx(
        target_probability(
            [(k.astype(np.float64), b.astype(np.float64)) for k, b in weights_of(model)],
            np.zeros(N_FEATURES),
            target_class,
        )
    )
    assert np.all(np.diff(history) >= -1e-12)
    assert history[-1] > history[0]
    assert result.probability >= 0.9
    assert result.probability == pytest.approx(history[-1], abs=1e-6)
    # the network's own prediction agrees at the returned map
    predicted = model.predict(result.input[None, :], verbose=0)[0, target_class]
    assert predicted == pytest.approx(result.probability, abs=1e-5)
    assert result.input.dtype == np.float32 and result.input.shape == (N_FEATURES,)


def test_optimal_inputs_show_the_class_signal(model):
    warm = optimal_input(model, 1, steps=5000).input
    cold = optimal_input(model, 0, steps=5000).input
    assert warm[SIGNAL].mean() > 0 > cold[SIGNAL].mean()
    assert np.abs(warm[SIGNAL]).mean() > 2 * np.abs(warm[10:]).mean()


def test_l2_penalty_gives_a_smaller_input(model):
    free = optimal_input(model, 1, steps=5000).input
    penalised = optimal_input(model, 1, steps=5000, l2_penalty=1.0).input
    assert np.linalg.norm(penalised) < 0.5 * np.linalg.norm(free)


def test_same_settings_give_the_same_bits(model):
    first = optimal_input(model, 0, steps=2000, l2_penalty=0.1)
    second = optimal_input(model, 0, steps=2000, l2_penalty=0.1)
    np.testing.assert_array_equal(first.input, second.input)
    np.testing.assert_array_equal(first.probability_history, second.probability_history)


def test_start_is_used(model):
    start = np.full(N_FEATURES, 0.5, np.float32)
    zero_steps = optimal_input(model, 1, steps=0, start=start)
    np.testing.assert_array_equal(zero_steps.input, start)
    assert len(zero_steps.probability_history) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"target_class": 2}, "target class 2.*0..1"),
        ({"target_class": 0, "start": np.zeros(59)}, r"\(59,\).*60 features"),
        ({"target_class": 0, "step_size": 0.5, "l2_penalty": 4.0}, "diverge"),
        ({"target_class": 0, "steps": -1}, "steps=-1"),
        ({"target_class": 0, "step_size": 0.0}, "step_size=0"),
    ],
)
def test_bad_settings_are_refused(model, options, message):
    with pytest.raises(GeoxaiError, match=message):
        optimal_input(model, **options)


def test_progress_lines_every_tenth_and_the_verdict_leave_the_result_unchanged(model, capsys):
    import re

    quiet = optimal_input(model, 1, steps=1000, l2_penalty=0.1, progress=False)
    assert capsys.readouterr().out == ""
    loud = optimal_input(model, 1, steps=1000, l2_penalty=0.1, goal=0.5)
    lines = capsys.readouterr().out.splitlines()
    assert loud.input.tobytes() == quiet.input.tobytes()
    assert loud.probability == quiet.probability
    np.testing.assert_array_equal(loud.probability_history, quiet.probability_history)
    pattern = re.compile(
        r"^\[geoxai\] optimal input class 1: step (\d+)/1000 probability ([\d.]+) "
        r"input norm ([\d.e+-]+)$"
    )
    steps = [pattern.match(line) for line in lines[:-1]]
    assert all(steps), lines
    assert [int(m[1]) for m in steps] == list(range(0, 1001, 100))
    assert float(steps[0][3]) == 0.0  # the all-zero start
    assert float(steps[-1][2]) == pytest.approx(loud.probability, abs=1e-4)
    assert float(steps[-1][3]) == pytest.approx(np.linalg.norm(loud.input), rel=1e-3)
    assert lines[-1] == (
        f"[geoxai] optimal input class 1: done, 1000 steps, probability {loud.probability:.4f}: "
        "target probability 0.5 reached"
    )
    optimal_input(model, 1, steps=3, goal=0.999999)
    last = capsys.readouterr().out.splitlines()
    assert len(last) == 5 and "target probability 0.999999 NOT reached" in last[-1]


def test_weights_read_with_h5py_give_the_same_optimal_input(model, tmp_path):
    """The optimal-input job reads the saved weights with h5py (no TensorFlow): same result."""
    from geoxai.learn.models import load_network, save_model

    save_model(model, tmp_path / "classifier.h5")
    network = load_network(tmp_path / "classifier.h5")
    options = {"steps": 2000, "step_size": 0.05, "l2_penalty": 0.2, "progress": False}
    keras = optimal_input(model, 1, **options)
    ours = optimal_input(network, 1, **options)
    assert keras.probability > 0.6  # it went somewhere
    np.testing.assert_array_equal(ours.input, keras.input)
    np.testing.assert_array_equal(ours.probability_history, keras.probability_history)
