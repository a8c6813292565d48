"""The exact-answer attribution benchmark: truth, scores, settings, product, figure, one small run."""

from __future__ import annotations

import numpy as np
import pytest

from geoxai.core.errors import GeoxaiError
from geoxai.xai.benchmark.scores import (
    pearson_rows,
    positive_part_correlation,
    score,
    sign_agreement,
)
from geoxai.xai.benchmark.settings import BenchmarkSettings
from geoxai.xai.benchmark.synthetic import synthetic_anomalies
from geoxai.xai.benchmark.truth import build_benchmark, coarse_cells, draw_functions


@pytest.fixture(scope="module")
def anomalies():
    return synthetic_anomalies(20, 36, 300, seed=1, smoothing_cells=2.7)


@pytest.fixture(scope="module")
def benchmark(anomalies):
    return build_benchmark(anomalies, BenchmarkSettings(samples=4000, n_explain=100, seed=2))


# --------------------------------------------------------------------------- truth


def test_functions_vanish_at_zero_and_are_continuous_at_the_knots(benchmark):
    functions = benchmark.functions
    cells = benchmark.grid.cells
    assert np.all(functions(np.zeros((1, cells))) == 0)
    assert functions.knots.shape == (5, cells) and functions.slopes.shape == (6, cells)
    assert np.all(np.diff(functions.knots, axis=0) > 0)
    for knot in functions.knots:
        left = functions((knot - 1e-9)[None])
        right = functions((knot + 1e-9)[None])
        at = functions(knot[None])
        assert np.allclose(left, at, atol=1e-7) and np.allclose(right, at, atol=1e-7)
    # each segment is linear with its own slope
    x = functions.knots[-1] + 1.0
    assert np.allclose(functions((x + 0.5)[None]) - functions(x[None]), 0.5 * functions.slopes[-1])


def test_response_is_the_sum_of_the_exact_attribution(benchmark):
    assert np.array_equal(benchmark.truth.sum(axis=1), benchmark.response)
    expected = benchmark.functions(benchmark.inputs.astype(np.float64)) / benchmark.grid.cells
    assert np.allclose(benchmark.truth, expected)
    assert benchmark.labels.mean() == pytest.approx(0.5, abs=0.01)  # median threshold


def test_inputs_and_slopes_are_correlated_as_s_says(benchmark):
    s = benchmark.correlation
    assert np.allclose(np.diag(s), 1) and np.linalg.eigvalsh(s).min() > 0
    sample = np.corrcoef(benchmark.inputs.T)
    off = ~np.eye(len(s), dtype=bool)
    assert np.abs(sample - s)[off].max() < 0.1
    # slopes: many draws of the functions, correlation of slopes across draws matches S
    factor = np.linalg.cholesky(s)
    rng = np.random.default_rng(0)
    slopes = np.concatenate([draw_functions(rng, factor, 4).slopes for _ in range(300)])
    assert np.corrcoef(slopes.T)[off].ravel() @ s[off].ravel() > 0
    assert np.abs(np.corrcoef(slopes.T) - s)[off].mean() < 0.05


def test_classification_truth_follows_the_explained_class(benchmark):
    rows = slice(0, 10)
    explained = np.array([1, 0] * 5)
    truth = benchmark.truth_for_class(explained, rows)
    assert np.array_equal(truth[0::2], benchmark.truth[0:10:2])
    assert np.array_equal(truth[1::2], -benchmark.truth[1:10:2])


def test_coarse_grid_takes_every_kth_cell_and_keeps_a_coarse_grid(anomalies):
    grid, series = coarse_cells(anomalies, 10.0)
    assert grid.stride == (1, 1)  # 9° x 10° is already as coarse as 10°
    assert series.shape[1] == grid.cells == int(anomalies["ocean_mask"].sum())
    fine = synthetic_anomalies(90, 180, 24, seed=0)  # 2° grid
    grid, series = coarse_cells(fine, 10.0)
    assert grid.stride == (5, 5) and grid.lat.size == 18 and grid.lon.size == 36
    assert np.allclose(np.diff(grid.lat), 10.0)


# --------------------------------------------------------------------------- scores


def test_scores_of_the_truth_itself_its_negative_and_its_positive_part():
    rng = np.random.default_rng(0)
    truth = rng.standard_normal((5, 40))
    assert np.allclose(pearson_rows(truth, truth), 1)
    assert np.allclose(pearson_rows(-truth, truth), -1)
    assert np.allclose(sign_agreement(truth, truth), 1) and np.allclose(sign_agreement(-truth, truth), 0)
    assert np.allclose(positive_part_correlation(np.maximum(truth, 0), truth), 1)
    assert np.all(positive_part_correlation(truth, truth) < 1)
    negative = positive_part_correlation(np.minimum(truth, 0), truth, output_sign=-np.ones(5))
    assert np.allclose(negative, 1)  # a negative output is matched against the negative part
    truth[0, :20] = 0
    assert sign_agreement(-truth, truth)[0] == 0  # the zero cells are not counted as agreeing
    constant = truth.copy()
    constant[1] = 3.0
    scores = score(constant, truth)
    assert np.isnan(scores.correlation[1]) and scores.constant_attribution == 1
    assert np.isfinite(np.delete(scores.correlation, 1)).all()


# --------------------------------------------------------------------------- settings


def test_unknown_and_bad_settings_name_the_key():
    with pytest.raises(GeoxaiError, match=r"attribution_benchmark\.sample_count"):
        BenchmarkSettings.from_config({"sample_count": 10})
    with pytest.raises(GeoxaiError, match=r"attribution_benchmark\.task"):
        BenchmarkSettings.from_config({"task": "ranking"})
    with pytest.raises(GeoxaiError, match=r"attribution_benchmark\.n_explain"):
        BenchmarkSettings.from_config({"samples": 100, "n_explain": 50})
    assert BenchmarkSettings.from_config({"hidden_units": [4, 4]}).hidden_units == (4, 4)


# --------------------------------------------------------------------------- linear case


def test_linear_response_and_linear_network_give_input_times_gradient_exactly(anomalies):
    """One segment (no breakpoints, equal slopes): y = x·a / cells; a linear network with those
    weights set by hand has input × gradient equal to the exact attribution."""
    from geoxai.learn.models import ModelSettings, build_model
    from geoxai.xai.explain import explain

    settings = BenchmarkSettings(samples=200, n_explain=20, breakpoints=0)
    benchmark = build_benchmark(anomalies, settings)
    functions = benchmark.functions
    slope = functions.slopes[0]
    linear = type(functions)(functions.knots, np.vstack([slope, slope]), functions.values)
    cells = benchmark.grid.cells
    truth = linear(benchmark.inputs.astype(np.float64)) / cells
    assert np.allclose(truth, benchmark.inputs * slope / cells)

    model = build_model(cells, 1, ModelSettings(hidden_units=(), l2=(0.0,)), softmax=False)
    model.get_layer("logits").set_weights([(slope / cells)[:, None].astype(np.float32), np.zeros(1, np.float32)])
    inputs = benchmark.inputs[:20]
    gradient = explain(model, inputs, "gradient", backend="numpy").relevance
    assert np.allclose(inputs * gradient, truth[:20], rtol=1e-5, atol=1e-8)
    assert np.allclose(pearson_rows(inputs * gradient, truth[:20]), 1)
    z = explain(model, inputs, "z", backend="numpy").relevance
    assert np.allclose(z, truth[:20], rtol=1e-4, atol=1e-7)


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def product(anomalies):
    from geoxai.xai.benchmark import run_benchmark

    # a 18° x 20° grid (136 cells) of a field correlated over about one coarse cell: measured,
    # R² 0.97 in about 6 s (more cells or fewer samples fit worse; smoother fields let the network
    # spread the answer over collinear cells)
    settings = BenchmarkSettings(samples=50_000, n_explain=200, epochs=8, grid_degrees=20, seed=0)
    return run_benchmark(anomalies, settings, ["z", "epsilon", "alpha_1_beta_0", "gradient"])


def test_small_run_fits_and_lrp_beats_the_gradient(product):
    assert int(product["fits"]) == 1 and float(product["fit"]) >= 0.95, float(product["fit"])
    median = product["correlation"].median("sample")
    for method in ("z", "epsilon"):
        assert float(median.sel(rule=method)) > float(median.sel(rule="gradient")) + 0.2
    assert str(product["reference"].sel(rule="alpha_1_beta_0").values) == "positive_part"
    assert product["score"].sel(rule="alpha_1_beta_0").equals(
        product["positive_part_correlation"].sel(rule="alpha_1_beta_0"))
    assert product["mean_attribution"].dims == ("rule", "lat", "lon")


def test_product_round_trip_figure_and_table(product, tmp_path):
    from geoxai.figures.benchmark import median_table, plot_benchmark
    from geoxai.products.benchmark import read_benchmark, write_benchmark

    path = tmp_path / "attribution_benchmark.nc"
    write_benchmark(product, path)
    again = read_benchmark(path)
    assert np.allclose(again["correlation"].values, product["correlation"].values, equal_nan=True)
    assert again.attrs["setting_samples"] == 50_000 and again["correlation"].attrs["units"] == "1"
    table = median_table(again)
    assert next(iter(table.index)) in {"z", "epsilon"} and table["score"].is_monotonic_decreasing
    plot_benchmark(again, [tmp_path / "benchmark.png"])
    assert (tmp_path / "benchmark.png").stat().st_size > 1000


def test_poor_fit_is_flagged_or_refused(anomalies):
    from geoxai.xai.benchmark.network import fit_network

    settings = BenchmarkSettings(samples=300, n_explain=10, epochs=1, hidden_units=(2,), fail_on_poor_fit=True)
    benchmark = build_benchmark(anomalies, settings)
    with pytest.raises(GeoxaiError, match="does not fit|below attribution_benchmark.min_fit"):
        fit_network(benchmark, settings)
