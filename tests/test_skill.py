"""Application 2's honest skill: chance from the class frequencies, balanced accuracy, a binomial
test per box against that chance, the false discovery rate over boxes, and the skill map."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.stats import binomtest

from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import load_product
from geoxai.learn.metrics import balanced_accuracy, best_constant_chance, skill_significance
from geoxai.products.labels import write_label_table
from geoxai.products.metrics import write_evaluation, write_metrics
from geoxai.products.targets import targets_dataset
from geoxai.steps import figures as figure_steps


def label_table(train: list[int], validation: list[int], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.array(train + validation)
    return pd.DataFrame({
        "time": [f"{400 + k // 4:04d}-{3 * (k % 4) + 1:02d}" for k in range(labels.size)],
        "index": np.where(labels == 1, 1.0, -1.0) * rng.uniform(0.1, 1.0, labels.size),
        "label": labels,
        "split": ["train"] * len(train) + ["validation"] * len(validation),
        "persistence": rng.integers(0, 2, labels.size),
    })


def test_chance_is_the_best_constant_forecast_on_validation():
    # training: 7 warm of 10; validation: 2 warm of 5 -> "always cold" scores 0.6 there: chance is
    # 0.6, not the training majority's 0.4 (a bar a worse-than-coin network could clear)
    table = label_table([1, 1, 1, 1, 1, 1, 1, 0, 0, 0], [1, 0, 0, 1, 0])
    assert best_constant_chance(table) == (0.6, 0)
    assert best_constant_chance(label_table([0, 0, 0, 1], [1, 1, 1, 0])) == (0.75, 1)
    assert best_constant_chance(label_table([0, 1, 0, 1], [0, 0, 1, 0])) == (0.75, 0)
    assert best_constant_chance(label_table([0, 1], [0, 1, 0, 1]))[0] == 0.5


def test_balanced_accuracy_is_the_mean_recall_over_classes():
    # rows true, columns predicted: recall cold 8/10, warm 45/90 -> (0.8 + 0.5) / 2
    assert balanced_accuracy([[8, 2], [45, 45]]) == pytest.approx(0.65)
    # always warm on a 80 % warm set: accuracy 0.8 but balanced accuracy 0.5
    assert balanced_accuracy([[0, 20], [0, 80]]) == pytest.approx(0.5)
    assert balanced_accuracy([[3, 0], [0, 0]]) == 1.0  # a class without samples does not count
    assert np.isnan(balanced_accuracy(np.zeros((2, 2))))


def test_a_network_that_matches_an_unbalanced_chance_is_not_significant():
    """A box whose validation labels are 80 % warm: 0.8 accuracy is what
    always-warm scores, so it is not skill; 0.95 is."""
    n = 100
    chance = np.array([0.8, 0.8])
    p, significant = skill_significance(np.array([0.8, 0.95]), np.array([n, n]), chance, 0.05)
    assert p[0] > 0.4 and p[1] < 1e-3
    assert significant.tolist() == [False, True]
    assert p[1] == pytest.approx(binomtest(95, n, 0.8, alternative="greater").pvalue)
    # against the old coin toss, 0.8 would have looked highly significant
    assert skill_significance(np.array([0.8]), np.array([n]), np.array([0.5]), 0.05)[0][0] < 1e-8


def test_the_false_discovery_rate_is_held_over_boxes():
    n = np.full(6, 160)
    chance = np.full(6, 0.5)
    # each of these alone beats chance at 5 %, but not all after Benjamini–Hochberg over 6 boxes
    accuracy = np.array([0.65, 0.575, 0.57, 0.5, 0.48, np.nan])
    p, significant = skill_significance(accuracy, n, chance, 0.05)
    assert (p[:3] < 0.05).all() and np.isnan(p[5])
    m = 5  # the NaN box does not count
    ordered = np.sort(p[np.isfinite(p)])
    passing = np.nonzero(ordered <= 0.05 * np.arange(1, m + 1) / m)[0]
    expected = p <= ordered[passing.max()] if passing.size else np.zeros(6, bool)
    assert significant.tolist() == expected.tolist()
    assert significant[0] and not significant[2:].any()
    # a looser q lets more boxes through, never fewer
    assert significant.sum() <= skill_significance(accuracy, n, chance, 0.2)[1].sum()


# --- the step: skill.nc from label tables, evaluations and metrics ------------------------------

SEEDS = (0, 1, 2)


def write_inputs(tmp_path, boxes: dict[str, tuple[pd.DataFrame, list[float]]]):
    """Per box: its label table and each seed's validation accuracy (predictions made to match)."""
    (tmp_path / "labels").mkdir()
    (tmp_path / "evaluation").mkdir()
    evaluations, labels, metrics = [], [], []
    for box, (table, accuracies) in boxes.items():
        write_label_table(table, tmp_path / "labels" / f"{box}.csv")
        labels.append(str(tmp_path / "labels" / f"{box}.csv"))
        truth = table.loc[table["split"] == "validation", "label"].to_numpy()
        rows = []
        for seed, accuracy in zip(SEEDS, accuracies, strict=True):
            predicted = truth.copy()
            wrong = round((1 - accuracy) * truth.size)
            predicted[:wrong] = 1 - predicted[:wrong]  # the first ones wrong
            confusion = np.zeros((2, 2), int)
            np.add.at(confusion, (truth, predicted), 1)
            path = tmp_path / "models" / box / f"seed{seed}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            write_metrics(path, {"seed": seed, "accuracy": {"train": 0.9,
                                                            "validation": accuracy},
                                 "confusion": {"validation": confusion.tolist()},
                                 "history": {k: [0.5] for k in ("loss", "accuracy", "val_loss",
                                                                 "val_accuracy")}})
            metrics.append(str(path))
            rows.append({"seed": str(seed), "train_accuracy": 0.9,
                         "validation_accuracy": float((predicted == truth).mean())})
        write_evaluation(pd.DataFrame(rows), tmp_path / "evaluation" / f"{box}.csv")
        evaluations.append(str(tmp_path / "evaluation" / f"{box}.csv"))
    ids = list(boxes)
    lats = [float(b.split("_")[0][3:]) for b in ids]
    lons = [float(b.split("_")[1][3:]) for b in ids]
    series = xr.DataArray(np.zeros((4, len(ids))), dims=("time", "box"),
                          coords={"box": ids, "box_lat": ("box", lats), "box_lon": ("box", lons),
                                  "box_land_fraction": ("box", [1.0] * len(ids))},
                          name="trefht_box_anomaly")
    dataset = targets_dataset(series, [x + 10 for x in lats], [x + 10 for x in lons], ["DJF"])
    dataset.to_netcdf(tmp_path / "targets.nc")
    return evaluations, labels, metrics, str(tmp_path / "targets.nc")


def test_skill_file_tests_each_box_against_its_own_chance(tmp_path):
    warm = [1] * 80 + [0] * 20  # validation 80 % warm
    train = [1] * 300 + [0] * 100
    balanced_labels = [1, 0] * 50
    inputs = write_inputs(tmp_path, {
        "lat30_lon250": (label_table(train, warm), [0.95, 0.94, 0.96]),
        "lat30_lon260": (label_table(train, warm, seed=1), [0.80, 0.79, 0.81]),
        "lat40_lon250": (label_table([1, 0] * 200, balanced_labels, seed=2), [0.5, 0.52, 0.48]),
    })
    skill = figure_steps.lst_skill(*inputs[:3], inputs[3], str(tmp_path / "skill.nc"),
                                   {"fdr_q": 0.05})
    back = load_product(tmp_path / "skill.nc")
    chance = back["chance_accuracy"].values
    np.testing.assert_allclose(chance, [0.8, 0.8, 0.5])
    assert back["significant"].values.tolist() == [1, 0, 0]
    assert back["p_value"].values[1] > 0.4
    median = back["validation_accuracy_median"].values
    np.testing.assert_allclose(back["accuracy_minus_chance"].values, median - chance, atol=1e-6)
    # balanced accuracy from the confusion matrices: mean recall, as computed by hand here
    truth = np.array(warm)
    predicted = truth.copy()
    predicted[:5] = 0  # seed 0 of the first box: 5 wrong, all warm days called cold
    recall = [(predicted[truth == c] == c).mean() for c in (0, 1)]
    assert float(back["balanced_accuracy"].sel(box="lat30_lon250", seed=0)) == pytest.approx(
        np.mean(recall), abs=1e-6)
    assert "balanced_accuracy_median" in back
    for name in ("chance_accuracy", "p_value", "significant", "balanced_accuracy"):
        assert back[name].attrs["long_name"], name
    assert "constant forecast" in back.attrs["chance"]
    assert back["significant"].attrs["fdr_q"] == 0.05
    assert "binomial" in back["p_value"].attrs["comment"]
    assert skill.sizes["seed"] == len(SEEDS)


def test_skill_step_needs_the_confusion_matrices(tmp_path):
    inputs = write_inputs(tmp_path, {"lat30_lon250": (label_table([1, 0] * 20, [1, 0] * 5),
                                                      [0.6, 0.6, 0.6])})
    path = inputs[2][0]
    metrics = json.loads(Path(path).read_text())
    del metrics["confusion"]
    write_metrics(path, metrics)
    with pytest.raises(GeoxaiError, match="confusion"):
        figure_steps.lst_skill(*inputs[:3], inputs[3], str(tmp_path / "skill.nc"), {})
    with pytest.raises(GeoxaiError, match="lst.skill"):
        figure_steps.lst_skill(*inputs[:3], inputs[3], str(tmp_path / "skill.nc"),
                               {"fdr": 0.1})


def test_skill_map_hatches_the_boxes_that_are_not_significant(tmp_path):
    import matplotlib.pyplot as plt

    from geoxai.figures import skill_map

    warm = [1] * 40 + [0] * 10
    inputs = write_inputs(tmp_path, {
        "lat30_lon250": (label_table([1] * 150 + [0] * 50, warm), [0.96, 0.94, 0.98]),
        "lat30_lon260": (label_table([1] * 150 + [0] * 50, warm, seed=1), [0.8, 0.8, 0.82]),
    })
    figure_steps.lst_skill(*inputs[:3], inputs[3], str(tmp_path / "skill.nc"), {})
    fig = skill_map.plot_skill_map(tmp_path / "skill.nc", [tmp_path / "map.png"], dpi=60)
    assert (tmp_path / "map.png").stat().st_size > 5_000
    networks, persistence = fig.axes[:2]
    hatched = [p for p in networks.patches if p.get_hatch()]
    assert len(hatched) == 1  # only the box at chance
    legend = networks.get_legend()
    assert "FDR q = 0.05" in legend.get_texts()[0].get_text()
    # Each panel says what its colours are; the numbers are as large as the boxes allow.
    assert "colour: median − chance" in networks.get_title(loc="left")
    assert "colour: persistence − chance" in persistence.get_title(loc="left")
    numbers = [t for t in networks.texts + persistence.texts if t.get_text()[:2] == "0."]
    assert len(numbers) == 4 and min(t.get_fontsize() for t in numbers) >= 9
    plt.close("all")


def test_skill_map_numbers_fit_their_boxes():
    from geoxai.figures import skill_map

    # The paper's 10° boxes over 120° of longitude on a 7.65-inch map: 0.64 inches each.
    size = skill_map.box_font_size(7.65 * 10 / 120)
    assert 8.0 <= size <= 9.0
    assert size * skill_map.TEXT_EMS / 72 <= 7.65 * 10 / 120
    assert skill_map.box_font_size(5.0) == 11.0 and skill_map.box_font_size(0.1) == 6.0


def test_a_network_worse_than_a_coin_is_not_skilful_when_the_classes_drift():
    """The demo's box lat20_lon260: training 52 % warm, validation 36 % warm. Against the training
    majority ("always warm", 0.36 on validation) its networks' 0.456 looked significant; against
    the best constant forecast (0.64) it is not."""
    table = label_table([1] * 52 + [0] * 48, [1] * 36 + [0] * 64)
    chance, _ = best_constant_chance(table)
    assert chance == pytest.approx(0.64)
    p, significant = skill_significance(np.array([0.456]), np.array([100]), np.array([chance]), 0.05)
    assert p[0] > 0.99 and not significant[0]
