"""Figures on small fake products (10° grid, 3 seeds) in exactly the formats the rules write."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.error
from pathlib import Path

import cartopy
import cartopy.crs as ccrs
import cartopy.feature as cfeature
import cmocean
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
import yaml
from cartopy.io import DownloadWarning
from cartopy.mpl.geoaxes import GeoAxes
from matplotlib.figure import Figure
from PIL import Image

from geoxai.core.errors import GeoxaiError
from geoxai.core.months import month_keys
from geoxai.core.provenance import open_product
from geoxai.figures import base, case_study, composites, maps, regions, training
from geoxai.xai.explain import rule_label

DPI = 40
SEEDS = (0, 1, 2)
CLASSES = ("La Nina", "El Nino")
MONTHS = [f"{1997 + (m // 12)}-{m % 12 + 1:02d}" for m in range(6, 18)]  # 1997-07 .. 1998-06
CASE_MONTH = "1998-05"
MISSED_BY_SEED_2 = "1998-01"  # one seed misclassified it, so it was not explained there


# --------------------------------------------------------------------------- fake products


#: Domains as (south, north), (west, east); a regional one is stored as a user's file might be.
GLOBE = {"lat": (-90, 90), "lon": (0, 360)}
NORTH_PACIFIC = {"lat": (-20, 60), "lon": (120, 280)}  # stored 0..360, crosses the dateline
# Stored -180..180, so the file lists 180°W..130°W before 150°E..180°.
DATELINE = {"lat": (-30, 30), "lon": (150, 230), "signed": True}
# Stored 0..360, so the file lists 0..30°E before 60°W..0°.
ATLANTIC = {"lat": (-10, 50), "lon": (300, 390)}


def grid(step: float = 10.0, domain: dict = GLOBE) -> tuple[np.ndarray, np.ndarray]:
    (south, north), (west, east) = domain["lat"], domain["lon"]
    lat = np.arange(south + step / 2, north, step)
    lon = np.mod(np.arange(west + step / 2, east, step), 360.0)
    if domain.get("signed"):
        lon = np.where(lon > 180, lon - 360, lon)
    return lat, np.sort(lon)


def ocean_mask(lat: np.ndarray, lon: np.ndarray) -> xr.DataArray:
    """1 over ocean, 0 over land, from the shipped Natural Earth land polygons."""
    with base.offline_natural_earth():
        land = shapely.union_all(list(
            cfeature.NaturalEarthFeature("physical", "land", "110m").geometries()))
    lon2, lat2 = np.meshgrid(np.where(lon > 180, lon - 360, lon), lat)
    is_land = shapely.contains_xy(land, lon2, lat2)
    return xr.DataArray((~is_land).astype("int8"), dims=("lat", "lon"),
                        coords={"lat": lat, "lon": lon})


def enso_pattern(lat: np.ndarray, lon: np.ndarray, centre_lon: float = 240.0) -> np.ndarray:
    lon2, lat2 = np.meshgrid(np.mod(lon, 360.0), lat)
    return np.exp(-((lat2 / 12.0) ** 2) - ((lon2 - centre_lon) / 45.0) ** 2)


def coords(lat: np.ndarray, lon: np.ndarray) -> dict:
    return {"lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"})}


def make_composites(path: Path, step: float = 10.0, domain: dict = GLOBE) -> Path:
    lat, lon = grid(step, domain)
    rng = np.random.default_rng(1)
    mask = ocean_mask(lat, lon).values
    pattern = enso_pattern(lat, lon)
    sign = np.array([-1.0, 1.0])  # La Nina cold, El Nino warm
    relevance = np.clip(
        pattern[None, None] + 0.15 * rng.standard_normal((len(SEEDS), 2, lat.size, lon.size)),
        0, None) * mask
    relevance /= relevance.max(axis=(-2, -1), keepdims=True)
    flat = relevance.reshape(len(SEEDS), 2, -1)
    correlation = np.stack([np.corrcoef(flat[:, c]) for c in range(2)])
    noise = 0.05 * rng.standard_normal((2, *mask.shape))
    sst = sign[:, None, None] * pattern[None] * mask + noise
    sst = sst * mask / np.abs(sst * mask).max(axis=(-2, -1), keepdims=True)
    optimal = sign[:, None, None] * (0.8 * pattern[None] + 4 * noise)
    dims3 = ("class", "lat", "lon")
    dataset = xr.Dataset(
        {
            "relevance_composite": (("seed", *dims3), relevance, {"units": "1"}),
            "relevance_composite_mean": (dims3, relevance.mean(0), {"units": "1"}),
            "relevance_spread": (dims3, relevance.std(0), {"units": "1"}),
            "seed_pattern_correlation": (("class", "seed", "seed_other"), correlation),
            "sst_composite": (dims3, sst, {"units": "1"}),
            "optimal_input_mean": (dims3, np.clip(optimal, -1, 1), {"units": "1"}),
            "ocean_mask": (("lat", "lon"), mask),
            "sample_count": (("seed", "class"), np.array([[480, 330], [478, 331], [485, 337]])),
        },
        coords={"class": list(CLASSES), "seed": list(SEEDS), "seed_other": list(SEEDS),
                **coords(lat, lon)},
        attrs={"rule": "alpha_1_beta_0", "backend": "innvestigate"},
    )
    dataset.to_netcdf(path)
    return path


def make_anomalies(path: Path, step: float = 10.0, domain: dict = GLOBE) -> Path:
    lat, lon = grid(step, domain)
    rng = np.random.default_rng(2)
    time = pd.date_range("1997-01-01", "1998-12-01", freq="MS")
    mask = ocean_mask(lat, lon)
    amplitude = np.sin(np.linspace(0, np.pi, time.size)) * 2.5
    sst = amplitude[:, None, None] * enso_pattern(lat, lon)[None] + 0.3 * rng.standard_normal(
        (time.size, lat.size, lon.size))
    dataset = xr.Dataset(
        {"sst_anomaly": (("time", "lat", "lon"), sst * mask.values, {"units": "K"}),
         "ocean_mask": mask},
        coords={"time": time, **coords(lat, lon)},
    )
    dataset.to_netcdf(path)
    return path


def make_relevance(folder: Path, step: float = 10.0, domain: dict = GLOBE) -> list[Path]:
    lat, lon = grid(step, domain)
    mask = ocean_mask(lat, lon).values
    paths = []
    for seed in SEEDS:
        rng = np.random.default_rng(10 + seed)
        months = [m for m in MONTHS if not (seed == 2 and m == MISSED_BY_SEED_2)]
        raw = 3.0 * np.clip(enso_pattern(lat, lon, 250.0)[None] + 0.1 * rng.standard_normal(
            (len(months), lat.size, lon.size)), 0, None) * mask
        dataset = xr.Dataset(
            {"relevance": (("sample", "lat", "lon"), raw, {"units": "1"})},
            coords={"time": ("sample", months),
                    # labels, as the explain rule writes them; the names are in the attributes
                    "true_class": ("sample", [1] * len(months)),
                    "predicted_class": ("sample", [1] * len(months)),
                    "split": ("sample", ["train"] * len(months)),
                    **coords(lat, lon)},
            attrs={"rule": "alpha_1_beta_0", "class_names": json.dumps(list(CLASSES))},
        )
        path = folder / f"seed{seed}_alpha_1_beta_0.nc"
        dataset.to_netcdf(path)
        paths.append(path)
    return paths


def make_metrics(folder: Path, epochs: int = 30) -> list[Path]:
    paths = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        decay = np.exp(-np.arange(epochs) / 5.0)
        history = {
            "loss": list(50 * decay + 0.1 + 0.01 * rng.random(epochs)),
            "val_loss": list(52 * decay + 0.12 + 0.01 * rng.random(epochs)),
            "accuracy": list(1 - 0.5 * decay - 0.01 * rng.random(epochs)),
            "val_accuracy": list(1 - 0.5 * decay - 0.02 * rng.random(epochs)),
        }
        metrics = {"seed": seed, "class_names": list(CLASSES),
                   "accuracy": {"train": history["accuracy"][-1],
                                "validation": history["val_accuracy"][-1]},
                   "confusion": {"train": [[40, 1], [0, 30]], "validation": [[10, 0], [1, 8]]},
                   "history": history}
        path = folder / f"seed{seed}.json"
        path.write_text(json.dumps(metrics))
        paths.append(path)
    return paths


def make_labels(path: Path) -> Path:
    rng = np.random.default_rng(3)
    months = pd.period_range("1950-01", "2018-12", freq="M")
    index = np.zeros(months.size)
    for i in range(1, months.size):  # an AR(1) index with ENSO-like memory
        index[i] = 0.93 * index[i - 1] + 0.3 * rng.standard_normal()
    keep = np.abs(index) > 0.5
    table = pd.DataFrame({"time": months.strftime("%Y-%m")[keep], "index": index[keep],
                          "label": (index[keep] > 0).astype(int)})
    table["split"] = np.where(np.arange(len(table)) < int(0.8 * len(table)), "train", "validation")
    table.to_csv(path, index=False)
    return path


# --------------------------------------------------------------------------- image checks


def gray(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"), dtype=float) / 255.0


def empty_frame_variance(figsize: tuple[float, float], tmp_path: Path) -> float:
    """Grayscale variance of a figure of the same size holding only an empty titled frame.

    A figure function that drew nothing but its axes would look like this; a real figure has
    filled maps and many lines, so its variance must clearly exceed this baseline.
    """
    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    fig.subplots().set_title("an empty frame")
    path = tmp_path / "baseline.png"
    fig.savefig(path, dpi=DPI)
    return float(gray(path).var())


def check_png(path: Path, figsize: tuple[float, float], tmp_path: Path) -> None:
    assert path.is_file()
    image = Image.open(path)
    assert image.size == (round(figsize[0] * DPI), round(figsize[1] * DPI))
    assert gray(path).var() > 2.0 * empty_frame_variance(figsize, tmp_path)


def check_pdf(path: Path) -> None:
    assert path.is_file()
    assert path.read_bytes()[:5] == b"%PDF-"


def outputs(tmp_path: Path, name: str) -> tuple[Path, Path]:
    return tmp_path / "figs" / f"{name}.png", tmp_path / "figs" / f"{name}.pdf"


# --------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def products(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("products")
    return {
        "composites": make_composites(folder / "nino34_alpha_1_beta_0.nc"),
        "anomalies": make_anomalies(folder / "anomalies.nc"),
        "relevance": make_relevance(folder),
        "metrics": make_metrics(folder),
        "labels": make_labels(folder / "nino34.csv"),
    }


def test_composites_figure(products, tmp_path):
    png, pdf = outputs(tmp_path, "composites")
    size = (6.0, 8.5)
    composites.plot_composites(products["composites"], "El Nino", [png, pdf], dpi=DPI, figsize=size)
    check_png(png, size, tmp_path)
    check_pdf(pdf)
    assert not list(png.parent.glob(".*"))  # no temporary files left behind


def test_composites_unknown_class_names_the_classes(products, tmp_path):
    for unknown in ("Neutral", 2):
        with pytest.raises(GeoxaiError, match="La Nina, El Nino"):
            composites.plot_composites(products["composites"], unknown, [tmp_path / "x.png"])
    assert not (tmp_path / "x.png").exists()


def test_class_chosen_by_name_or_label(products):
    with open_product(products["composites"]) as dataset:
        by_label, name = base.select_class(dataset, 1, "composites.nc")
        by_name, same = base.select_class(dataset, "El Nino", "composites.nc")
        assert name == same == "El Nino"
        xr.testing.assert_identical(by_label, by_name)


def test_case_study_figure(products, tmp_path):
    png, pdf = outputs(tmp_path, "case")
    size = (7.0, 6.5)
    case_study.plot_case_study(products["anomalies"], products["relevance"], CASE_MONTH, [png, pdf],
                             dpi=DPI, figsize=size)
    check_png(png, size, tmp_path)
    check_pdf(pdf)


def test_case_study_seed_mean_uses_seeds_that_explained_the_month(products):
    mean, used, total, true_class, _ = case_study._seed_mean_relevance(
        products["relevance"], MISSED_BY_SEED_2)
    # The file stores the label; the name is shown with its proper spelling.
    assert (len(used), total, true_class) == (2, 3, "El Niño")
    # Each map was divided by its own max before averaging, so the mean cannot exceed 1.
    assert 0.9 < float(mean.max()) <= 1.0 + 1e-12


def test_case_study_missing_month_lists_nearby_explained_months(products, tmp_path):
    png = tmp_path / "missing.png"
    with pytest.raises(GeoxaiError, match="1990-01") as error:
        case_study.plot_case_study(products["anomalies"], products["relevance"], "1990-01", [png])
    assert MONTHS[0] in str(error.value)
    assert not png.exists()


def test_training_figure(products, tmp_path):
    png, pdf = outputs(tmp_path, "training")
    size = (9.0, 3.2)
    training.plot_training(products["metrics"], [png, pdf], dpi=DPI, figsize=size)
    check_png(png, size, tmp_path)
    check_pdf(pdf)


def test_training_metrics_missing_key_named(products, tmp_path):
    broken = tmp_path / "seed9.json"
    metrics = json.loads(Path(products["metrics"][0]).read_text())
    del metrics["history"]["val_loss"]
    broken.write_text(json.dumps(metrics))
    with pytest.raises(GeoxaiError, match="history"):
        training.plot_training([broken], [tmp_path / "t.png"])


def test_seed_agreement_figure(products, tmp_path):
    png, pdf = outputs(tmp_path, "agreement")
    size = (9.0, 3.4)
    composites.plot_seed_agreement(products["composites"], "La Nina", [png, pdf], dpi=DPI,
                                 figsize=size)
    check_png(png, size, tmp_path)
    check_pdf(pdf)


def test_index_figure(products, tmp_path):
    png, pdf = outputs(tmp_path, "index")
    size = (9.0, 3.0)
    training.plot_index(products["labels"], [png, pdf], dpi=DPI, figsize=size)
    check_png(png, size, tmp_path)
    check_pdf(pdf)


def test_unsupported_output_suffix_is_refused(products, tmp_path):
    with pytest.raises(GeoxaiError, match=r"\.jpg"):
        training.plot_index(products["labels"], [tmp_path / "index.jpg"])


def test_relevance_colours_sequential_unless_the_rule_gives_negative_values():
    positive = xr.DataArray([[0.0, 0.3], [0.8, np.nan]])
    assert maps.relevance_style(positive)[1:] == (0.0, 0.8)
    signed = xr.DataArray([[-0.5, 0.3], [0.8, 0.0]])
    assert maps.relevance_style(signed)[1:] == (-0.8, 0.8)


def test_rule_labels():
    assert rule_label("alpha_1_beta_0") == "α=1, β=0"
    assert rule_label("lrp.alpha_2_beta_1") == "α=2, β=1"
    assert rule_label("my_rule") == "my_rule"


def test_month_keys_from_datetimes_cftime_and_strings():
    cftime_time = xr.date_range("0401-01-01", periods=2, freq="MS", calendar="noleap",
                                use_cftime=True)
    assert month_keys(xr.DataArray(cftime_time, dims="time")).tolist() == ["0401-01", "0401-02"]
    numpy_time = pd.date_range("1998-04-01", periods=2, freq="MS")
    assert month_keys(xr.DataArray(numpy_time, dims="time")).tolist() == ["1998-04", "1998-05"]
    assert month_keys(xr.DataArray(["1987-02"], dims="sample")).tolist() == ["1987-02"]


# --------------------------------------------------------------------------- regional grids


def test_extent_of_global_and_regional_grids():
    lat, lon = grid(1.0)
    for lons in (lon, np.where(lon > 180, lon - 360, lon), lon[::-1]):
        extent = maps.data_extent(lat, lons)
        assert extent.is_global and (extent.west, extent.east) == (0.0, 360.0)
        assert (extent.south, extent.north) == (-90.0, 90.0)
    expected = {"pacific": (NORTH_PACIFIC, 120.0, 280.0), "dateline": (DATELINE, 150.0, 230.0),
                "atlantic": (ATLANTIC, 300.0, 390.0)}
    for name, (domain, west, east) in expected.items():
        extent = maps.data_extent(*grid(5.0, domain))
        assert not extent.lon_global and not extent.is_global, name
        assert (extent.west, extent.east) == pytest.approx((west, east)), name
        assert (extent.south, extent.north) == pytest.approx(domain["lat"]), name
    # Every longitude but only the tropics: a band, not the globe.
    band = maps.data_extent(*grid(2.0, {"lat": (-30, 30), "lon": (0, 360)}))
    assert band.lon_global and not band.is_global


def test_zoom_box_is_clipped_to_the_data():
    pacific = maps.data_extent(*grid(5.0, NORTH_PACIFIC))
    box, name = maps.zoom_box(None)
    assert name == "Tropical Pacific" and (box.west, box.east) == (105.0, 290.0)
    clipped = maps.clip_extent(box, pacific)
    assert (clipped.west, clipped.east, clipped.south, clipped.north) == pytest.approx(
        (120.0, 280.0, -20.0, 22.5))
    across, _ = maps.zoom_box({"lon": [-20, 20], "lat": [0, 30]})
    assert (across.west, across.east) == (340.0, 380.0)
    atlantic = maps.data_extent(*grid(5.0, ATLANTIC))
    inside = maps.clip_extent(across, atlantic)
    assert (inside.west, inside.east) == pytest.approx((340.0, 380.0))
    # A box that reaches the domain only from the west, across the wrap: 50..150 on 100..200.
    west_part = maps.clip_extent(maps.MapExtent(50, 150, -10, 10),
                                     maps.MapExtent(100, 200, -20, 20))
    assert (west_part.west, west_part.east) == pytest.approx((100.0, 150.0))
    assert maps.clip_extent(box, atlantic) is None
    # Overlapping longitudes, but no common latitude.
    assert maps.clip_extent(maps.MapExtent(120, 140, 40, 50),
                                maps.MapExtent(120, 280, -20, 30)) is None
    with pytest.raises(GeoxaiError, match="case_study_box"):
        maps.zoom_box({"lon": [105, 290], "lat": [30, -30]})


def map_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if isinstance(ax, GeoAxes)]


def degrees_shown(ax) -> tuple[float, float, float, float]:
    """West, east (°E, east > west) and south, north of what a PlateCarree map shows."""
    centre = float(ccrs.PlateCarree().transform_point(0.0, 0.0, ax.projection)[0])
    x0, x1, south, north = ax.get_extent(ccrs.PlateCarree(central_longitude=centre))
    west = float(np.mod(x0 + centre, 360.0))
    return west, west + x1 - x0, south, north


@pytest.fixture(scope="module")
def regional(tmp_path_factory) -> dict:
    products = {}
    for name, domain in (("pacific", NORTH_PACIFIC), ("dateline", DATELINE),
                         ("atlantic", ATLANTIC)):
        folder = tmp_path_factory.mktemp(name)
        products[name] = {
            "composites": make_composites(folder / "composites.nc", 5.0, domain),
            "anomalies": make_anomalies(folder / "anomalies.nc", 5.0, domain),
            "relevance": make_relevance(folder, 5.0, domain),
            "domain": domain,
        }
    return products


@pytest.mark.parametrize("name", ["pacific", "dateline", "atlantic"])
def test_regional_maps_show_the_data_domain(regional, name, tmp_path):
    files = regional[name]
    (south, north), (west, east) = files["domain"]["lat"], files["domain"]["lon"]
    png = tmp_path / f"{name}.png"
    size = (6.0, 8.5)
    fig = composites.plot_composites(files["composites"], "El Nino", [png], dpi=DPI, figsize=size)
    axes = map_axes(fig)
    assert len(axes) == 3
    for ax in axes:
        assert isinstance(ax.projection, ccrs.PlateCarree)
        shown = degrees_shown(ax)
        assert shown == pytest.approx((np.mod(west, 360), np.mod(west, 360) + east - west,
                                       south, north), abs=5.0)  # within a cell
        # Each cell is drawn where it lies: no quad bridges the domain across the globe.
        x = ax.collections[0].get_coordinates()[..., 0]
        assert np.ptp(x) <= (east - west) + 5.0 + 1e-6
    check_png(png, size, tmp_path)
    agreement = composites.plot_seed_agreement(files["composites"], 0, [tmp_path / "s.png"], dpi=DPI)
    assert degrees_shown(map_axes(agreement)[0]) == pytest.approx(degrees_shown(axes[0]))


def test_north_pacific_extent_in_plain_platecarree(regional, tmp_path):
    fig = composites.plot_composites(regional["pacific"]["composites"], 1, [tmp_path / "p.png"],
                                   dpi=DPI)
    ax = map_axes(fig)[0]
    # The map is centred on the domain, so plain PlateCarree sees one box across the dateline.
    west, east, south, north = ax.get_extent(ccrs.PlateCarree(central_longitude=200))
    assert (west + 200, east + 200, south, north) == pytest.approx((120, 280, -20, 60), abs=5.0)
    _, _, south, north = ax.get_extent(ccrs.PlateCarree())
    assert (south, north) == pytest.approx((-20, 60), abs=5.0)


def test_global_data_keep_the_global_robinson_view(products, tmp_path):
    fig = composites.plot_composites(products["composites"], 1, [tmp_path / "g.png"], dpi=DPI)
    for ax in map_axes(fig):
        assert isinstance(ax.projection, ccrs.Robinson)
        west, east, south, north = ax.get_extent(ccrs.PlateCarree())
        assert east - west == pytest.approx(360.0) and south < -85 and north > 85
    case = case_study.plot_case_study(products["anomalies"], products["relevance"], CASE_MONTH,
                                    [tmp_path / "c.png"], dpi=DPI)
    world, zoom = map_axes(case)
    assert isinstance(world.projection, ccrs.Robinson)
    assert degrees_shown(zoom) == pytest.approx((105.0, 290.0, -22.5, 22.5))
    assert zoom.get_title(loc="left") == "(b) Tropical Pacific, 105°E–70°W, 22.5°S–22.5°N"


def test_case_study_zoom_box_partly_outside_is_clipped(regional, tmp_path):
    files = regional["pacific"]
    fig = case_study.plot_case_study(files["anomalies"], files["relevance"], CASE_MONTH,
                                   [tmp_path / "c.png"], dpi=DPI)
    world, zoom = map_axes(fig)
    assert degrees_shown(world) == pytest.approx((120, 280, -20, 60), abs=5.0)
    assert degrees_shown(zoom) == pytest.approx((120.0, 280.0, -20.0, 22.5))
    assert "clipped to the data: 120°E–80°W, 20°S–22.5°N" in zoom.get_title(loc="left")


def test_case_study_zoom_box_from_the_settings(regional, tmp_path):
    files = regional["atlantic"]
    box = {"lon": [330, 10], "lat": [0, 20], "name": "Equatorial Atlantic"}
    fig = case_study.plot_case_study(files["anomalies"], files["relevance"], CASE_MONTH,
                                   [tmp_path / "c.png"], dpi=DPI, case_study_box=box)
    zoom = map_axes(fig)[1]
    assert degrees_shown(zoom) == pytest.approx((330.0, 370.0, 0.0, 20.0))
    assert zoom.get_title(loc="left") == "(b) Equatorial Atlantic, 30°W–10°E, 0°–20°N"


def test_case_study_zoom_box_outside_the_data_is_refused(regional, tmp_path):
    files = regional["atlantic"]
    png = tmp_path / "outside.png"
    with pytest.raises(GeoxaiError, match="zoom box Tropical Pacific") as error:
        case_study.plot_case_study(files["anomalies"], files["relevance"], CASE_MONTH, [png])
    message = str(error.value)
    assert "105°E–70°W, 22.5°S–22.5°N" in message  # the box
    assert "60°W–30°E, 10°S–50°N" in message  # the data
    assert str(files["anomalies"]) in message and "figures.case_study_box" in message
    assert not png.exists()


# --------------------------------------------------------------------------- offline coastlines


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """An empty cartopy download folder, no cached geometries, sockets that refuse to connect."""
    download_dir = tmp_path / "cartopy_downloads"
    download_dir.mkdir()
    monkeypatch.setitem(cartopy.config, "data_dir", download_dir)
    # Cartopy keeps the geometries it has read for the life of the process; without a fresh cache
    # an earlier test's read would let a figure draw without ever asking for the files.
    monkeypatch.setattr(cfeature, "_NATURAL_EARTH_GEOM_CACHE", {})

    def refuse(*args, **kwargs):
        raise OSError("network access attempted during a figure")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return download_dir


def test_control_cartopy_would_download_without_the_shipped_data(no_network, tmp_path,
                                                                   monkeypatch):
    # Proves the fixture bites: pointed at an empty folder, cartopy tries the network and fails.
    monkeypatch.setitem(cartopy.config, "pre_existing_data_dir", tmp_path / "nothing")
    fig = Figure(figsize=(3, 2), dpi=DPI)
    ax = fig.add_subplot(projection=ccrs.Robinson())
    ax.coastlines(resolution="110m")
    with pytest.warns(DownloadWarning), pytest.raises((urllib.error.URLError, OSError)):
        fig.savefig(tmp_path / "control.png")


@pytest.mark.filterwarnings("error::cartopy.io.DownloadWarning")
def test_maps_draw_coastlines_and_land_offline(no_network, products, tmp_path):
    composites.plot_composites(products["composites"], "El Nino", [tmp_path / "c.png"], dpi=DPI)
    case_study.plot_case_study(products["anomalies"], products["relevance"], CASE_MONTH,
                             [tmp_path / "z.png"], dpi=DPI)
    composites.plot_seed_agreement(products["composites"], "El Nino", [tmp_path / "s.png"], dpi=DPI)
    assert all((tmp_path / f"{name}.png").is_file() for name in "czs")
    assert not any(no_network.iterdir())  # nothing was downloaded
    assert cartopy.config["pre_existing_data_dir"] != base.natural_earth_dir()  # restored


# --------------------------------------------------------------------------- report captions

REPORT = Path(__file__).resolve().parents[1] / "workflow" / "report"
CAPTIONS = ("composites", "case_study", "training", "seed_agreement", "index", "workflow",
            "significance", "sample_agreement")
WILDCARDS = {
    "alpha_1_beta_0": {"app": "enso", "target": "nino34", "method": "alpha_1_beta_0"},
    "z": {"app": "enso", "target": "nino34", "method": "z"},
    "case": {"app": "enso", "target": "nino34", "method": "alpha_1_beta_0",
             "case": "strongest_eastern"},
    "none": {},  # a rule without these wildcards must still get a caption
}

# Runs where `snakemake --report` runs (the workflow environment: Jinja2 and docutils), with
# Snakemake's Jinja options; docutils halts on any warning, i.e. on a malformed caption. The
# figure rules' param `shown` (the names as shown) comes from geoxai.core.names, as in common.smk.
RENDER_CAPTIONS = """
import json, sys
from pathlib import Path
from types import SimpleNamespace
import jinja2, yaml
from docutils.core import publish_parts
report, config_path, cases = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
sys.path.insert(0, str(report.parents[1] / "src"))
from geoxai.core.names import shown_names
config = yaml.safe_load(Path(config_path).read_text())
environment = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
results = {}
for name in cases["names"]:
    for case, wildcards in cases["wildcards"].items():
        params = {"shown": shown_names(config, wildcards.get("app", "enso"))}
        snakemake = SimpleNamespace(wildcards=SimpleNamespace(**wildcards), config=config,
                                    params=params)
        try:
            text = environment.from_string((report / f"{name}.rst").read_text()).render(
                snakemake=snakemake, categories={}, files=[])
            html = publish_parts(text, writer_name="html",
                                 settings_overrides={"halt_level": 2, "report_level": 5})["body"]
            results[f"{name}/{case}"] = {"text": text, "html": html}
        except Exception as error:
            results[f"{name}/{case}"] = {"error": f"{type(error).__name__}: {error}"}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def rendered_captions() -> dict:
    from conftest import workflow_venv

    python = workflow_venv() / "bin" / "python"
    if not python.exists():
        pytest.fail(f"No workflow environment at {python}: run `make setup` "
                    "(or set GEOXAI_WORKFLOW_VENV)")
    config = REPORT.parents[1] / "config" / "config.yaml"
    cases = json.dumps({"names": CAPTIONS, "wildcards": WILDCARDS})
    result = subprocess.run([str(python), "-c", RENDER_CAPTIONS, str(REPORT), str(config), cases],
                            capture_output=True, text=True, timeout=120, check=True)
    return {"config": yaml.safe_load(config.read_text()), **json.loads(result.stdout)}


@pytest.mark.parametrize("case", WILDCARDS)
@pytest.mark.parametrize("name", CAPTIONS)
def test_caption_renders_as_snakemake_would(rendered_captions, name, case):
    rendered = rendered_captions[f"{name}/{case}"]
    assert "error" not in rendered, rendered.get("error")
    assert "{{" not in rendered["text"] and "{%" not in rendered["text"]
    assert len(rendered["html"]) > 500
    config = rendered_captions["config"]
    expected = {  # a config value that must reach each caption
        "composites": f"the {len(config['seeds'])} networks",
        "case_study": f"of the {len(config['seeds'])} networks",
        "training": f"{config['training']['epochs']} epochs",
        "seed_agreement": f"here {len(config['seeds'])} networks",
        "index": f"above\n{config['enso']['labels']['positive_threshold']} ",
        "workflow": f"{len(config['seeds'])} seeds",
        "significance": f"{config['significance']['networks']} networks with the same",
        "sample_agreement": "top ``evaluation.top_fraction`` cells",
    }
    assert expected[name] in rendered["text"]


def test_case_study_caption_names_its_case_and_the_outlined_box(rendered_captions):
    text = rendered_captions["case_study/case"]["text"]
    assert "This figure is case ``strongest_eastern`` of ``enso.case_studies``" in text
    assert "the Niño3.4 box, whose mean anomaly is the index" in text
    assert "case ``" not in rendered_captions["case_study/z"]["text"]  # no case wildcard, no claim


def test_captions_name_the_outlines_and_show_names_with_their_proper_spelling(rendered_captions):
    for name in ("composites", "significance", "sample_agreement"):
        text = rendered_captions[f"{name}/z"]["text"]
        assert "**Outlines**" in text and "the Niño3.4\nbox, whose mean SST anomaly" in text, name
    index = rendered_captions["index/z"]["text"]
    assert "labelled El Niño (label 1, red)" in index and "La Niña (label 0, blue)" in index
    for key, rendered in rendered_captions.items():
        if key == "config":
            continue
        for ascii_name in ("El Nino", "La Nina", "Nino3.4"):
            assert ascii_name not in rendered["text"], f"{key} shows {ascii_name!r}"


def test_caption_sign_convention_follows_the_rule(rendered_captions):
    assert "non-negative" in rendered_captions["composites/alpha_1_beta_0"]["text"]
    assert "signed" in rendered_captions["composites/z"]["text"]


# --------------------------------------------------------------------------- what the maps say


def region_patches(ax, name: str) -> list:
    return [p for p in ax.patches if p.get_label() == name]


def outline_degrees(ax, patch) -> tuple[float, float, float, float]:
    """West, east (°E, 0..360, east > west) and south, north of a patch as the map draws it."""
    display = patch.get_transform().transform_path(patch.get_path()).vertices
    x, y = ax.transData.inverted().transform(display).T
    lonlat = ccrs.PlateCarree().transform_points(ax.projection, x, y)
    centre = float(np.mean(np.unwrap(np.radians(lonlat[:, 0]))))
    # Longitudes counted from the patch's centre, so a box across the dateline stays one interval.
    lon = np.degrees(centre) + (np.mod(lonlat[:, 0] - np.degrees(centre) + 180.0, 360.0) - 180.0)
    west = float(np.mod(lon.min(), 360.0))
    return west, west + float(np.ptp(lon)), float(lonlat[:, 1].min()), float(lonlat[:, 1].max())


DRIVER = regions.region("driving region", (-15, 15), (160, 280), "driver")
#: The index box of the default config (config key enso.index.region) and the region it draws.
INDEX_REGION = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())["enso"]["index"]["region"]
NINO34 = regions.index_box(INDEX_REGION)


def test_class_and_index_names_are_shown_with_their_proper_spelling():
    assert base.display_name("El Nino") == "El Niño"
    assert base.display_name("La Nina") == "La Niña"
    assert base.display_name("Nino3.4 index") == "Niño3.4 index"
    assert base.display_name("Nino 4") == "Niño 4"  # another index box (enso.index.region)
    assert base.display_name("El Niño") == "El Niño"  # already proper: unchanged
    assert base.display_name("warm") == "warm"


@pytest.mark.parametrize("projection", ["robinson", "regional"])
def test_regions_are_outlined_where_they_lie(products, regional, projection, tmp_path):
    composite = products["composites"] if projection == "robinson" else (
        regional["pacific"]["composites"])
    fig = composites.plot_composites(composite, "El Nino", [tmp_path / "c.png"], dpi=DPI,
                                     regions=[NINO34, DRIVER])
    for ax in map_axes(fig):
        (nino,), (driver,) = region_patches(ax, "Niño3.4"), region_patches(ax, "driving region")
        # 5°S–5°N, 170°W–120°W; the driving region crosses the dateline: 160°E–80°W.
        assert outline_degrees(ax, nino) == pytest.approx((190.0, 240.0, -5.0, 5.0), abs=0.5)
        assert outline_degrees(ax, driver) == pytest.approx((160.0, 280.0, -15.0, 15.0), abs=0.5)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("Niño3.4" in text and "170°W–120°W" in text for text in legend)


def test_regions_come_from_the_runs_truth_and_targets(tmp_path):
    enso_truth = tmp_path / "enso_truth.nc"
    xr.Dataset(attrs={"driving_region_lat": [-15.0, 15.0],
                      "driving_region_lon": [160.0, 280.0]}).to_netcdf(enso_truth)
    assert regions.map_regions("enso", "nino34", index_region=INDEX_REGION) == [NINO34]
    assert regions.map_regions("enso", "nino34", str(enso_truth), index_region=INDEX_REGION) == [
        NINO34, DRIVER]
    # a user's index of no box (enso.index.region: null): no index box, the driving region stays
    assert regions.map_regions("enso", "nino34", str(enso_truth), index_region=None) == [DRIVER]
    own = regions.map_regions("enso", "nino34", index_region={"name": "Nino 3.4", "lat": [-5, 5],
                                                              "lon": [-170, -120]})
    assert [(r.name, r.kind, r.west, r.east) for r in own] == [("Niño 3.4", "index", 190.0, 240.0)]
    with pytest.raises(GeoxaiError, match="enso.index.region.lat"):
        regions.index_box({"name": "upside down", "lat": [5, -5], "lon": [190, 240]})
    lst_truth = tmp_path / "lst_truth.nc"
    xr.Dataset(attrs={"driver_region": "[-10.0, 10.0, 190.0, 250.0]"}).to_netcdf(lst_truth)
    targets = tmp_path / "targets.nc"
    xr.Dataset(coords={"box": ["lat30_lon250"], "box_lat": ("box", [30.0]),
                       "box_lat_max": ("box", [40.0]), "box_lon": ("box", [250.0]),
                       "box_lon_max": ("box", [260.0]),
                       "box_land_fraction": ("box", [1.0])}).to_netcdf(targets)
    # Application 2's maps outline no ENSO index box, whatever the config says of it
    box, driver = regions.map_regions("lst", "lat30_lon250", str(lst_truth), str(targets),
                                      INDEX_REGION)
    assert (box.name, box.kind, box.south, box.north, box.west, box.east) == (
        "lat30_lon250", "target", 30.0, 40.0, 250.0, 260.0)
    assert (driver.kind, driver.south, driver.north, driver.west, driver.east) == (
        "driver", -10.0, 10.0, 190.0, 250.0)
    assert regions.target_title([box, driver]) == "box lat30_lon250 (110°W–100°W, 30°N–40°N)"
    with pytest.raises(GeoxaiError, match="lat20_lon240"):
        regions.map_regions("lst", "lat20_lon240", "", str(targets))


def test_composites_title_names_the_class_and_the_target_box(products, tmp_path):
    box = regions.region("lat30_lon250", (30, 40), (250, 260), "target")
    fig = composites.plot_composites(products["composites"], 1, [tmp_path / "c.png"], dpi=DPI,
                                     regions=[box])
    title = fig.get_suptitle()
    assert title.startswith("box lat30_lon250 (110°W–100°W, 30°N–40°N)\nEl Niño:")
    assert "El Nino" not in title
    assert "El Niño" in map_axes(fig)[0].get_title(loc="left")
    assert all(region_patches(ax, "lat30_lon250") for ax in map_axes(fig))


def test_case_study_names_classes_and_event_and_labels_its_contours(products, tmp_path):
    fig = case_study.plot_case_study(products["anomalies"], products["relevance"], CASE_MONTH,
                                     [tmp_path / "c.png"], dpi=DPI, case=CASE_MONTH,
                                     regions=[NINO34])
    world, zoom = map_axes(fig)
    assert world.get_title(loc="left").endswith("observed El Niño, networks predicted El Niño")
    assert "eastern-Pacific El Niño" in fig.get_suptitle()
    assert "May 1998" in fig.get_suptitle()
    for ax in (world, zoom):
        contours = [c for c in ax.collections if hasattr(c, "labelTexts")]
        assert len(contours) == 1
        labels = {t.get_text() for t in contours[0].labelTexts}
        assert labels and labels <= {"0.2", "0.4", "0.6", "0.8"}
        # Black lines with a white rim: readable on the darkest shading that is left.
        assert contours[0].get_path_effects()
        assert region_patches(ax, "Niño3.4")
    mesh = world.collections[0]
    darkest = min(sum(mesh.cmap(v)[:3]) for v in (0.0, 1.0))
    assert darkest > min(sum(cmocean.cm.balance(v)[:3]) for v in (0.0, 1.0)) + 0.3
    named = case_study.plot_case_study(products["anomalies"], products["relevance"], CASE_MONTH,
                                       [tmp_path / "n.png"], dpi=DPI, case="strongest_central")
    assert "strongest central-Pacific El Niño" in named.get_suptitle()


def test_case_study_reads_class_names_when_the_file_has_only_flags(tmp_path):
    dataset = xr.Dataset(coords={"true_class": ("sample", [0], {"flag_meanings": "La_Nina El_Nino",
                                                                 "flag_values": [0, 1]})})
    assert case_study.class_name_of(dataset, 0) == "La Niña"
    assert case_study.class_name_of(dataset, 7) == "class 7"


def test_seed_agreement_colours_span_the_fixed_range(products, tmp_path):
    figs = [composites.plot_seed_agreement(products["composites"], name, [tmp_path / f"{k}.png"],
                                           dpi=DPI) for k, name in enumerate(CLASSES)]
    with open_product(products["composites"]) as dataset:
        correlations = dataset["seed_pattern_correlation"].values
    off_diagonal = correlations[:, ~np.eye(len(SEEDS), dtype=bool)]
    assert not np.allclose(off_diagonal.min(axis=1), off_diagonal.min())  # the classes differ...
    for fig in figs:
        matrix = fig.axes[-2] if not isinstance(fig.axes[-2], GeoAxes) else fig.axes[-1]
        image = matrix.get_images()[0]
        assert image.get_clim() == composites.CORRELATION_RANGE == (0.5, 1.0)  # ...their scale not
        numbers = [t for t in matrix.texts if t.get_text().replace(".", "").isdigit()]
        assert len(numbers) == len(SEEDS) * (len(SEEDS) - 1)
        assert min(t.get_fontsize() for t in numbers) >= 9


def test_training_names_the_seed_of_each_colour(products, tmp_path):
    fig = training.plot_training(products["metrics"], [tmp_path / "t.png"], dpi=DPI)
    legend = fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [f"seed {s}" for s in SEEDS]
    assert len({tuple(line.get_color()) for line in legend.get_lines()}) == len(SEEDS)


def index_title(labels: Path, tmp_path: Path, **wording) -> str:
    fig = training.plot_index(labels, [tmp_path / "i.png"], dpi=DPI, **wording)
    return fig.axes[0].get_title(loc="left")


def test_index_title_says_how_the_samples_are_labelled(products, tmp_path):
    enso = index_title(products["labels"], tmp_path, class_names=CLASSES,
                       index_name="Nino3.4 index")
    assert enso.startswith("Niño3.4 index: La Niña below −0.5 K, El Niño above 0.5 K")
    sign = index_title(products["labels"], tmp_path, thresholds=(0.0, 0.0),
                       class_names=("cold", "warm"), sample_name="seasons",
                       index_name="next-season T2m, lat30_lon250")
    assert "labelled by sign: cold below 0 K, warm above" in sign
    assert "above 0 K are labelled" not in sign
