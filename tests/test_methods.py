"""The method registry and the methods beyond LRP: conservation, integrated gradients, SmoothGrad,
occlusion, parameters, and what the relevance files record about each method."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import train_toy_network

from geoxai.core.errors import GeoxaiError
from geoxai.learn.models import configure_tensorflow
from geoxai.products.relevance import relevance_dataset
from geoxai.xai.explain import BACKENDS, RULES, Explanation, explain, rule_label, weights_of
from geoxai.xai.rules import Parameter, rule_parameters

tf = configure_tensorflow(threads=1)  # graph mode before any model exists (docs/stack.md)

LAT = np.array([-20.0, -10.0, 0.0, 10.0, 60.0])  # 5 × 12 = 60 cells, lat-major
LON = np.arange(0.0, 360.0, 30.0)
N_FEATURES = LAT.size * LON.size
OCEAN = np.ones(N_FEATURES, dtype=bool)
OCEAN[-5:] = False  # "land": exact zeros in every sample


@pytest.fixture(scope="module")
def samples() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 200)
    inputs = rng.normal(size=(200, N_FEATURES)).astype(np.float32)
    inputs[:, :10] += (2.0 * labels - 1.0)[:, None]
    inputs[:, ~OCEAN] = 0.0
    return inputs, labels


@pytest.fixture(scope="module")
def model(samples):
    result = train_toy_network(*samples)
    assert result.history["val_accuracy"][-1] >= 0.9
    return result.model


def logits_of(model, inputs: np.ndarray) -> np.ndarray:
    """The Keras model's own logits (softmax removed): a full forward pass, not our numpy."""
    import innvestigate

    return np.asarray(innvestigate.model_wo_softmax(model).predict(inputs, verbose=0), np.float64)


def test_registry_entries_are_complete():
    known = {"layerwise", "integrated", "smoothed", "occlusion"}
    import innvestigate.analyzer as analyzers

    for name, rule in RULES.items():
        assert rule.label and rule.sign_convention and rule.bias_treatment, name
        assert rule.kind in known, name
        assert rule.conservation in {"exact", "approximate", "per_patch", "no"}, name
        assert bool(rule.conserved_quantity) == (rule.conservation != "no"), name
        assert rule.quantity in {"LRP relevance", "attribution", "sensitivity"}, name
        assert (rule.backward is not None) == (rule.kind == "layerwise"), name
        for analyzer in (rule.analyzer, *rule.cross_checks):
            assert analyzer is None or analyzer in analyzers.analyzers, (name, analyzer)
        assert all(isinstance(p, Parameter) and p.description for p in rule.parameters.values())
        assert rule_parameters(name, rule.defaults) == rule.defaults  # defaults pass the checks
        assert rule_label(name) == rule.label
    assert len({rule.label for rule in RULES.values()}) == len(RULES)
    assert RULES["alpha_1_beta_0"].analyzer == "lrp.alpha_1_beta_0_IB"
    assert RULES["alpha_1_beta_0_bias"].analyzer == "lrp.alpha_1_beta_0"
    assert RULES["occlusion"].analyzer is None and "numpy only" in RULES["occlusion"].note


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rule", sorted(n for n, r in RULES.items() if r.conservation == "exact"))
def test_exactly_conserving_rules_sum_to_the_logit(rule, backend, model, samples):
    result = explain(model, samples[0], rule, backend=backend)
    assert result.conserves_relevance == "exact"
    assert np.mean(np.abs(result.explained_logit) > 0.1) > 0.9
    gap = np.abs(result.relevance.sum(axis=1) - result.explained_logit)
    exact = gap <= 1e-5 * np.abs(result.explained_logit) + 1e-6
    # a unit that fires only thanks to its bias has no positive contribution to pass its
    # relevance to: iNNvestigate drops it too; rare, and such samples only lose relevance
    assert exact.mean() >= 0.97
    lost = ~exact
    assert np.all(np.abs(result.relevance[lost].sum(axis=1)) < np.abs(result.explained_logit[lost]))


def test_the_bias_form_of_alpha_1_beta_0_does_not_conserve(model, samples):
    """What the test above would catch if alpha_1_beta_0 kept its biases."""
    result = explain(model, samples[0], "alpha_1_beta_0_bias", backend="numpy")
    assert result.conserves_relevance == "no"
    ratio = result.relevance.sum(axis=1) / result.explained_logit
    assert np.mean(np.abs(ratio - 1) > 1e-3) > 0.5  # the biases take (or give) a share


@pytest.mark.parametrize("baseline", ["zeros", "class_mean"])
def test_integrated_gradients_conserve_up_to_a_step_error_that_shrinks(baseline, model, samples):
    inputs = samples[0][:60]
    base = np.zeros(N_FEATURES, np.float32) if baseline == "zeros" else (
        samples[0][samples[1] == 0].mean(axis=0))
    parameters = {"baseline": "zeros" if baseline == "zeros" else base}
    errors = []
    for steps in (4, 32, 512):
        result = explain(model, inputs, "integrated_gradients", backend="numpy",
                         parameters={**parameters, "steps": steps})
        target = logits_of(model, inputs)[np.arange(len(inputs)), result.explained_class]
        at_baseline = logits_of(model, base[None])[0, result.explained_class]
        errors.append(np.median(np.abs(result.relevance.sum(axis=1) - (target - at_baseline))))
    scale = np.median(np.abs(target - at_baseline))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 2e-3 * scale
    assert result.conserves_relevance == "approximate"
    # the baseline matters: against the other reference point the sums are off
    other_base = samples[0][samples[1] == 0].mean(0) if baseline == "zeros" else 0 * base
    other = logits_of(model, other_base[None])[0, result.explained_class]
    assert np.median(np.abs(result.relevance.sum(axis=1) - (target - other))) > 10 * errors[2]


def test_integrated_gradients_with_a_baseline_array_match_innvestigate(model, samples):
    inputs = samples[0][:50]
    base = samples[0][samples[1] == 1].mean(axis=0)
    parameters = {"baseline": base, "steps": 16}
    ours = explain(model, inputs, "integrated_gradients", backend="numpy", parameters=parameters)
    theirs = explain(model, inputs, "integrated_gradients", backend="innvestigate",
                     parameters=parameters, batch_size=64)
    scale = np.abs(theirs.relevance).max()
    assert np.abs(ours.relevance - theirs.relevance).max() < 1e-5 * scale
    zero_based = explain(model, inputs, "integrated_gradients", backend="numpy",
                         parameters={"steps": 16})
    assert np.abs(zero_based.relevance - ours.relevance).max() > 0.1 * scale


@pytest.mark.parametrize("backend", BACKENDS)
def test_input_x_gradient_is_exact_on_a_linear_network(backend):
    layers = tf.keras.layers
    inputs = layers.Input(shape=(4,), name="x")
    logits = layers.Dense(3, name="logits")(inputs)
    linear = tf.keras.Model(inputs, layers.Activation("softmax", name="probabilities")(logits))
    kernel = np.array([[1, -2, 0.5], [0, 3, -1], [2, 1, 1], [-1, 0, 4]], np.float32)
    bias = np.array([0.1, -0.2, 0.3], np.float32)
    linear.set_weights([kernel, bias])
    x = np.array([[1, 2, 3, 4], [-1, 0.5, 0, 2], [3, -1, 2, -2]], np.float32)
    result = explain(linear, x, "input_x_gradient", backend=backend)
    winner = np.argmax(x @ kernel + bias, axis=1)
    np.testing.assert_array_equal(result.explained_class, winner)
    np.testing.assert_allclose(result.relevance, x * kernel[:, winner].T, rtol=1e-6)
    np.testing.assert_allclose(result.relevance.sum(axis=1), result.explained_logit - bias[winner],
                               rtol=1e-6)


def test_occlusion_matches_a_forward_pass_per_patch(model, samples):
    inputs = samples[0][:20]
    value, degrees = 0.3, 20.0
    result = explain(model, inputs, "occlusion", backend="numpy", grid=(LAT, LON, OCEAN),
                     parameters={"patch_degrees": degrees, "value": value})
    clean = logits_of(model, inputs)[np.arange(len(inputs)), result.explained_class]
    cell_lat, cell_lon = np.repeat(LAT, LON.size), np.tile(LON, LAT.size)
    patch = np.floor((cell_lat + 90) / degrees) * 1000 + np.floor(cell_lon / degrees)
    patches = [np.flatnonzero((patch == p) & OCEAN) for p in np.unique(patch[OCEAN])]
    # 4 latitude bands × 12 longitude bins, less 5 all-land patches; the equator band has 2 rows
    assert len(patches) == 4 * 12 - 5 and max(map(len, patches)) == 2
    for cells in patches:
        occluded = inputs.copy()
        occluded[:, cells] = value
        drop = clean - logits_of(model, occluded)[np.arange(len(inputs)), result.explained_class]
        np.testing.assert_allclose(result.relevance[:, cells].sum(axis=1), drop, atol=2e-5)
        area = np.cos(np.deg2rad(cell_lat[cells]))
        np.testing.assert_allclose(result.relevance[:, cells],
                                   drop[:, None] * area / area.sum(), atol=2e-5)
    assert np.all(result.relevance[:, ~OCEAN] == 0)
    assert np.abs(result.relevance).max() > 0.01


def test_occlusion_needs_the_grid_and_falls_back_to_numpy(model, samples):
    with pytest.raises(GeoxaiError, match="occlusion.*needs the map grid.*grid=\\(lat, lon\\)"):
        explain(model, samples[0], "occlusion")
    with pytest.raises(GeoxaiError, match="5 latitudes × 11 longitudes = 55 cells.*60 features"):
        explain(model, samples[0], "occlusion", grid=(LAT, LON[:11]))
    result = explain(model, samples[0][:5], "occlusion", backend="innvestigate", grid=(LAT, LON))
    assert (result.backend, result.requested_backend) == ("numpy", "innvestigate")
    assert "iNNvestigate has no analyzer for occlusion" in result.note


@pytest.mark.parametrize(("rule", "parameters", "key"), [
    ("smoothgrad", {"sigma": 1.0}, "sigma"),
    ("z", {"steps": 4}, "steps"),
    ("integrated_gradients", {"steps": 8, "baseline_value": 0.0}, "baseline_value"),
])
def test_unknown_parameters_name_their_config_key(rule, parameters, key, model, samples):
    with pytest.raises(GeoxaiError, match=rf"explain\.parameters\.{rule}\.{key}"):
        explain(model, samples[0], rule, parameters=parameters)


@pytest.mark.parametrize(("rule", "parameters", "key"), [
    ("integrated_gradients", {"steps": 0}, "steps"),
    ("integrated_gradients", {"baseline": np.zeros(7)}, "baseline"),
    ("integrated_gradients", {"baseline": "mean"}, "baseline"),
    ("smoothgrad", {"noise_scale": -1.0}, "noise_scale"),
    ("occlusion", {"patch_degrees": "big"}, "patch_degrees"),
])
def test_bad_parameter_values_name_their_config_key(rule, parameters, key, model, samples):
    with pytest.raises(GeoxaiError, match=rf"explain\.parameters\.{rule}\.{key}"):
        explain(model, samples[0], rule, parameters=parameters, grid=(LAT, LON))


def test_explanations_record_their_parameters_defaults_included(model, samples):
    result = explain(model, samples[0][:3], "integrated_gradients", parameters={"steps": 8})
    assert result.parameters == {"steps": 8, "baseline": "zeros"}
    assert explain(model, samples[0][:3], "epsilon", epsilon=0.5).parameters == {"epsilon": 0.5}
    override = explain(model, samples[0][:3], "epsilon", epsilon=0.5, parameters={"epsilon": 2.0})
    assert override.parameters == {"epsilon": 2.0}


def test_smoothgrad_reproduces_with_its_seed_and_not_with_another(model, samples):
    inputs = samples[0][:30]
    first = explain(model, inputs, "smoothgrad", backend="numpy", seed=5)
    again = explain(model, inputs, "smoothgrad", backend="numpy", seed=5, batch_size=7)
    other = explain(model, inputs, "smoothgrad", backend="numpy", seed=6)
    np.testing.assert_allclose(first.relevance, again.relevance, rtol=1e-5, atol=1e-7)
    assert np.abs(first.relevance - other.relevance).max() > 1e-3
    assert first.seed == 5 and first.parameters == {"noise_scale": 0.5, "samples": 32}
    plain = explain(model, inputs, "gradient", backend="numpy").relevance
    assert np.abs(first.relevance - plain).max() > 1e-3  # the noise does something


def test_smoothgrad_agrees_statistically_with_innvestigates_own_analyzer(model, samples):
    """iNNvestigate's smoothgrad draws its own unseeded noise, with standard deviation 1 whatever
    noise_scale says (2.1.2), so the comparison is statistical: its mean and ours differ by no
    more than two of our own runs with independent noise do, and noise_scale 0.5 is told apart."""
    import innvestigate

    inputs, copies = samples[0][:10], 512
    theirs = innvestigate.create_analyzer(
        "smoothgrad", innvestigate.model_wo_softmax(model), augment_by_n=copies
    ).analyze(inputs)

    def ours(seed, scale=1.0):
        return explain(model, inputs, "smoothgrad", backend="numpy", seed=seed,
                       parameters={"noise_scale": scale, "samples": copies}).relevance

    spread = np.linalg.norm(ours(1) - ours(2))
    assert np.linalg.norm(ours(3) - theirs) < 1.6 * spread
    assert np.linalg.norm(ours(3, scale=0.5) - theirs) > 3 * spread


class _Samples:
    def __init__(self, n):
        self.time = np.array([f"2000-{m % 12 + 1:02d}" for m in range(n)])
        self.labels = np.zeros(n, int)
        self.split = np.array(["train"] * n)
        self.index = np.zeros(n)

    def map_coords(self):
        return {"lat": ("lat", LAT, {}), "lon": ("lon", LON, {})}


@pytest.mark.parametrize(("rule", "backend", "wording", "conserves"), [
    ("alpha_1_beta_0", "numpy", "LRP relevance (α=1, β=0)", "exact"),
    ("integrated_gradients", "numpy", "attribution (integrated gradients)", "approximate"),
    ("occlusion", "innvestigate", "attribution (occlusion)", "per_patch"),
])
def test_relevance_files_record_the_method(rule, backend, wording, conserves, model, samples):
    inputs = samples[0][:4]
    result = explain(model, inputs, rule, backend=backend, grid=(LAT, LON, OCEAN))
    maps = result.relevance.reshape(len(inputs), LAT.size, LON.size)
    dataset = relevance_dataset(_Samples(len(inputs)), maps, result, result.explained_class, rule,
                                backend, 0, ["a", "b"])
    attrs = dataset.attrs
    assert dataset["relevance"].attrs["long_name"].startswith(wording)
    assert attrs["conserves_relevance"] == conserves
    assert attrs["bias_treatment"] == RULES[rule].bias_treatment
    assert json.loads(attrs["parameters"]) == {
        k: (v if not isinstance(v, np.ndarray) else None) for k, v in RULES[rule].defaults.items()}
    assert attrs["backend"] == "numpy"
    assert ("requested_backend" in attrs) == (backend != "numpy")
    assert ("LRP" in attrs["title"]) == (RULES[rule].quantity == "LRP relevance")


def test_a_baseline_array_is_recorded_by_digest():
    from geoxai.products.relevance import parameters_json

    recorded = json.loads(parameters_json({"steps": 4, "baseline": np.arange(3, dtype=np.float32)}))
    assert recorded["steps"] == 4
    assert recorded["baseline"]["array_of"] == 3 and recorded["baseline"]["mean"] == 1.0
    assert len(recorded["baseline"]["sha256"]) == 64


def test_explanation_fields_default_for_older_callers():
    old = Explanation(np.zeros((1, 2), np.float32), np.zeros(1, int), np.zeros(1, np.float32),
                      "z", "numpy", "convention")
    assert old.parameters == {} and old.conserves_relevance == "no"


def test_weights_of_still_importable_from_explain(model):
    assert len(weights_of(model)) == 3


def test_the_config_schema_lists_exactly_the_registry():
    from pathlib import Path

    import yaml

    schema = yaml.safe_load((Path(__file__).parents[1] / "workflow/schemas/config.schema.yaml").read_text())
    enum = schema["properties"]["explain"]["properties"]["rules"]["items"]["enum"]
    assert sorted(enum) == sorted(RULES)
