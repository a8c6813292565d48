"""The synthetic ENSO source: layout of the files, determinism, and that its answer is the truth."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.enso.psl import read_psl_index
from geoxai.enso.synthetic import (
    COBE_TIME_UNITS,
    generate_enso,
    simulate_enso,
    synthetic_index,
    synthetic_settings,
)

SMALL = {"grid_degrees": 10, "start": "1950-01", "end": "1959-12"}


def generate(folder, settings):
    paths = {name: folder / name for name in ("sst.nc", "nino34.data", "truth.nc")}
    generate_enso(settings, paths["sst.nc"], paths["nino34.data"], paths["truth.nc"])
    return paths


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The default world (4 degrees, 1880-2018), generated once for the module."""
    paths = generate(tmp_path_factory.mktemp("synthetic"), {})
    with xr.open_dataset(paths["sst.nc"]) as sst, xr.open_dataset(paths["truth.nc"]) as truth:
        yield {"paths": paths, "sst": sst.load(), "truth": truth.load()}


def test_sst_file_has_the_cobe_sst2_layout(demo):
    with xr.open_dataset(demo["paths"]["sst.nc"], decode_times=False) as raw:
        sst = raw["sst"]
        assert sst.dims == ("time", "lat", "lon")
        assert sst.dtype == np.float32
        assert sst.attrs["units"] == "degC"
        assert raw["time"].attrs["units"] == COBE_TIME_UNITS
        assert raw["time"].attrs["calendar"] == "standard"
        assert raw["lat"].attrs["units"] == "degrees_north"
        assert raw["lon"].attrs["units"] == "degrees_east"
        lat, lon = raw["lat"].to_numpy(), raw["lon"].to_numpy()
    assert lat[0] == 88 and lat[-1] == -88 and np.all(np.diff(lat) == -4)
    assert lon[0] == 2 and lon[-1] == 358 and np.all(np.diff(lon) == 4)
    times = demo["sst"]["time"].to_index()
    assert times[0].strftime("%Y-%m-%d") == "1880-01-01"
    assert times[-1].strftime("%Y-%m-%d") == "2018-12-01"
    assert len(times) == 139 * 12 and set(times.day) == {1}
    assert "Conventions" in demo["sst"].attrs and demo["sst"].attrs["config"]


def test_land_is_nan_exactly_where_the_truth_says(demo):
    sst = demo["sst"]["sst"].sortby("lat")
    ocean = demo["truth"]["ocean_mask"].to_numpy() == 1
    all_nan = sst.isnull().all("time").to_numpy()
    any_nan = sst.isnull().any("time").to_numpy()
    assert np.array_equal(all_nan, ~ocean)
    assert np.array_equal(any_nan, ~ocean)
    assert 0.2 < (~ocean).mean() < 0.45  # a world with continents, not a water planet
    tropical = sst.sel(lat=slice(-10, 10)).mean().item()
    polar = sst.sel(lat=slice(60, 90)).mean().item()
    assert tropical > 20 and polar < 5  # warm tropics, cold poles


def test_index_file_matches_the_truth_and_the_sst_months(demo):
    index = read_psl_index(demo["paths"]["nino34.data"])
    truth = demo["truth"]
    assert list(index.index) == [t.strftime("%Y-%m") for t in truth["time"].to_index()]
    assert np.array_equal(index.to_numpy(), truth["index"].to_numpy())
    assert np.array_equal(truth["time"].to_numpy(), demo["sst"]["time"].to_numpy())
    assert "Synthetic" in demo["paths"]["nino34.data"].read_text()


def test_about_half_of_the_months_are_el_nino_or_la_nina(demo):
    index = demo["truth"]["index"].to_numpy()
    share = np.mean(np.abs(index) > 0.5)
    assert 0.4 < share < 0.6
    assert np.sum(index > 0.5) > 250 and np.sum(index < -0.5) > 250  # both classes present
    for seed in range(5):
        other = synthetic_index(np.random.default_rng(seed), 1668, 0.9, 0.75)
        assert 0.4 < np.mean(np.abs(other) > 0.5) < 0.6


def test_patterns_are_zero_outside_the_driving_region(demo):
    truth = demo["truth"]
    outside = truth["driving_region_mask"].to_numpy() == 0
    lat2 = np.broadcast_to(truth["lat"].to_numpy()[:, None], outside.shape)
    lon2 = np.broadcast_to(truth["lon"].to_numpy()[None, :], outside.shape)
    assert np.array_equal(~outside, (np.abs(lat2) <= 15) & (lon2 >= 160) & (lon2 <= 280))
    for name in ("el_nino_pattern", "eastern_pattern", "central_pattern"):
        pattern = truth[name].to_numpy()
        assert np.all(pattern[outside] == 0), name
        assert np.all(pattern[truth["ocean_mask"].to_numpy() == 0] == 0), name
        assert pattern.min() >= 0 and 0.5 <= pattern.max() <= 1
    weights = {name: truth[name].to_numpy().sum(axis=0) for name in
               ("eastern_pattern", "central_pattern")}
    lon = truth["lon"].to_numpy()
    east_lon, central_lon = (np.sum(w * lon) / np.sum(w) for w in weights.values())
    assert east_lon - central_lon > 25  # the two flavours are told apart by longitude


def anomalies(sst: np.ndarray) -> np.ndarray:
    """Remove each cell's monthly climatology and linear trend (what the workflow does)."""
    values = sst.astype(float)
    for month in range(12):
        values[month::12] -= values[month::12].mean(axis=0)
    t = np.arange(len(values)) - (len(values) - 1) / 2
    slope = np.tensordot(t, values, axes=1) / np.sum(t * t)
    return values - t[:, None, None] * slope[None]


def test_sst_follows_the_index_inside_the_region_only(demo):
    truth = demo["truth"]
    ocean = truth["ocean_mask"].to_numpy() == 1
    sst = demo["sst"]["sst"].sortby("lat").to_numpy()
    x = anomalies(np.where(ocean, sst, 0.0))
    index = truth["index"].to_numpy() - truth["index"].to_numpy().mean()
    denominator = np.sqrt(np.sum(index**2) * np.sum(x**2, axis=0))
    correlation = np.tensordot(index, x, axes=1) / np.where(denominator > 0, denominator, np.nan)
    strong = np.maximum(truth["eastern_pattern"], truth["central_pattern"]).to_numpy() > 0.5
    outside = (truth["driving_region_mask"].to_numpy() == 0) & ocean
    assert strong.sum() >= 20
    assert np.median(correlation[strong]) > 0.6
    assert correlation[strong].min() > 0.4
    assert np.mean(np.abs(correlation[outside])) < 0.06
    assert np.max(np.abs(correlation[outside])) < 0.25


def test_case_study_months_are_the_strongest_of_each_flavour(demo):
    truth = demo["truth"]
    months = [t.strftime("%Y-%m") for t in truth["time"].to_index()]
    index, weight = truth["index"].to_numpy(), truth["flavour_weight"].to_numpy()
    assert 0 <= weight.min() and weight.max() <= 1
    assert np.mean(weight > 0.5) > 0.2 and np.mean(weight < 0.5) > 0.2  # both flavours occur
    eastern = months.index(truth.attrs["strongest_eastern_el_nino_month"])
    central = months.index(truth.attrs["strongest_central_el_nino_month"])
    assert index[eastern] > 1 and weight[eastern] > 0.5
    assert index[central] > 1 and weight[central] < 0.5
    assert np.all(index * weight <= index[eastern] * weight[eastern])


def test_same_seed_gives_identical_arrays_and_another_seed_does_not(tmp_path):
    first = generate(tmp_path / "a", SMALL)
    second = generate(tmp_path / "b", SMALL)
    for name in ("sst.nc", "truth.nc"):
        with xr.open_dataset(first[name]) as a, xr.open_dataset(second[name]) as b:
            assert a.attrs["config_digest"] == b.attrs["config_digest"]
            for variable in a.data_vars:
                assert a[variable].to_numpy().tobytes() == b[variable].to_numpy().tobytes()
    assert first["nino34.data"].read_bytes() == second["nino34.data"].read_bytes()
    other_sst, _, _ = simulate_enso({**SMALL, "seed": 7})
    with xr.open_dataset(first["sst.nc"]) as a:
        assert not np.array_equal(a["sst"].to_numpy(), other_sst["sst"].to_numpy(),
                                  equal_nan=True)


def test_the_index_does_not_depend_on_the_grid():
    _, coarse, _ = simulate_enso({**SMALL, "grid_degrees": 10})
    _, fine, _ = simulate_enso({**SMALL, "grid_degrees": 5})
    assert coarse.equals(fine)


def test_land_none_leaves_no_missing_values():
    sst, _, truth = simulate_enso({**SMALL, "land": "none"})
    assert not sst["sst"].isnull().any()
    assert truth["ocean_mask"].to_numpy().all()


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"sede": 1}, "enso.synthetic.sede is not a setting"),
        ({"grid_degrees": 7}, "enso.synthetic.grid_degrees"),
        ({"noise_autocorrelation": 1.0}, "AR\\(1\\) coefficient"),
        ({"start": "1880-1"}, "YYYY-MM"),
        ({"start": "1990-01", "end": "1980-12"}, "not before start"),
        ({"driving_region": {"lat": [15, -15], "lon": [160, 280]}}, "south < north"),
        ({"driving_region": {"lat": [32, 46], "lon": [250, 280]}}, "no ocean cell inside"),
        ({"land": "continents"}, "enso.synthetic.land"),
    ],
)
def test_bad_settings_name_the_key(settings, says):
    with pytest.raises(GeoxaiError, match=says):
        simulate_enso({**SMALL, **settings})


def test_settings_are_completed_with_documented_defaults():
    settings = synthetic_settings({"seed": 3})
    assert settings["seed"] == 3 and settings["grid_degrees"] == 4
    assert settings["driving_region"] == {"lat": [-15.0, 15.0], "lon": [160.0, 280.0]}


# --------------------------------------------------------------------------- correlated noise


def noise_correlation_by_distance(e_folding_km, bins):
    """Mean correlation of the noise time series of cell pairs, per great-circle distance bin."""
    from geoxai.enso.synthetic.noise import correlated_noise, great_circle_km, unit_vectors

    lat, lon = np.arange(-55.0, 56.0, 10.0), np.arange(5.0, 360.0, 10.0)
    settings = {"std": 0.4, "modes": 300, "e_folding_km": e_folding_km, "autocorrelation": 0.5}
    field = correlated_noise(np.random.default_rng(1), settings, lat, lon, 2000)
    series = field.reshape(field.shape[0], -1)
    correlation = np.corrcoef(series.T)
    points = unit_vectors(lat, lon).reshape(-1, 3)
    distance = great_circle_km(points[:, None], points[None])
    means = [correlation[(distance >= a) & (distance < b)].mean() for a, b in bins]
    return np.array(means), float(series.std())


@pytest.mark.parametrize("e_folding_km", [1000.0, 2000.0])
def test_correlated_noise_has_the_configured_e_folding_distance(e_folding_km):
    bins = [(0.9 * e_folding_km, 1.1 * e_folding_km), (2.5 * e_folding_km, 3.5 * e_folding_km)]
    (at_scale, far), std = noise_correlation_by_distance(e_folding_km, bins)
    assert at_scale == pytest.approx(np.exp(-1), abs=0.08)
    assert abs(far) < 0.05
    assert std == pytest.approx(0.4, rel=0.1)


def test_correlated_noise_is_red_in_time():
    from geoxai.enso.synthetic.noise import correlated_noise

    lat, lon = np.array([0.0]), np.array([180.0])
    settings = {"std": 1.0, "modes": 20, "e_folding_km": 1500.0, "autocorrelation": 0.8}
    series = correlated_noise(np.random.default_rng(2), settings, lat, lon, 5000)[:, 0, 0]
    assert np.corrcoef(series[1:], series[:-1])[0, 1] == pytest.approx(0.8, abs=0.05)


def test_correlated_noise_off_by_default_leaves_the_world_unchanged():
    assert synthetic_settings({})["correlated_noise"]["std"] == 0
    plain, _, _ = simulate_enso(SMALL)
    explicit, _, _ = simulate_enso({**SMALL, "correlated_noise": {"std": 0.0}})
    noisy, _, truth = simulate_enso({**SMALL, "correlated_noise": {"std": 0.4}})
    assert plain["sst"].equals(explicit["sst"])
    difference = (noisy["sst"] - plain["sst"]).to_numpy()[:, truth["ocean_mask"].to_numpy()[::-1]]
    assert 0.3 < np.nanstd(difference) < 0.5


def test_with_correlated_noise_the_best_weights_are_not_the_pattern():
    """The point of the noise: the best linear discriminant (Σ⁻¹ p) no longer equals the pattern."""
    from geoxai.enso.synthetic import enso_pattern, grid_centres, ocean_mask
    from geoxai.enso.synthetic.noise import noise_modes

    s = synthetic_settings({"correlated_noise": {"std": 0.4}})
    noise = s["correlated_noise"]
    lat, lon = grid_centres(8.0)
    ocean = ocean_mask(lat, lon)
    region = s["driving_region"]
    pattern = sum(enso_pattern(lat, lon, s[f"{f}_center"], s[f"{f}_width"], region, ocean, 5.0)
                  for f in ("eastern", "central"))[ocean]
    modes = noise_modes(np.random.default_rng(0), lat, lon, noise["modes"],
                        noise["e_folding_km"]).reshape(noise["modes"], -1)[:, ocean.ravel()]
    white = s["noise_std"] ** 2 * np.eye(pattern.size)
    for covariance, low, high in [(white, 0.999, 1.0),
                                  (white + noise["std"] ** 2 / noise["modes"] * modes.T @ modes,
                                   0.0, 0.9)]:
        weights = np.linalg.solve(covariance, pattern)
        assert low <= np.corrcoef(weights, pattern)[0, 1] <= high


@pytest.mark.parametrize(
    ("noise", "says"),
    [({"std": -1.0}, "correlated_noise.std"), ({"e_folding_km": 0}, "correlated_noise.e_folding"),
     ({"modes": 2.5}, "correlated_noise.modes"), ({"autocorrelation": 1.0}, "AR\\(1\\)"),
     ({"scale": 1}, "enso.synthetic.correlated_noise")],
)
def test_bad_correlated_noise_names_the_key(noise, says):
    with pytest.raises(GeoxaiError, match=says):
        synthetic_settings({"correlated_noise": noise})
