"""Evaluating explanations: sanity checks (randomised networks and labels), deletion curves and
per-sample agreement, on toy networks and maps whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import train_toy_network

from geoxai.core.errors import GeoxaiError
from geoxai.learn.models import ModelSettings, TrainingSettings, configure_tensorflow, train_model
from geoxai.xai.composites import area_weights
from geoxai.xai.evaluation import (
    EvaluationSettings,
    cascading_randomisations,
    deletion_curves,
    explained_subset,
    logits_of,
    seed_agreement,
    shuffle_training_labels,
    spearman_rows,
    top_overlap,
)
from geoxai.xai.evaluation.faithfulness import anomaly_draws, random_orders, ranking
from geoxai.xai.evaluation.run import faithfulness_curves, sanity_similarity
from geoxai.xai.evaluation.sanity import survives
from geoxai.xai.explain import explain

tf = configure_tensorflow(threads=1)

N_FEATURES = 60


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    inputs = rng.normal(size=(200, N_FEATURES)).astype(np.float32)
    inputs[:, :10] += (2.0 * labels - 1.0)[:, None]
    return inputs, labels


@pytest.fixture(scope="module")
def trained(samples):
    inputs, labels = samples
    result = train_toy_network(inputs, labels)
    assert result.history["val_accuracy"][-1] >= 0.9
    return result.model


def gradient(network, method, inputs):
    return explain(network, inputs, method, backend="numpy").relevance


def test_cascading_randomisation_changes_the_gradient(trained, samples):
    inputs = samples[0][160:]
    stages = cascading_randomisations(trained, seed=1)
    assert [name for name, _ in stages] == ["cascade_logits", "cascade_hidden_2", "cascade_hidden_1"]
    # Each stage re-initialises one more layer and keeps the rest.
    trained_weights = trained.get_weights()
    for depth, (_, network) in enumerate(stages, start=1):
        changed = [not np.array_equal(a, b) for a, b in zip(trained_weights[::2], network.get_weights()[::2])]
        assert changed == [False] * (3 - depth) + [True] * depth
    cells = np.arange(N_FEATURES)
    result = sanity_similarity(lambda net, m: gradient(net, m, inputs), trained, stages,
                               ["gradient"], cells)
    itself = spearman_rows(gradient(trained, "gradient", inputs), gradient(trained, "gradient", inputs))
    assert np.allclose(itself, 1.0)
    fully_random = np.nanmedian(result.spearman[0, -1])
    assert abs(fully_random) < 0.3
    assert not survives(np.array([fully_random]), np.nanmedian(result.spearman_abs[0, -1:], axis=1),
                        0.5)[0]


def linear_problem(n=300, features=40, seed=0):
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(features, 2))
    inputs = rng.normal(size=(n, features))
    return inputs, weights, (lambda x: np.asarray(x) @ weights)


def test_deletion_of_the_true_relevance_drops_faster_than_random():
    inputs, weights, logits = linear_problem()
    winner = logits(inputs).argmax(axis=1)
    truth = inputs * weights[:, winner].T  # each cell's exact contribution to the winning logit
    cells = np.arange(inputs.shape[1])
    area = np.ones(cells.size)
    fractions = EvaluationSettings(deletion_step=0.1).fractions()
    rng = np.random.default_rng(1)
    faithful = deletion_curves(logits, inputs, ranking(truth, rng), cells, area, fractions)
    random = deletion_curves(logits, inputs, random_orders(len(inputs), cells.size, rng), cells,
                             area, fractions)
    assert np.allclose(faithful.curves[:, 0], logits(inputs)[np.arange(len(inputs)), winner])
    assert np.allclose(faithful.curves[:, -1], 0.0)  # everything replaced by the climatology
    assert faithful.auc.mean() < random.auc.mean() - 0.5
    # The same through the workflow's function, with both replacements and the random baseline.
    result = faithfulness_curves(logits, inputs, {"truth": truth, "reversed": -truth}, cells, area,
                                 fractions, inputs, n_random=3, seed=0)
    auc = np.trapz(result.curves.mean(axis=2), fractions, axis=-1)  # (method, replacement)
    random_auc = np.trapz(result.random_curves.mean(axis=1), fractions, axis=-1)
    assert np.all(auc[0] < random_auc) and np.all(auc[1] > random_auc)


def test_the_deletion_steps_are_fractions_of_the_area():
    lat, mask = np.array([0.0, 60.0]), np.ones((2, 1))
    area = area_weights(lat, mask).reshape(-1)  # cos: 1 and 0.5, two thirds and one third
    inputs = np.ones((1, 2))

    def logits(x):
        return np.stack([x.sum(axis=1), np.zeros(len(x))], axis=1)

    fractions = np.array([0.0, 0.5, 1.0])
    cells = np.arange(2)
    equator_first = deletion_curves(logits, inputs, np.array([[0, 1]]), cells, area, fractions)
    pole_first = deletion_curves(logits, inputs, np.array([[1, 0]]), cells, area, fractions)
    # Half the area: the equatorial cell alone is two thirds of it, the 60-degree cell one third.
    assert equator_first.curves[0].tolist() == [2.0, 2.0, 0.0]
    assert pole_first.curves[0].tolist() == [2.0, 1.0, 0.0]
    equal = deletion_curves(logits, inputs, np.array([[0, 1]]), cells, np.ones(2), fractions)
    assert equal.curves[0].tolist() == [2.0, 1.0, 0.0]


def test_anomaly_draws_come_from_each_cells_own_values():
    rng = np.random.default_rng(0)
    pool = rng.normal(size=(50, 6)) + 100.0 * np.arange(6)  # each cell's values far from the others'
    draws = anomaly_draws(pool, 200, np.random.default_rng(1))
    assert draws.shape == (200, 6)
    for cell in range(6):
        assert np.isin(draws[:, cell], pool[:, cell]).all()
        assert len(np.unique(draws[:, cell])) > 20  # drawn per sample, not one value per cell
    assert np.array_equal(draws, anomaly_draws(pool, 200, np.random.default_rng(1)))  # seeded


def test_top_overlap_and_spearman_of_identical_and_independent_maps():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(400, 500))
    other = rng.normal(size=(400, 500))
    assert np.allclose(top_overlap(maps, maps, 0.1), 1.0)
    assert np.allclose(spearman_rows(maps, maps), 1.0)
    assert np.allclose(spearman_rows(maps, -maps), -1.0)
    assert abs(top_overlap(maps, other, 0.1).mean() - 0.1) < 0.01
    assert abs(np.mean(spearman_rows(maps, other))) < 0.02
    assert np.isnan(spearman_rows(np.ones((1, 5)), maps[:1, :5])[0])  # a constant map has no ranks


def test_seed_agreement_of_copies_and_of_independent_seeds():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(30, 200))
    same = seed_agreement(np.stack([base, base, base]), 0.1)
    assert same.pairs == [(0, 1), (0, 2), (1, 2)]
    assert np.allclose(same.spearman, 1.0) and np.allclose(same.top_overlap, 1.0)
    assert np.isclose(same.both_top.sum(), 20.0)  # the 20 top cells of each sample, in every pair
    independent = seed_agreement(rng.normal(size=(4, 30, 200)), 0.1)
    assert abs(independent.both_top.mean() - 0.01) < 0.005  # 0.1 x 0.1 by chance
    with pytest.raises(GeoxaiError, match="seeds"):
        seed_agreement(base[None], 0.1)


def test_settings_name_the_key_and_the_subset_is_reproducible():
    with pytest.raises(GeoxaiError, match="evaluation.deletion_step"):
        EvaluationSettings(deletion_step=0.0)
    with pytest.raises(GeoxaiError, match="unknown config keys under evaluation"):
        EvaluationSettings.from_config({"sample": 3})
    fractions = EvaluationSettings(deletion_step=0.3).fractions()
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and np.all(np.diff(fractions) > 0)
    first = explained_subset(1000, 200, seed=0)
    assert np.array_equal(first, explained_subset(1000, 200, seed=0))
    assert len(np.unique(first)) == 200 and np.all(np.diff(first) > 0)
    assert np.array_equal(explained_subset(50, 200, seed=0), np.arange(50))


def test_logits_of_the_network_match_keras(trained, samples):
    inputs = samples[0][:20]
    logits_model = tf.keras.Model(trained.input, trained.get_layer("logits").output)
    assert np.allclose(logits_of(trained)(inputs), logits_model.predict(inputs, verbose=0), atol=1e-4)


def test_a_network_on_shuffled_labels_is_less_accurate(samples):
    """Last in this file: training clears the TensorFlow session the module's network lives in."""
    inputs, labels = samples
    split = np.where(np.arange(200) < 160, "train", "validation")
    shuffled = shuffle_training_labels(labels, split, seed=0)
    assert np.array_equal(shuffled[160:], labels[160:])
    assert sorted(shuffled[:160]) == sorted(labels[:160]) and not np.array_equal(shuffled, labels)

    def accuracy(model):
        return float((model.predict(inputs[160:], verbose=0).argmax(axis=1) == labels[160:]).mean())

    real = accuracy(train_toy_network(inputs, labels).model)
    network = train_model(
        inputs[:160], shuffled[:160], inputs[160:], labels[160:], seed=3,
        model_settings=ModelSettings(l2=(0.01, 0.01, 0.01)),
        training=TrainingSettings(learning_rate=0.05, epochs=20, schedule="constant", batch_size=16),
    ).model
    assert accuracy(network) < real - 0.2


def test_products_tables_and_figures_of_a_small_evaluation(tmp_path):
    """The three products from toy results: CF attributes on every variable, tables, figures."""
    from geoxai.figures.evaluation import plot_faithfulness, plot_sample_agreement, plot_sanity
    from geoxai.figures.regions import region
    from geoxai.products.evaluation import (
        agreement_dataset,
        agreement_table,
        faithfulness_dataset,
        faithfulness_table,
        sanity_dataset,
        sanity_table,
    )
    from geoxai.xai.evaluation.run import REPLACEMENTS, SanityResult

    rng = np.random.default_rng(0)
    methods = ["gradient", "alpha_1_beta_0"]
    result = SanityResult(["cascade_logits", "shuffled_labels"], rng.uniform(-1, 1, (2, 2, 8)),
                          np.array([[[0.1] * 8, [0.2] * 8], [[0.9] * 8, [0.8] * 8]]))
    flags = survives(np.median(result.spearman, axis=2), np.median(result.spearman_abs, axis=2), 0.5)
    assert flags.tolist() == [[False, False], [True, True]]
    sanity = sanity_dataset(methods, result, flags, {"trained": 0.9, "cascade_logits": 0.5,
                                                     "shuffled_labels": 0.5},
                            np.array([f"2000-{m:02d}" for m in range(1, 9)]), 0.5, {})
    inputs, _, logits = linear_problem(n=20, features=12)
    relevance = {m: rng.normal(size=inputs.shape) for m in methods}
    curves = faithfulness_curves(logits, inputs, relevance, np.arange(12), np.ones(12),
                                 np.linspace(0, 1, 5), inputs, 2, 0)
    faithfulness = faithfulness_dataset(methods, REPLACEMENTS, curves, {})
    lat, lon = np.array([-10.0, 0.0, 10.0]), np.arange(0.0, 360.0, 90.0)
    agreement = seed_agreement(rng.normal(size=(3, 8, 12)), 0.25)
    both = agreement.both_top.reshape(3, 4)
    agree = agreement_dataset("gradient", [0, 1, 2], agreement, np.arange(8) % 2,
                              np.array([f"2000-{m:02d}" for m in range(1, 9)]), ["cold", "warm"],
                              both, lat, lon, 0.25, {})
    for dataset in (sanity, faithfulness, agree):
        for name, variable in dataset.data_vars.items():
            assert "long_name" in variable.attrs and "units" in variable.attrs, name
    assert (sanity_table(sanity)["survives"] == "yes").sum() == 2
    table = faithfulness_table(faithfulness)
    assert set(table["method"]) == set(methods)
    assert np.allclose(table["AUC - random (climatology)"],
                       faithfulness["auc_minus_random"].sel({"replacement": "climatology"})
                       .sel({"method": table["method"].tolist()}).values)
    assert len(agreement_table([agree])) == 2
    plot_sanity(sanity, [tmp_path / "sanity.png"], dpi=40)
    plot_faithfulness(faithfulness, [tmp_path / "faithfulness.png"], dpi=40)
    fig = plot_sample_agreement(agree, [tmp_path / "agreement.png"], dpi=40, regions=[
        region("lat30_lon250", (30, 40), (250, 260), "target"),
        region("driver region", (-10, 10), (190, 250), "driver")])
    (world,) = [ax for ax in fig.axes if hasattr(ax, "projection")]
    assert [p.get_label() for p in world.patches] == ["lat30_lon250", "driver region"]
    assert len(fig.legends[0].get_texts()) == 2
    assert fig.get_suptitle().startswith("box lat30_lon250 (110°W–100°W, 30°N–40°N)\n")
    assert all((tmp_path / f"{n}.png").stat().st_size > 0 for n in ("sanity", "faithfulness", "agreement"))
