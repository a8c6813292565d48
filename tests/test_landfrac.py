"""The land fraction computed from Natural Earth, against a known land/sea layout and geometry.

Application 2's default config has no land fraction store (the public CESM1-LE bucket has none
for the atmosphere), so ``geoxai.lst.landfrac`` computes it on the TREFHT grid. These tests check it
against places whose answer is not in doubt, against the exact spherical area of shapes drawn for
the purpose, against an independent point-sampling estimate, and through the workflow step into
``steps.labels.lst_targets``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
import xarray as xr

from geoxai.cli import main as cli_main
from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import open_product
from geoxai.lst.landfrac import (
    NATURAL_EARTH_SOURCE,
    land_fraction,
    land_fraction_values,
    natural_earth_land,
    write_land_fraction,
)
from geoxai.lst.synthetic import generate_cesm_like
from geoxai.steps import data as data_steps
from geoxai.steps import labels as label_steps

# CAM f09 (0.9 x 1.25 degrees): centres on both poles, longitudes 0..358.75.
F09_LAT = np.linspace(-90.0, 90.0, 192)
F09_LON = np.arange(288) * 1.25


def cell_areas(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Spherical cell areas (unit sphere) of a regular grid whose cells end at the poles."""
    lat_edges = np.clip(
        np.concatenate([[lat[0] - (lat[1] - lat[0]) / 2], (lat[1:] + lat[:-1]) / 2,
                        [lat[-1] + (lat[-1] - lat[-2]) / 2]]), -90, 90)
    dlon = np.deg2rad(lon[1] - lon[0])
    return np.diff(np.sin(np.deg2rad(lat_edges)))[:, None] * np.full(lon.size, dlon)[None, :]


@pytest.fixture(scope="module")
def f09() -> xr.DataArray:
    return land_fraction(F09_LAT, F09_LON)


def cell_at(field: xr.DataArray, lat: float, lon: float) -> float:
    return float(field.sel(lat=lat, lon=np.mod(lon, 360.0), method="nearest"))


def test_f09_grid_is_computed_in_seconds_with_cf_attributes(f09):
    import time

    start = time.perf_counter()
    again = land_fraction(F09_LAT, F09_LON)
    seconds = time.perf_counter() - start
    print(f"f09 192 x 288 land fraction in {seconds:.2f} s")
    # About 0.4 s here; the bound leaves room for a slow, shared machine.
    assert seconds < 10.0
    np.testing.assert_array_equal(again.values, f09.values)
    assert f09.dims == ("lat", "lon") and f09.shape == (192, 288) and f09.name == "LANDFRAC"
    assert f09.attrs["units"] == "1" and f09.attrs["source"] == NATURAL_EARTH_SOURCE
    assert f09.attrs["long_name"]
    assert float(f09.min()) >= 0.0 and float(f09.max()) <= 1.0


@pytest.mark.parametrize(("place", "lat", "lon"), [
    ("Kazakhstan", 47.0, 70.0), ("Sahara", 23.0, 15.0), ("Amazon interior", -5.0, 295.0),
    ("Antarctic interior", -80.0, 30.0), ("central Australia", -25.0, 133.0),
    ("Colorado", 39.0, 254.0),
])
def test_cells_deep_inside_continents_are_all_land(f09, place, lat, lon):
    assert cell_at(f09, lat, lon) == pytest.approx(1.0, abs=1e-12), place


@pytest.mark.parametrize(("place", "lat", "lon"), [
    ("central Pacific", 0.0, 210.0), ("South Pacific", -40.0, 220.0),
    ("Southern Ocean", -58.0, 90.0), ("Southern Ocean at the dateline", -60.0, 180.0),
    ("Gulf of Alaska", 52.0, 215.0), ("North Atlantic", 40.0, 320.0),
])
def test_open_ocean_cells_have_no_land(f09, place, lat, lon):
    assert cell_at(f09, lat, lon) == 0.0, place


@pytest.mark.parametrize(("place", "lat", "lon"), [
    ("Oregon coast", 45.0, 236.0), ("Chilean coast", -30.0, 288.5),
    ("Cape of Good Hope", -33.9, 18.45),
])
def test_coastal_cells_are_part_land(f09, place, lat, lon):
    assert 0.05 < cell_at(f09, lat, lon) < 0.95, place


def test_global_land_fraction_on_a_1_degree_grid_is_earths():
    lat, lon = np.arange(-89.5, 90.0), np.arange(0.5, 360.0)
    field = land_fraction(lat, lon).values
    area = cell_areas(lat, lon)
    fraction = float((field * area).sum() / area.sum())
    print(f"global land fraction, 1-degree grid: {fraction:.4f}")
    # Earth's land is 148.9 of 510.1 million km^2 = 0.292. The 1:110m polygons drop small islands
    # and fjords and count the Caspian Sea as water (0.07% of the globe), which puts them at about
    # 0.289; 0.01 (5 million km^2) allows for that while a count in lon/lat degrees instead of
    # area (0.332, Antarctica weighted as if it were at the equator) fails.
    assert fraction == pytest.approx(0.292, abs=0.01)
    # The overlay is exact for the polygons, so the answer does not depend on the grid: f09 cells,
    # with their half-height pole rows, give the same total to rounding.
    f09_area = cell_areas(F09_LAT, F09_LON)
    f09_fraction = float((land_fraction(F09_LAT, F09_LON).values * f09_area).sum() / f09_area.sum())
    assert f09_fraction == pytest.approx(fraction, abs=1e-6)


def test_fractions_are_spherical_areas_not_lon_lat_areas():
    # Centres at 30 and 90 N give cells 0..60 and a pole cell 60..90, split at 30 and at 75 N.
    land = [shapely.box(-180, 0, 180, 30), shapely.box(-180, 75, 180, 90)]
    values = land_fraction_values([30.0, 90.0], [0.0, 180.0], land=land)
    lower = np.sin(np.deg2rad(30)) / np.sin(np.deg2rad(60))
    pole = (1 - np.sin(np.deg2rad(75))) / (1 - np.sin(np.deg2rad(60)))
    # Half of each cell in degrees of latitude; 0.577 and 0.254 of its area.
    np.testing.assert_allclose(values, [[lower, lower], [pole, pole]], atol=1e-12)


def test_coastal_cells_agree_with_cos_weighted_point_sampling(f09):
    # An estimate that shares nothing with the overlay: a 120 x 120 lattice of points in each cell,
    # in plain lon/lat, each weighted by cos(lat), tested against the untransformed polygons.
    land = shapely.union_all(list(natural_earth_land()))
    shapely.prepare(land)
    field = f09.values
    rows, columns = np.nonzero((field > 0.02) & (field < 0.98))
    picks = np.random.default_rng(7).choice(rows.size, 40, replace=False)
    # Antarctic coast cells at the highest latitudes, where cos(lat) varies most across a cell.
    polar = np.flatnonzero(F09_LAT[rows] < -75)
    picks = np.concatenate([picks, polar[:: max(1, polar.size // 5)][:5]])
    n = 120
    offsets = (np.arange(n) + 0.5) / n - 0.5
    errors = []
    for row, column in zip(rows[picks], columns[picks], strict=True):
        south = max(-90.0, F09_LAT[row] - 90.0 / 191)
        north = min(90.0, F09_LAT[row] + 90.0 / 191)
        lats = (south + north) / 2 + (north - south) * offsets
        lons = F09_LON[column] + 1.25 * offsets
        lat_grid, lon_grid = np.meshgrid(lats, lons, indexing="ij")
        inside = shapely.contains_xy(land, np.mod(lon_grid + 180.0, 360.0) - 180.0, lat_grid)
        weight = np.cos(np.deg2rad(lat_grid))
        errors.append(abs((inside * weight).sum() / weight.sum() - field[row, column]))
    errors = np.array(errors)
    print(f"point sampling vs overlay: mean {errors.mean():.4f}, max {errors.max():.4f}")
    # The midpoint lattice is off by well under 1/n (0.008) where a coast crosses a cell (measured:
    # max 6e-4). Fractions of lon/lat area instead of spherical area miss by up to 0.13 in the
    # Antarctic coast cells, which is what the bounds are set to catch.
    assert errors.max() < 0.004 and errors.mean() < 0.001


def test_fine_grid_block_averaged_by_area_equals_the_coarse_grid():
    # Both grids have centres on the poles; 5 fine rows (0.8 degrees) and 5 fine columns (1 degree)
    # tile each 4 x 5 degree coarse cell exactly, pole cells included.
    fine_lat, fine_lon = np.linspace(-90, 90, 226), np.arange(360.0)
    coarse_lat, coarse_lon = np.linspace(-90, 90, 46), np.arange(0.0, 360.0, 5.0)
    fine = land_fraction_values(fine_lat, fine_lon)
    coarse = land_fraction_values(coarse_lat, coarse_lon)
    area = cell_areas(fine_lat, fine_lon)
    # The coarse cell centred on 0 E spans -2.5..2.5: rolling by 2 puts fine columns 358..2 in
    # front, so every run of 5 columns is one coarse column. Rows go by the coarse edges.
    fine, area = np.roll(fine, 2, axis=1), np.roll(area, 2, axis=1)
    row_block = np.searchsorted((coarse_lat[1:] + coarse_lat[:-1]) / 2, fine_lat, side="right")
    column_block = np.arange(fine_lon.size) // 5
    land_area = np.zeros(coarse.shape)
    total_area = np.zeros(coarse.shape)
    np.add.at(land_area, (row_block[:, None], column_block[None, :]), fine * area)
    np.add.at(total_area, (row_block[:, None], column_block[None, :]), area)
    coarse_area = cell_areas(coarse_lat, coarse_lon)
    np.testing.assert_allclose(total_area, coarse_area, rtol=1e-12)  # the blocks do tile
    # Exact overlays of the same polygons add up: only rounding separates the two.
    np.testing.assert_allclose(land_area / total_area, coarse, atol=1e-9)
    assert 0 < np.count_nonzero((coarse > 0) & (coarse < 1))


def test_land_across_the_dateline_reaches_cells_on_both_sides():
    # Fiji (Vanua Levu crosses 180) and Chukotka (Russia is split at 180 in Natural Earth).
    for name, lat in (("Fiji", -16.5), ("Chukotka", 66.5)):
        halves = land_fraction_values([lat, lat + 1], [179.5, 180.5])[0]
        straddling = land_fraction_values([lat, lat + 1], [180.0, 182.0])[0, 0]
        assert halves[0] > 0 and halves[1] > 0, name
        # The cell 179..181 is the two 1-degree halves; the same in -180..180 longitudes.
        assert straddling == pytest.approx(halves.mean(), abs=1e-12), name
        west_frame = land_fraction_values([lat, lat + 1], [-180.0, -178.0])[0, 0]
        assert west_frame == pytest.approx(straddling, abs=1e-12), name


def test_longitude_convention_and_latitude_order_do_not_matter(f09):
    east_west = land_fraction_values(F09_LAT, F09_LON - 180.0)
    np.testing.assert_allclose(np.roll(east_west, -144, axis=1), f09.values, atol=1e-12)
    jumping = np.where(F09_LON >= 180, F09_LON - 360, F09_LON)  # 0..178.75, -180..-1.25
    np.testing.assert_allclose(land_fraction_values(F09_LAT, jumping), f09.values, atol=1e-12)
    north_first = land_fraction_values(F09_LAT[::-1], F09_LON)
    np.testing.assert_allclose(north_first[::-1], f09.values, atol=1e-12)


def test_pole_rows_are_antarctica_and_arctic_ocean(f09):
    np.testing.assert_allclose(f09.isel(lat=0).values, 1.0, atol=1e-12)
    np.testing.assert_array_equal(f09.isel(lat=-1).values, 0.0)


def test_grids_it_cannot_place_are_refused():
    with pytest.raises(GeoxaiError, match="monotonic"):
        land_fraction_values([0.0, 10.0, 5.0], [0.0, 10.0])
    with pytest.raises(GeoxaiError, match="beyond the poles"):
        land_fraction_values([80.0, 95.0], [0.0, 10.0])
    with pytest.raises(GeoxaiError, match="more than 360"):
        land_fraction_values([0.0, 10.0], np.arange(0.0, 400.0, 10.0))


# --- the workflow step, into lst_targets ------------------------------------------------------

NORTH_AMERICA = {"lat_edges": [20, 30, 40, 50, 60, 70],
                 "lon_edges": [190, 200, 210, 220, 230, 240, 250, 260, 270, 280, 290, 300],
                 "land_threshold": 0.5}
ANOMALIES = {"seasons": ["DJF", "MAM", "JJA", "SON"], "drift": "linear"}


@pytest.fixture(scope="module")
def fetched_trefht(tmp_path_factory) -> Path:
    """A TREFHT file as the fetch rule writes it, from a CESM-like store on a 2 x 2.5 degree
    grid."""
    folder = tmp_path_factory.mktemp("landfrac_step")
    stores = generate_cesm_like({"n_years": 4, "ocean_nlat": 24, "ocean_nlon": 36,
                                 "atm_dlat": 2.0, "atm_dlon": 2.5, "sst_grid_degrees": 10.0},
                                folder / "stores")
    path = folder / "trefht.nc"
    data_steps.fetch_lst_field(stores["trefht"], "TREFHT", str(path), years=[400, 403])
    return path


def test_step_writes_a_land_fraction_that_lst_targets_reads(fetched_trefht, tmp_path):
    output = tmp_path / "landfrac.nc"
    config = {"lst.landfrac": {"store": None, "variable": "LANDFRAC"}}
    assert cli_main(["compute_lst_landfrac", "--trefht", str(fetched_trefht), "--landfrac", str(output),
                     "--config", json.dumps(config)]) == 0
    with open_product(fetched_trefht) as trefht, open_product(output) as written:
        np.testing.assert_array_equal(written["lat"], trefht["lat"])
        np.testing.assert_array_equal(written["lon"], trefht["lon"])
        landfrac = written["LANDFRAC"].load()
        assert landfrac.attrs["units"] == "1" and landfrac.attrs["source"] == NATURAL_EARTH_SOURCE
        assert written.attrs["input_trefht"] == str(fetched_trefht)
        assert len(written.attrs["input_trefht_grid_sha256"]) == 64
        assert len(written.attrs["input_land_polygons_sha256"]) == 64
        assert json.loads(written.attrs["config"]) == config
    assert not list(tmp_path.glob(".landfrac.nc.*"))  # the temporary file was renamed away
    record = json.loads(Path(f"{output}.provenance.json").read_text())
    assert record["url"].startswith(NATURAL_EARTH_SOURCE)

    boxes_json = tmp_path / "targets.json"
    boxes = label_steps.lst_targets(str(fetched_trefht), str(output), str(tmp_path / "targets.nc"),
                              str(boxes_json), NORTH_AMERICA, ANOMALIES)
    for land_box in ("lat40_lon250", "lat30_lon260", "lat50_lon260", "lat60_lon200"):
        assert land_box in boxes  # Colorado/Utah, Texas, Manitoba, interior Alaska
    for sea_box in ("lat20_lon190", "lat40_lon220", "lat50_lon210", "lat20_lon230"):
        assert sea_box not in boxes  # open Pacific, off Oregon, Gulf of Alaska, off Baja
    # lst_targets' box fraction (cells weighted by cos(lat) at their centre) against the box's
    # cells taken as one big cell. A box holds the cells whose centre it holds, so on this grid it
    # reaches from half a cell below its edges to half a cell below the next ones.
    recorded = json.loads(boxes_json.read_text())["land_fraction"]
    assert set(recorded) == set(boxes)
    for box, fraction in recorded.items():
        lat_low, lon_low = (float(part[3:]) for part in box.split("_"))
        centre_lat, centre_lon = lat_low + 5 - 1.0, lon_low + 5 - 1.25
        exact = land_fraction_values([centre_lat, centre_lat + 10],
                                     [centre_lon, centre_lon + 10])[0, 0]
        assert fraction == pytest.approx(exact, abs=0.01), box


def test_step_names_the_config_key_when_the_trefht_file_has_no_grid_it_can_use(tmp_path):
    path = tmp_path / "trefht.nc"
    xr.Dataset({"T": (("time", "ncol"), np.zeros((2, 5)))}).to_netcdf(path)
    with pytest.raises(GeoxaiError, match="lst.trefht.variable"):
        write_land_fraction(path, tmp_path / "landfrac.nc")
    with pytest.raises(GeoxaiError, match="lst.landfrac.store"):
        write_land_fraction(path, tmp_path / "landfrac.nc", trefht_variable="T")
    assert not (tmp_path / "landfrac.nc").exists()
