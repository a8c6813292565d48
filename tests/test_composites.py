"""Honest composites: which optimal inputs enter the mean, physical units beside the normalized
maps, an area-weighted region share, skill against chance, and a Fig. 6 that says what failed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from geoxai.learn.metrics import best_constant_chance, seed_table, skill_against_chance
from geoxai.products.metrics import write_evaluation
from geoxai.xai.composites import composite_relevance, relevance_share_in_region

CLASSES = ("La Nina", "El Nino")
SEEDS = (0, 1, 2)
LAT = np.arange(-60.0, 61.0, 10.0)
LON = np.arange(0.0, 360.0, 20.0)
OCEAN = np.ones((LAT.size, LON.size), dtype=np.int8)


def relevance_sets(rng, samples: int = 40, rule: str = "gradient"):
    """Per-seed relevance files: every sample classified correctly, alternating classes."""
    time = np.array([f"{1900 + i // 12:04d}-{i % 12 + 1:02d}" for i in range(samples)])
    labels = np.arange(samples) % 2
    sets = []
    for seed in SEEDS:
        maps = rng.gamma(2.0, 3.0, (samples, LAT.size, LON.size)).astype(np.float32)
        sets.append(xr.Dataset(
            {"relevance": (("sample", "lat", "lon"), maps)},
            coords={"time": ("sample", time), "true_class": ("sample", labels),
                    "predicted_class": ("sample", labels),
                    "split": ("sample", np.where(np.arange(samples) < 30, "train", "validation"))},
            attrs={"seed": seed, "rule": rule},
        ))
    anomalies = rng.normal(0.0, 1.5, (samples, LAT.size, LON.size)).astype(np.float32)
    return sets, anomalies, time


def optimal_maps(rng):
    return {(seed, c): rng.normal(0.0, 2.0, (LAT.size, LON.size)) for seed in SEEDS for c in (0, 1)}


@pytest.fixture
def composed():
    rng = np.random.default_rng(5)
    sets, anomalies, time = relevance_sets(rng)
    optimal = optimal_maps(rng)
    optimal[(2, 1)] = np.zeros_like(optimal[(2, 1)])  # a zero start that never moved
    reached = {key: True for key in optimal}
    reached[(1, 1)] = False                           # stopped below the target probability
    reached.update({(seed, 0): False for seed in SEEDS})  # La Nina: no network reached it
    result = composite_relevance(sets, anomalies, time, optimal, LAT, LON, OCEAN, CLASSES,
                                 reached=reached)
    return {"result": result, "sets": sets, "anomalies": anomalies, "optimal": optimal}


def test_only_optimal_inputs_that_reached_the_target_enter_the_mean(composed):
    result, optimal = composed["result"], composed["optimal"]
    assert result["optimal_input_count_used"].values.tolist() == [0, 1]
    assert result["optimal_input_count_excluded"].values.tolist() == [3, 2]
    assert result["optimal_input_used"].sel(**{"class": "El Nino"}).values.tolist() == [1, 0, 0]
    only = optimal[(0, 1)]
    np.testing.assert_allclose(result["optimal_input_mean"].values[1], only / np.abs(only).max(),
                               rtol=1e-5)
    np.testing.assert_allclose(result["optimal_input_mean_physical"].values[1], only, rtol=1e-5)
    assert result["optimal_input_mean_physical"].attrs["units"] == "K"
    # No network reached it: no mean to show as a result, only the greyed stand-in.
    assert np.isnan(result["optimal_input_mean"].values[0]).all()
    unreached = result["optimal_input_mean_unreached"].values[0]
    assert np.isfinite(unreached).all() and np.abs(unreached).max() <= 1


def test_without_flags_every_non_zero_optimal_input_is_used():
    rng = np.random.default_rng(6)
    sets, anomalies, time = relevance_sets(rng)
    optimal = optimal_maps(rng)
    optimal[(0, 0)] = np.zeros_like(optimal[(0, 0)])
    result = composite_relevance(sets, anomalies, time, optimal, LAT, LON, OCEAN, CLASSES)
    assert result["optimal_input_count_used"].values.tolist() == [2, 3]


def test_composites_are_stored_in_physical_units_beside_the_normalized_ones(composed):
    result, sets, anomalies = composed["result"], composed["sets"], composed["anomalies"]
    el_nino = np.arange(anomalies.shape[0]) % 2 == 1
    sst = anomalies[el_nino].mean(axis=0)
    np.testing.assert_allclose(result["sst_composite_physical"].values[1], sst, rtol=1e-5)
    assert result["sst_composite_physical"].attrs["units"] == "K"
    np.testing.assert_allclose(result["sst_composite"].values[1], sst / np.abs(sst).max(),
                               rtol=1e-5)
    raw = np.mean([ds["relevance"].values[el_nino].mean(axis=0) for ds in sets], axis=0)
    np.testing.assert_allclose(result["relevance_composite_raw"].values[1], raw, rtol=1e-5)
    assert result["relevance_composite_raw"].attrs["units"] == "K-1"  # the gradient: logit per K
    # The normalized composite is a mean of maps with maximum 1; the raw one keeps its size.
    assert result["relevance_composite_mean"].values.max() <= 1
    assert result["relevance_composite_raw"].values.max() > 1


def test_attribution_units_are_those_of_the_logit():
    rng = np.random.default_rng(7)
    sets, anomalies, time = relevance_sets(rng, rule="integrated_gradients")
    result = composite_relevance(sets, anomalies, time, optimal_maps(rng), LAT, LON, OCEAN,
                                 CLASSES)
    assert result["relevance_composite_raw"].attrs["units"] == "1"


def test_region_share_is_area_weighted():
    lat = np.arange(-87.5, 90, 5.0)
    ocean = np.ones((lat.size, 72))
    region = np.zeros_like(ocean)
    region[np.abs(lat) < 15] = 1
    # Relevance spread evenly over the area: each cell holds an amount ∝ its area.
    even = np.cos(np.deg2rad(lat))[:, None] * ocean
    assert relevance_share_in_region(even, region, ocean, lat=lat) == pytest.approx(1.0)
    # Counting cells instead calls the tropics over-relevant by the ratio of mean cos(lat).
    by_cells = relevance_share_in_region(even, region, ocean)
    assert by_cells == pytest.approx(np.cos(np.deg2rad(lat[np.abs(lat) < 15])).mean()
                                     / np.cos(np.deg2rad(lat)).mean(), rel=1e-6)
    assert by_cells > 1.4
    focused = even * region
    assert relevance_share_in_region(focused, region, ocean, lat=lat) == pytest.approx(
        np.cos(np.deg2rad(lat)).sum() / np.cos(np.deg2rad(lat[np.abs(lat) < 15])).sum())


def label_table(validation_labels):
    labels = np.concatenate([np.zeros(50, int), np.asarray(validation_labels)])
    split = ["train"] * 50 + ["validation"] * len(validation_labels)
    return pd.DataFrame({"time": [f"t{i}" for i in range(labels.size)], "index": 0.0,
                         "label": labels, "split": split})


def test_chance_is_the_majority_class_of_the_validation_labels():
    table = label_table([1] * 70 + [0] * 30)
    assert best_constant_chance(table)[0] == pytest.approx(0.7)
    # 72 of 100 right is what always saying "1" nearly does: not skilful.
    weak = skill_against_chance([0.70, 0.72, 0.75], table)
    assert weak["chance"] == pytest.approx(0.7) and weak["median_accuracy"] == pytest.approx(0.72)
    assert weak["p_value"] >= 0.05 and not weak["skilful"]
    strong = skill_against_chance([0.9, 0.95, 0.85], table)
    assert strong["p_value"] < 1e-4 and strong["skilful"]


def test_composite_step_stores_skill_against_chance(tmp_path):
    from geoxai.steps.composite import skill_variables

    evaluation = tmp_path / "evaluation.csv"
    write_evaluation(seed_table([{"seed": s, "accuracy": {"train": 1.0, "validation": a}}
                                 for s, a in zip(SEEDS, (0.62, 0.58, 0.60), strict=True)]),
                     evaluation)
    labels = tmp_path / "labels.csv"
    label_table([1] * 55 + [0] * 45).to_csv(labels, index=False)
    variables = skill_variables(str(evaluation), str(labels), np.array(SEEDS))
    assert float(variables["validation_accuracy_median"]) == pytest.approx(0.60)
    assert float(variables["chance_accuracy"]) == pytest.approx(0.55)
    assert int(variables["validation_samples"]) == 100
    assert int(variables["skilful"]) == (float(variables["skill_p_value"]) < 0.05) == 0


def figure_texts(fig):
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    return texts, titles, fig._suptitle.get_text()


@pytest.mark.parametrize("skilful", [True, False])
def test_figure_marks_a_missed_target_and_networks_without_skill(composed, tmp_path, skilful):
    from geoxai.figures.composites import plot_composites

    result = composed["result"].assign(
        validation_accuracy_median=0.97 if skilful else 0.55, chance_accuracy=0.53,
        skill_p_value=1e-30 if skilful else 0.3, skilful=np.int8(skilful))
    path = tmp_path / "composites.nc"
    result.to_netcdf(path)
    fig = plot_composites(path, "La Nina", [tmp_path / "la_nina.png"], dpi=40)
    texts, titles, suptitle = figure_texts(fig)
    assert "did not reach target probability" in texts
    assert "did not reach target probability" in titles[0]
    assert any(p.get_hatch() for ax in fig.axes for p in ax.patches)
    assert ("median validation accuracy 0.97 vs chance 0.53" in suptitle) is skilful
    assert ("not skilful" in texts) is (not skilful)
    assert ("NOT SKILFUL" in suptitle) is (not skilful)
    fig = plot_composites(path, "El Nino", [tmp_path / "el_nino.png"], dpi=40)
    texts, titles, _ = figure_texts(fig)
    assert "did not reach target probability" not in texts
    assert "mean of 1 networks; 2 left out" in titles[0]
    assert not any(p.get_hatch() for ax in fig.axes for p in ax.patches)
