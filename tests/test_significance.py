"""Significance of composites against networks trained on shuffled labels (Labe & Barnes 2021):
the block shuffle, the percentile threshold and p-values with known answers, the FDR, the
bootstrap, the settings, and the steps end to end on a toy grid."""

from __future__ import annotations

import json

import netCDF4
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import open_product
from geoxai.xai.composites import composite_relevance
from geoxai.xai.significance import (
    SignificanceSettings,
    bootstrap_composites,
    null_threshold,
    permutation_p_values,
    shuffle_in_year_blocks,
    significance_fields,
    year_blocks,
)


def monthly_keys(rng, years=range(1900, 1940)):
    """A label table's months: a varying number of kept months per year, as after thresholds."""
    keys = []
    for year in years:
        months = np.sort(rng.choice(np.arange(1, 13), rng.integers(1, 13), replace=False))
        keys += [f"{year}-{m:02d}" for m in months]
    return np.array(keys)


# --------------------------------------------------------------------------- block shuffle


def test_block_shuffle_keeps_each_years_labels_together_and_the_class_counts():
    rng = np.random.default_rng(1)
    time = monthly_keys(rng)
    n = len(time)
    split = np.where(np.arange(n) < int(0.8 * n), "train", "validation")
    identity = np.arange(n)  # labels that name their sample: where each one went
    moved = shuffle_in_year_blocks(identity, time, split, np.random.default_rng(7))
    train = split == "train"
    assert np.array_equal(moved[~train], identity[~train]), "validation labels must not move"
    assert sorted(moved[train]) == sorted(identity[train])
    assert not np.array_equal(moved, identity)
    years = year_blocks(time)
    for year in np.unique(years[train]):
        members = np.flatnonzero(train & (years == year))
        where = np.flatnonzero(np.isin(moved, members))
        # the year's labels fill consecutive samples, in their own order
        assert np.array_equal(where, np.arange(where[0], where[0] + len(members)))
        assert np.array_equal(moved[where], members)
    # most years land somewhere else
    starts = [np.flatnonzero(np.isin(moved, np.flatnonzero(train & (years == y))))[0]
              for y in np.unique(years[train])]
    first = [np.flatnonzero(train & (years == y))[0] for y in np.unique(years[train])]
    assert np.mean(np.array(starts) != np.array(first)) > 0.8

    labels = rng.integers(0, 2, n)
    shuffled = shuffle_in_year_blocks(labels, time, split, np.random.default_rng(3))
    assert np.array_equal(np.bincount(shuffled[train], minlength=2),
                          np.bincount(labels[train], minlength=2))
    other = shuffle_in_year_blocks(labels, time, split, np.random.default_rng(4))
    assert not np.array_equal(shuffled, other), "the seed must change the shuffle"


def test_year_blocks_of_seasonal_keys_group_the_seasons_of_a_year():
    keys = ["0400-01", "0400-04", "0400-07", "0400-10", "0401-01"]
    assert year_blocks(keys).tolist() == [400, 400, 400, 400, 401]


# --------------------------------------------------------------------------- tests of the field


@pytest.fixture(scope="module")
def planted():
    """999 null composites (half-normal magnitudes) and a real one drawn from the same
    distribution, except a block of cells with a planted signal far above the null."""
    rng = np.random.default_rng(0)
    shape = (2, 20, 30)
    null = np.abs(rng.normal(size=(999, *shape)))
    real = np.abs(rng.normal(size=shape))
    signal = np.zeros(shape, bool)
    signal[:, 2:6, 3:13] = True  # 40 cells per class
    real[signal] = 6.0
    ocean = np.ones(shape[1:], np.int8)
    ocean[-2:, :] = 0  # land rows
    return real, null, signal, ocean


def test_threshold_is_the_nulls_percentile_and_p_values_are_plus_one_corrected(planted):
    real, null, _, _ = planted
    threshold = null_threshold(null, 95.0)
    assert np.allclose(threshold, np.percentile(null, 95.0, axis=0))
    p = permutation_p_values(real, null)
    assert p.min() >= 1 / 1000 and p.max() <= 1
    # a cell above every null composite gets the smallest possible p, one below all of them 1
    assert permutation_p_values(np.full((1,), 1e9), null[:, :1, 0, 0]).item() == 1 / 1000
    assert permutation_p_values(np.full((1,), -1.0) * 0, null[:, :1, 0, 0]).item() == 1.0
    # magnitudes: a large negative composite is as significant as a large positive one
    assert permutation_p_values(np.array([-1e9]), null[:, :1, 0, 0]).item() == 1 / 1000


def test_planted_signal_is_significant_noise_at_the_nominal_rate_and_rarely_after_fdr(planted):
    real, null, signal, ocean = planted
    fields = significance_fields(real, null, ocean, percentile=95.0, q=0.05)
    wet = np.broadcast_to(ocean > 0, real.shape)
    assert fields["significant"][signal & wet].all()
    assert fields["significant_fdr"][signal & wet].all()
    noise = wet & ~signal
    above = fields["significant"][noise].mean()
    nominal = (fields["p_value"][noise] <= 0.05).mean()
    assert 0.03 < above < 0.07 and 0.03 < nominal < 0.07  # about 5% of pure-noise cells
    assert fields["significant_fdr"][noise].mean() < 0.01  # and hardly any after the FDR
    assert not fields["significant"][~wet].any() and np.isnan(fields["p_value"][~wet]).all()


def test_networks_without_a_composite_are_left_out_of_the_null(planted):
    real, null, _, _ = planted
    partial = null.copy()
    partial[:499, 1] = np.nan  # half the networks never predicted class 1
    p = permutation_p_values(real, partial)
    assert p[1].min() >= 1 / 501 and p[0].min() < 1 / 501
    assert np.isfinite(null_threshold(partial, 95.0)).all()
    none = np.full_like(null[:3], np.nan)
    assert np.isnan(permutation_p_values(real, none)).all()


def test_shapes_of_real_and_null_must_agree(planted):
    real, null, _, ocean = planted
    with pytest.raises(GeoxaiError, match="same grid"):
        significance_fields(real[:1], null, ocean, 95.0, 0.05)


# --------------------------------------------------------------------------- bootstrap


def toy_relevance(n: int, seed: int, rng) -> tuple[xr.Dataset, np.ndarray]:
    lat, lon = np.arange(-10.0, 10.0, 4.0), np.arange(0.0, 40.0, 4.0)
    labels = rng.integers(0, 2, n)
    relevance = rng.gamma(2.0, size=(n, lat.size, lon.size)).astype(np.float32)
    relevance[:, 1, 2] += 3.0 * labels  # class 1 has more relevance at one cell
    time = np.array([f"{1000 + i // 12:04d}-{i % 12 + 1:02d}" for i in range(n)])
    dataset = xr.Dataset(
        {"relevance": (("sample", "lat", "lon"), relevance)},
        coords={"lat": lat, "lon": lon, "time": ("sample", time),
                "true_class": ("sample", labels), "predicted_class": ("sample", labels),
                "split": ("sample", np.array(["train"] * n))},
        attrs={"seed": seed},
    )
    return dataset, time


def over_seeds(sets, time):
    lat, lon = sets[0]["lat"].values, sets[0]["lon"].values
    maps = np.zeros((len(time), lat.size, lon.size), np.float32)
    result = composite_relevance(sets, maps, time, {}, lat, lon, np.ones((lat.size, lon.size)),
                                 ["a", "b"])
    return result["relevance_composite_mean"].values


def resampled_composites(sets, time, repeats, rng):
    """The bootstrap the slow, obvious way: each seed's file resampled, then composited."""
    draws = []
    for _ in range(repeats):
        resampled = [ds.isel(sample=rng.integers(0, ds.sizes["sample"], ds.sizes["sample"]))
                     for ds in sets]
        draws.append(over_seeds(resampled, time))
    return np.stack(draws)


def test_bootstrap_is_the_composite_of_resampled_files():
    """The weighted sums give what compositing each resampled file gives, draw for draw, also
    where a resample holds no sample of a class in some seed."""
    rng = np.random.default_rng(3)
    sets, time = zip(*(toy_relevance(n, seed, rng) for seed, n in ((0, 40), (1, 7))))
    sets = list(sets)
    sets[1]["predicted_class"][:] = np.where(np.arange(7) == 0, sets[1]["true_class"][0], -1)
    fast = bootstrap_composites(sets, 2, "all", 50, np.random.default_rng(9))
    slow = resampled_composites(sets, time[0], 50, np.random.default_rng(9))
    assert fast.shape == slow.shape == (50, 2, 5, 10)
    np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-6)
    assert not np.allclose(fast[0], fast[1]), "each repeat its own draw"


def test_bootstrap_spread_shrinks_with_more_samples_and_brackets_the_composite():
    rng = np.random.default_rng(5)
    widths = {}
    for n in (60, 960):
        sets, time = zip(*(toy_relevance(n, seed, rng) for seed in (0, 1)))
        draws = bootstrap_composites(list(sets), 2, "all", 60, np.random.default_rng(0))
        assert draws.shape == (60, 2, 5, 10)
        low, high = np.percentile(draws, [5, 95], axis=0)
        real = over_seeds(list(sets), time[0])
        assert np.mean((real >= low) & (real <= high)) > 0.8
        widths[n] = float((high - low).mean())
    # 16 times the samples: about a quarter of the width
    assert widths[960] < 0.4 * widths[60]
    again = bootstrap_composites(list(sets), 2, "all", 60, np.random.default_rng(0))
    assert np.array_equal(again, draws), "seeded: the same draws again"
    fewer = bootstrap_composites(list(sets), 2, "all", 3, np.random.default_rng(0))
    np.testing.assert_allclose(fewer, draws[:3], rtol=1e-5)  # the same first draws


# --------------------------------------------------------------------------- settings


def test_settings_name_their_full_config_key():
    assert SignificanceSettings.from_config({}).null_seeds()[:2] == [1000, 1001]
    with pytest.raises(GeoxaiError, match=r"significance\.bogus"):
        SignificanceSettings.from_config({"bogus": 1})
    for key, value in {"networks": 0, "percentile": 100, "q": 0, "bootstrap": 0,
                       "spread": [95, 5]}.items():
        with pytest.raises(GeoxaiError, match=rf"significance\.{key}"):
            SignificanceSettings.from_config({key: value})


# --------------------------------------------------------------------------- the steps


def write_toy_inputs(folder):
    """Monthly maps on a 6 x 10 grid whose class lives in a 2 x 3 box; 30 years."""
    from geoxai.products.anomalies import anomaly_dataset, write_anomalies
    from geoxai.products.labels import write_label_table

    rng = np.random.default_rng(2)
    lat, lon = np.arange(-25.0, 30.0, 10.0), np.arange(0.0, 100.0, 10.0)
    time = np.array([f"{1950 + i // 12}-{i % 12 + 1:02d}" for i in range(360)])
    labels = rng.integers(0, 2, time.size)
    maps = rng.normal(size=(time.size, lat.size, lon.size))
    maps[:, 2:4, 3:6] += 1.5 * (2 * labels - 1)[:, None, None]
    ocean = np.ones((lat.size, lon.size), np.int8)
    ocean[0, :4] = 0
    dataset = anomaly_dataset(
        xr.DataArray(maps, dims=("time", "lat", "lon"), coords={"lat": lat, "lon": lon}),
        xr.DataArray(ocean, dims=("lat", "lon"), coords={"lat": lat, "lon": lon}),
        long_name="toy", cell_methods="time: mean", comment="", title="toy",
        coords={"time_key": ("time", time)},
    )
    write_anomalies(dataset, folder / "anomalies.nc")
    split = np.where(np.arange(time.size) < 288, "train", "validation")
    write_label_table(pd.DataFrame({"time": time, "index": 2.0 * labels - 1, "label": labels,
                                    "split": split}), folder / "labels.csv")
    box = np.zeros((lat.size, lon.size), bool)
    box[2:4, 3:6] = True
    return box


def test_steps_find_the_planted_box_significant_and_the_null_learns_nothing(tmp_path):
    from geoxai.steps.explain import relevance as explain_step
    from geoxai.steps.significance import figure_significance, null_network, significance
    from geoxai.steps.train import train

    box = write_toy_inputs(tmp_path)
    inputs = {"anomalies": str(tmp_path / "anomalies.nc"), "labels": str(tmp_path / "labels.csv")}
    common = {"model_config": {"hidden_units": [8], "l2": [0.01, 0.01]},
              "training_config": {"epochs": 15, "learning_rate": 0.05, "schedule": "constant",
                                  "batch_size": 16},
              "class_names": ["cold", "warm"]}
    method = "alpha_1_beta_0"
    real, null = [], []
    for seed in (0, 1):
        scores = train(**inputs, seed=seed, model=str(tmp_path / f"seed{seed}.h5"),
                       metrics=str(tmp_path / f"seed{seed}.json"), **common)
        assert scores["accuracy"]["validation"] > 0.85
        real.append(str(tmp_path / f"seed{seed}_{method}.nc"))
        explain_step(model=str(tmp_path / f"seed{seed}.h5"), **inputs, relevance=[real[-1]],
                     methods=[method], backend="numpy", seed=seed, parameters={},
                     compression="zstd", class_names=common["class_names"])
    for k in range(4):
        null.append(str(tmp_path / f"null{k}_{method}.nc"))
        scores = null_network(**inputs, seed=1000 + k, model=str(tmp_path / f"null{k}.h5"),
                              metrics=str(tmp_path / f"null{k}.json"), relevance=[null[-1]],
                              methods=[method], backend="numpy", parameters={},
                              compression="zlib", **common)
        assert scores["accuracy"]["validation"] < 0.7, "shuffled labels: near chance"
        assert json.loads((tmp_path / f"null{k}.json").read_text())["seed"] == 1000 + k
    # explain.compression: the real networks' files in zstd, the null ones in zlib, read alike
    stored = {name: netCDF4.Dataset(name) for name in (real[0], null[0])}
    assert [f["relevance"].filters()["zstd"] for f in stored.values()] == [True, False]
    assert [f["relevance"].filters()["zlib"] for f in stored.values()] == [False, True]
    for opened in stored.values():
        opened.close()
    settings = {"networks": 4, "bootstrap": 10}
    result = significance(relevance=real, null_relevance=null, **inputs,
                          significance=str(tmp_path / "significance.nc"),
                          class_names=common["class_names"], subset="all", settings=settings)
    with open_product(tmp_path / "significance.nc") as written:
        assert written.attrs["Conventions"].startswith("CF")
        for name in ("null_threshold", "p_value", "significant", "significant_fdr",
                     "bootstrap_low", "bootstrap_high", "relevance_composite_mean"):
            assert name in written and "long_name" in written[name].attrs
    significant = result["significant"].values.astype(bool)
    assert significant[:, box].mean() > 0.8 > significant[:, ~box].mean() + 0.5
    assert (result["null_validation_accuracy"].values < 0.7).all()
    assert (result["bootstrap_low"] <= result["bootstrap_high"]).all()
    assert result.attrs["smallest_p_value"] == pytest.approx(1 / 5)
    with pytest.raises(GeoxaiError, match="significance.seed_offset"):
        significance(relevance=real, null_relevance=real, **inputs,
                     significance=str(tmp_path / "clash.nc"), class_names=common["class_names"],
                     subset="all", settings=settings)
    figure_significance(str(tmp_path / "significance.nc"), [str(tmp_path / "significance.png")],
                        {"dpi": 40})
    assert (tmp_path / "significance.png").stat().st_size > 1000
    # the maps outline the index box of the config (enso.index.region), named in the legend
    from geoxai.figures.regions import map_regions
    from geoxai.figures.significance import plot_significance

    index_region = {"name": "Nino3.4", "lat": [-5, 5], "lon": [30, 60]}
    fig = plot_significance(tmp_path / "significance.nc", [tmp_path / "outlined.png"], dpi=40,
                            regions=map_regions("enso", index_region=index_region))
    maps = [ax for ax in fig.axes if hasattr(ax, "projection")]
    assert len(maps) == 2
    assert all([p.get_label() for p in ax.patches] == ["Niño3.4"] for ax in maps)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "Niño3.4 box (index of the labels), 30°E–60°E, 5°S–5°N"]
