"""The numpy LRP backend against iNNvestigate, and LRP's own properties, on a trained toy network."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import train_toy_network

from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import open_product
from geoxai.learn.models import (
    ModelSettings,
    build_model,
    configure_tensorflow,
    load_model,
    load_network,
    save_model,
)
from geoxai.xai.explain import BACKENDS, RULES, explain, weights_of

tf = configure_tensorflow(threads=1)  # graph mode before any model exists (docs/stack.md)

N_FEATURES = 60
SIGNAL = slice(0, 10)  # the features that carry the class


@pytest.fixture(scope="module")
def samples() -> tuple[np.ndarray, np.ndarray]:
    """Two classes separated by the sign of a shift on the first ten features."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    inputs = rng.normal(size=(200, N_FEATURES)).astype(np.float32)
    inputs[:, SIGNAL] += (2.0 * labels - 1.0)[:, None]
    inputs[:, -5:] = 0.0  # "land": exact zeros, as in the anomaly maps
    return inputs, labels


@pytest.fixture(scope="module")
def model(samples):
    inputs, labels = samples
    result = train_toy_network(inputs, labels)
    assert result.history["val_accuracy"][-1] >= 0.9  # a network worth explaining
    return result.model


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "classifier.h5"
    save_model(model, path)
    return path


@pytest.fixture(scope="module")
def reloaded(saved):
    return load_model(saved, n_features=N_FEATURES)


@pytest.fixture(scope="module")
def network(saved):
    """The saved weights read with h5py, without TensorFlow (what numpy-backend jobs use)."""
    return load_network(saved, n_features=N_FEATURES)


def per_sample_error(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Largest difference in each sample, relative to that sample's largest relevance."""
    scale = np.abs(reference).max(axis=1)
    return np.abs(reference - other).max(axis=1) / np.where(scale > 0, scale, 1.0)


def logits_float64(model, inputs: np.ndarray) -> np.ndarray:
    activations = inputs.astype(np.float64)
    weights = weights_of(model)
    for position, (kernel, bias) in enumerate(weights):
        activations = activations @ kernel.astype(np.float64) + bias
        if position < len(weights) - 1:
            activations = np.maximum(activations, 0)
    return activations


CROSS_CHECKED = sorted(name for name, rule in RULES.items() if rule.analyzer)


def test_every_method_but_occlusion_is_cross_checked():
    assert set(RULES) - set(CROSS_CHECKED) == {"occlusion"}


@pytest.mark.parametrize("which", ["trained", "reloaded", "read_with_h5py"])
@pytest.mark.parametrize("rule", CROSS_CHECKED)
def test_numpy_backend_matches_innvestigate(rule, which, model, reloaded, network, samples):
    chosen = {"trained": model, "reloaded": reloaded, "read_with_h5py": network}[which]
    inputs = samples[0]
    reference = explain(model if which == "trained" else reloaded, inputs, rule,
                        backend="innvestigate", batch_size=64)
    ours = explain(chosen, inputs, rule, backend="numpy", batch_size=64)

    assert ours.relevance.shape == inputs.shape and ours.relevance.dtype == np.float32
    np.testing.assert_array_equal(ours.explained_class, reference.explained_class)
    np.testing.assert_allclose(
        ours.explained_logit, reference.explained_logit, rtol=1e-5, atol=1e-6
    )
    assert np.abs(reference.relevance).max() > 0
    errors = per_sample_error(reference.relevance, ours.relevance)
    # float32 rounding is amplified where an α-β denominator nearly cancels (docs/stack.md): allow
    # a few such samples a looser bound, every sample a bound that a wrong rule would break
    assert np.median(errors) < 1e-5
    assert np.mean(errors < 1e-4) >= 0.97
    assert errors.max() < 1e-2
    assert ours.sign_convention == reference.sign_convention == RULES[rule].sign_convention
    assert (ours.rule, ours.backend, reference.backend) == (rule, "numpy", "innvestigate")
    assert ours.parameters.keys() == reference.parameters.keys() == RULES[rule].parameters.keys()


@pytest.mark.parametrize("rule", sorted(n for n, r in RULES.items() if r.kind == "layerwise"))
def test_every_analyzer_a_rule_names_equals_the_numpy_backend(rule, model, samples):
    """The rule's analyzer and its cross_checks (deep_taylor for the ignore-bias α1β0), called
    straight through iNNvestigate with their defaults, not through explain()."""
    import innvestigate

    analyzers = [RULES[rule].analyzer, *RULES[rule].cross_checks]
    inputs = samples[0]
    ours = explain(model, inputs, rule, backend="numpy").relevance
    logit_model = innvestigate.model_wo_softmax(model)
    for name in analyzers:
        reference = innvestigate.create_analyzer(name, logit_model).analyze(inputs)
        errors = per_sample_error(reference, ours)
        assert np.median(errors) < 1e-5 and errors.max() < 1e-2, name


def test_reloaded_model_explains_like_the_trained_one(model, reloaded, network, samples):
    before = explain(model, samples[0], "alpha_1_beta_0", backend="numpy")
    for after in (reloaded, network):
        np.testing.assert_array_equal(before.relevance,
                                      explain(after, samples[0], "alpha_1_beta_0", "numpy").relevance)


def test_weights_read_with_h5py_are_the_keras_models(model, network, samples):
    keras = weights_of(model)
    ours = weights_of(network)
    assert len(ours) == len(keras) == 3
    for (kernel, bias), (our_kernel, our_bias) in zip(keras, ours):
        np.testing.assert_array_equal(our_kernel, kernel)
        np.testing.assert_array_equal(our_bias, bias)
    assert network.input_shape == model.input_shape and network.softmax
    np.testing.assert_allclose(network.predict(samples[0]), model.predict(samples[0], verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_a_dense_network_asked_of_innvestigate_loads_the_keras_model(network, samples):
    result = explain(network, samples[0][:20], "z", backend="innvestigate")
    assert result.backend == "innvestigate"
    reference = explain(network, samples[0][:20], "z", backend="numpy")
    assert per_sample_error(result.relevance, reference.relevance).max() < 1e-4


@pytest.mark.parametrize("backend", BACKENDS)
def test_lrp_z_conserves_the_logit_without_biases(backend, model, samples):
    unbiased = build_model(N_FEATURES, 2, ModelSettings(l2=(0.01, 0.01, 0.01)))
    unbiased.set_weights([w if w.ndim == 2 else np.zeros_like(w) for w in model.get_weights()])
    result = explain(unbiased, samples[0], "z", backend=backend)
    assert np.mean(np.abs(result.explained_logit) > 0.1) > 0.9  # not a trivial 0 == 0
    np.testing.assert_allclose(
        result.relevance.sum(axis=1), result.explained_logit, rtol=1e-5, atol=1e-6
    )


def test_lrp_z_with_biases_does_not_conserve(model, samples):
    """The bias takes its share: proves the conservation test above depends on the biases."""
    result = explain(model, samples[0], "z", backend="numpy")
    gap = np.abs(result.relevance.sum(axis=1) - result.explained_logit)
    assert gap.max() > 1e-3


@pytest.mark.parametrize("backend", BACKENDS)
def test_alpha_1_beta_0_relevance_has_the_sign_of_the_logit(backend, model, samples):
    result = explain(model, samples[0], "alpha_1_beta_0", backend=backend)
    signed = result.relevance * np.sign(result.explained_logit)[:, None]
    assert signed.min() >= 0
    assert np.count_nonzero(signed) > signed.size // 4
    # the inhibitor term of α2β1 makes some relevance negative on the same samples
    assert explain(model, samples[0], "alpha_2_beta_1", backend=backend).relevance.min() < 0


def test_relevance_concentrates_on_the_signal(model, samples):
    result = explain(model, samples[0], "alpha_1_beta_0", backend="numpy")
    mean_relevance = np.abs(result.relevance).mean(axis=0)
    assert mean_relevance[SIGNAL].mean() > 3 * mean_relevance[10:].mean()
    assert np.all(result.relevance[:, -5:] == 0)  # zero inputs get no relevance


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_rule_is_the_finite_difference_gradient_of_the_winning_logit(
    backend, model, samples
):
    inputs = samples[0][:8].astype(np.float64)
    result = explain(model, inputs, "gradient", backend=backend)
    step = 1e-3
    for sample, winner in enumerate(result.explained_class):
        shifted = np.repeat(inputs[sample : sample + 1], N_FEATURES, axis=0)
        up = logits_float64(model, shifted + step * np.eye(N_FEATURES))[:, winner]
        down = logits_float64(model, shifted - step * np.eye(N_FEATURES))[:, winner]
        finite_difference = (up - down) / (2 * step)
        np.testing.assert_allclose(
            result.relevance[sample],
            finite_difference,
            rtol=1e-4,
            atol=1e-4 * np.abs(finite_difference).max(),
        )


def test_epsilon_is_passed_to_both_backends(model, samples):
    inputs = samples[0]
    small = explain(model, inputs, "epsilon", backend="numpy", epsilon=1e-7).relevance
    large = {
        b: explain(model, inputs, "epsilon", backend=b, epsilon=1.0).relevance for b in BACKENDS
    }
    assert per_sample_error(small, large["numpy"]).max() > 1e-2  # epsilon=1 damps relevance
    assert per_sample_error(large["innvestigate"], large["numpy"]).max() < 1e-4


def test_block_size_does_not_change_the_result(model, samples):
    # only rounding may change (matrix products of other shapes), and α1β0 does not amplify it
    whole = explain(model, samples[0], "alpha_1_beta_0", backend="numpy", batch_size=500)
    blocked = explain(model, samples[0], "alpha_1_beta_0", backend="numpy", batch_size=7)
    assert per_sample_error(whole.relevance, blocked.relevance).max() < 1e-5


def test_unknown_rule_names_the_known_ones(model, samples):
    with pytest.raises(GeoxaiError, match="deep_taylor.*alpha_1_beta_0.*alpha_1_beta_0_bias"):
        explain(model, samples[0], "deep_taylor")


def test_unknown_backend_names_the_known_ones(model, samples):
    with pytest.raises(GeoxaiError, match="captum.*innvestigate.*numpy"):
        explain(model, samples[0], "z", backend="captum")


@pytest.mark.parametrize("backend", BACKENDS)
def test_feature_mismatch_names_both_numbers(backend, model, samples):
    with pytest.raises(GeoxaiError, match=r"\(200, 59\).*60 features"):
        explain(model, samples[0][:, :59], "z", backend=backend)


def test_numpy_backend_refuses_other_activations(tmp_path):
    layers = tf.keras.layers
    inputs = layers.Input(shape=(4,), name="x")
    hidden = layers.Dense(3, activation="tanh", name="tanh_layer")(inputs)
    logits = layers.Dense(2, name="out")(hidden)
    other = tf.keras.Model(inputs, logits)
    with pytest.raises(GeoxaiError, match="tanh.*backend='innvestigate'"):
        explain(other, np.ones((2, 4), np.float32), "z", backend="numpy")
    save_model(other, tmp_path / "tanh.h5")
    with pytest.raises(GeoxaiError, match=r"tanh\.h5.*'tanh_layer'.*'tanh'.*innvestigate"):
        load_network(tmp_path / "tanh.h5")


def test_load_network_checks_the_grid(saved):
    with pytest.raises(GeoxaiError, match=f"takes {N_FEATURES} inputs.*61 cells"):
        load_network(saved, n_features=61)
    with pytest.raises(GeoxaiError, match="does not exist"):
        load_network(saved.with_name("missing.h5"))


def test_numpy_backend_jobs_never_import_tensorflow(saved, model, tmp_path):
    """The relevance job (numpy backend) and the optimal-input job read the network with h5py:
    run in a fresh process, they leave TensorFlow unimported and write what explain() gives on
    the Keras model."""
    import subprocess

    from conftest import analysis_python
    from test_significance import write_toy_inputs  # a 6 x 10 grid: the 60 inputs of `model`

    from geoxai.learn.samples import load_samples

    write_toy_inputs(tmp_path)
    files = {"model": str(saved), "anomalies": str(tmp_path / "anomalies.nc"),
             "labels": str(tmp_path / "labels.csv")}
    script = f"""
import sys
from geoxai.steps.explain import optimal_input, relevance
files = {files!r}
relevance(**files, relevance=[{str(tmp_path / 'z.nc')!r}], methods=["z"], backend="numpy",
          seed=0, parameters={{}}, compression="zstd", class_names=["cold", "warm"])
optimal_input(**files, optimal_input={str(tmp_path / 'optimal.nc')!r}, class_index=1, seed=0,
              settings={{"steps": 500}}, class_names=["cold", "warm"])
print(sorted(name for name in ("tensorflow", "keras", "innvestigate") if name in sys.modules))
"""
    done = subprocess.run([analysis_python(), "-c", script], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    samples = load_samples(files["anomalies"], files["labels"])
    ocean = samples.ocean_mask.ravel()
    expected = explain(model, samples.inputs, "z", backend="numpy").relevance * ocean
    assert np.abs(expected).max() > 0
    with open_product(tmp_path / "z.nc") as written:
        relevance = written["relevance"].values.reshape(len(expected), -1)
    np.testing.assert_allclose(relevance, expected, rtol=1e-6, atol=1e-7)
    with open_product(tmp_path / "optimal.nc") as written:
        assert float(written["final_probability"]) > 0.5
