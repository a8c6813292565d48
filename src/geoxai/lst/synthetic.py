"""A small CESM-like control run with a known answer, in the layout of the CESM1-LE Zarr stores.

What is written (paths relative to ``out_dir``, which may be a local folder or ``s3://bucket``):

* ``ocn/monthly/cesmLE-CTRL-SST.zarr``: ``SST(member_id, time, z_t, nlat, nlon)`` in degC on a
  POP-like curvilinear grid whose north pole is displaced into Greenland (2-D ``TLAT``,
  ``TLONG``, ``TAREA`` in cm^2; land NaN), cftime noleap months stamped at their END as CESM
  history files do (January 0400 at 0400-02-01 00:00) with ``time_bound(time, d2)``.
* ``atm/monthly/cesmLE-CTRL-TREFHT.zarr``: ``TREFHT(member_id, time, lat, lon)`` in K on a
  regular grid (CAM finite-volume style: latitudes include both poles), ``time_bnds(time, nbnd)``.
* ``atm/static/grid.zarr``: ``LANDFRAC(lat, lon)`` and the cell ``area`` of that grid.
* ``truth.json`` and ``truth.nc`` (next to the stores, or in ``truth_dir``): the driver region,
  the driven box, the standardized driver index per season and the driver mask on the regular SST
  grid the workflow regrids to (``sst_grid_degrees``).

The known answer. SST anomalies are a red-noise background (grid-point AR(1) plus large-scale
modes that vanish inside the driver region) plus a driver pattern confined to the driver region
(a smooth bump, zero at the region's edges) with an AR(1) amplitude. The 2-m temperature of every
10-degree box is independent noise, except that in the driven box each month of season s + 1
gets ``signal_strength`` x (seasonal noise std) x the standardized driver amplitude of season s.
So the sign of the driven box's next-season anomaly is predictable from SST in the driver region
only (best possible accuracy 0.5 + arctan(signal_strength) / pi, 0.90 for the default 3), and
every other box is unpredictable (0.5). Climatologies, seasonal cycles and a slow linear drift
are added so that the anomaly and drift steps have real work to do. Everything is drawn from
``numpy.random.default_rng(seed)``: the same settings give the same stores.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.grid import LAT_ATTRS, LON_ATTRS
from geoxai.core.provenance import write_json_atomic, write_netcdf_atomic
from geoxai.lst.layout import SYNTHETIC_STORES
from geoxai.lst.regrid import regular_grid

EARTH_RADIUS_CM = 6.371e8
TIME_UNITS = "days since 0000-01-01 00:00:00"

#: Idealized continents as ellipses (centre lat, centre lon, lat semi-axis, lon semi-axis), plus
#: Antarctica south of 70S. North America spans the default target boxes (20-70N, 190-300E).
CONTINENTS = (
    (45.0, 255.0, 25.0, 45.0),  # North America
    (63.0, 205.0, 9.0, 17.0),  # Alaska
    (72.0, 318.0, 10.0, 16.0),  # Greenland (holds the displaced grid pole)
    (-15.0, 300.0, 30.0, 17.0),  # South America
    (50.0, 80.0, 22.0, 75.0),  # Eurasia
    (5.0, 20.0, 30.0, 25.0),  # Africa
    (-25.0, 135.0, 12.0, 20.0),  # Australia
)


@dataclass(frozen=True)
class SyntheticCESMSettings:
    """Settings of :func:`generate_cesm_like`; every field is a config key."""

    seed: int = 0
    first_year: int = 400
    n_years: int = 200
    ocean_nlat: int = 60
    ocean_nlon: int = 72
    pole_lat: float = 75.0
    pole_lon: float = 320.0
    atm_dlat: float = 4.0
    atm_dlon: float = 5.0
    driver_region: tuple[float, float, float, float] = (-10.0, 10.0, 190.0, 250.0)
    driven_box: tuple[float, float] = (30.0, 250.0)
    box_degrees: float = 10.0
    signal_strength: float = 3.0
    lead_seasons: int = 1
    driver_amplitude: float = 1.5
    driver_persistence: float = 0.9
    noise_amplitude: float = 0.3
    noise_persistence: float = 0.6
    mode_amplitude: float = 0.5
    n_modes: int = 6
    box_noise: float = 1.0
    drift_per_century: float = 0.3
    month_stamp: str = "end"
    time_chunk: int = 12
    sst_grid_degrees: float = 6.0

    @classmethod
    def from_config(cls, section: dict[str, Any] | None) -> SyntheticCESMSettings:
        section = dict(section or {})
        known = {f.name for f in fields(cls)}
        unknown = set(section) - known
        if unknown:
            raise GeoxaiError(
                f"unknown config keys under synthetic: {sorted(unknown)}; known: {sorted(known)}"
            )
        for key in ("driver_region", "driven_box"):
            if key in section:
                section[key] = tuple(float(v) for v in section[key])
        settings = cls(**section)
        lat_min, lat_max, lon_min, lon_max = settings.driver_region
        if not (-90 <= lat_min < lat_max <= 90) or not (0 <= lon_min < lon_max <= 360):
            raise GeoxaiError(
                f"config key synthetic.driver_region={list(settings.driver_region)}: give "
                "[lat_min, lat_max, lon_min, lon_max] with lon in 0..360, min < max"
            )
        if settings.month_stamp not in {"end", "middle"}:
            raise GeoxaiError(
                f"config key synthetic.month_stamp={settings.month_stamp!r}: use 'end' "
                "(CESM history "
                "files) or 'middle'"
            )
        if settings.n_years < 3:
            raise GeoxaiError(
                f"config key synthetic.n_years={settings.n_years}: need at least 3 years"
            )
        return settings

    @property
    def driven_box_id(self) -> str:
        from geoxai.lst.seasonal import box_id

        return box_id(*self.driven_box)


# --- grids -------------------------------------------------------------------------------------


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _model_to_unit_vectors(
    model_lat: np.ndarray,
    model_lon: np.ndarray,
    pole_lat: float,
    pole_lon: float,
    blend_from: float = 20.0,
) -> np.ndarray:
    """Grid-index space (model lat/lon) to points on the unit sphere, displacing the north pole.

    Each model latitude circle is rotated towards ``pole_lon`` by an angle that grows smoothly from
    0 (south of ``blend_from``) to 90 - pole_lat (at the top), so the grid is regular in the south
    and its rows close around (``pole_lat``, ``pole_lon``) in the north, like POP's gx1 grids. The
    rotation grows slower than the colatitude shrinks, so rows never cross.
    """
    theta = np.deg2rad(model_lat)
    lam = np.deg2rad(model_lon)
    points = np.stack(
        [np.cos(theta) * np.cos(lam), np.cos(theta) * np.sin(lam), np.sin(theta)], axis=-1
    )
    angle = np.deg2rad(
        _smoothstep((model_lat - blend_from) / (90.0 - blend_from)) * (90.0 - pole_lat)
    )
    angle = angle[..., None]
    axis = np.array([-np.sin(np.deg2rad(pole_lon)), np.cos(np.deg2rad(pole_lon)), 0.0])
    along = (points * axis).sum(axis=-1, keepdims=True)
    return (
        points * np.cos(angle)
        + np.cross(axis, points) * np.sin(angle)
        + axis * along * (1.0 - np.cos(angle))
    )


def _lat_lon(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = np.rad2deg(np.arcsin(np.clip(points[..., 2], -1.0, 1.0)))
    lon = np.mod(np.rad2deg(np.arctan2(points[..., 1], points[..., 0])), 360.0)
    return lat, lon


def _triangle_solid_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Solid angle of spherical triangles (Van Oosterom & Strackee 1983)."""
    numerator = np.abs((a * np.cross(b, c)).sum(axis=-1))
    denominator = 1.0 + (a * b).sum(axis=-1) + (b * c).sum(axis=-1) + (c * a).sum(axis=-1)
    return 2.0 * np.arctan2(numerator, denominator)


def pop_like_grid(
    nlat: int = 180,
    nlon: int = 360,
    pole_lat: float = 75.0,
    pole_lon: float = 320.0,
    south_lat: float = -79.0,
) -> xr.Dataset:
    """A curvilinear grid shaped like POP's: ``TLAT``, ``TLONG`` (degrees) and ``TAREA`` (cm^2) on
    ``(nlat, nlon)``, regular south of ~20N, north pole displaced to (pole_lat, pole_lon).

    Cell areas are the exact spherical areas of the cells' corner quadrilaterals, so they tile the
    sphere north of ``south_lat``.
    """
    row_edges = south_lat + np.arange(nlat + 1) * (90.0 - south_lat) / nlat
    column_edges = np.arange(nlon + 1) * 360.0 / nlon
    rows = 0.5 * (row_edges[:-1] + row_edges[1:])
    columns = 0.5 * (column_edges[:-1] + column_edges[1:])
    centres = _model_to_unit_vectors(*np.meshgrid(rows, columns, indexing="ij"), pole_lat, pole_lon)
    corners = _model_to_unit_vectors(
        *np.meshgrid(row_edges, column_edges, indexing="ij"), pole_lat, pole_lon
    )
    sw, se = corners[:-1, :-1], corners[:-1, 1:]
    nw, ne = corners[1:, :-1], corners[1:, 1:]
    area = _triangle_solid_angle(sw, se, ne) + _triangle_solid_angle(sw, ne, nw)
    lat, lon = _lat_lon(centres)
    dims = ("nlat", "nlon")
    return xr.Dataset(
        coords={
            "TLAT": (
                dims,
                lat,
                {"long_name": "array of t-grid latitudes", "units": "degrees_north"},
            ),
            "TLONG": (
                dims,
                lon,
                {"long_name": "array of t-grid longitudes", "units": "degrees_east"},
            ),
            "TAREA": (
                dims,
                area * EARTH_RADIUS_CM**2,
                {"long_name": "area of T cells", "units": "centimeter^2"},
            ),
        }
    )


def cam_like_grid(dlat: float, dlon: float) -> tuple[np.ndarray, np.ndarray]:
    """Latitudes (both poles included, ascending) and longitudes (from 0) of a CAM FV-style grid."""
    n_lat = 180.0 / dlat
    n_lon = 360.0 / dlon
    if abs(n_lat - round(n_lat)) > 1e-9 or abs(n_lon - round(n_lon)) > 1e-9:
        raise GeoxaiError(f"atmosphere grid {dlat}x{dlon} degrees must divide 180 and 360")
    return np.linspace(-90.0, 90.0, round(n_lat) + 1), np.arange(round(n_lon)) * dlon


def synthetic_land(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """True over the idealized continents (:data:`CONTINENTS`, Antarctica south of 70S)."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.mod(np.asarray(lon, dtype=np.float64), 360.0)
    lat, lon = np.broadcast_arrays(lat, lon)
    land = lat < -70.0
    for centre_lat, centre_lon, semi_lat, semi_lon in CONTINENTS:
        dlon = (lon - centre_lon + 180.0) % 360.0 - 180.0
        land |= ((lat - centre_lat) / semi_lat) ** 2 + (dlon / semi_lon) ** 2 < 1.0
    return land


def _land_fraction(
    lat: np.ndarray, lon: np.ndarray, dlat: float, dlon: float, sub: int = 8
) -> np.ndarray:
    """Fraction of each cell's sub-samples that fall on land (a LANDFRAC look-alike)."""
    offsets_lat = (np.arange(sub) + 0.5) / sub - 0.5
    offsets_lon = (np.arange(sub) + 0.5) / sub - 0.5
    lat_points = np.clip(lat[:, None] + dlat * offsets_lat[None, :], -90.0, 90.0)
    lon_points = lon[:, None] + dlon * offsets_lon[None, :]
    land = synthetic_land(lat_points[:, None, :, None], lon_points[None, :, None, :])
    return land.mean(axis=(2, 3))


def _hann_bump(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """1 at the middle of [low, high], falling as cos^2 to 0 at both ends, 0 outside."""
    x = (np.asarray(values, dtype=np.float64) - low) / (high - low)
    return np.where((x > 0) & (x < 1), np.sin(np.pi * np.clip(x, 0, 1)) ** 2, 0.0)


def driver_pattern(
    lat: np.ndarray, lon: np.ndarray, region: tuple[float, float, float, float]
) -> np.ndarray:
    """The SST pattern of the driver: a smooth bump inside ``region``, exactly 0 outside."""
    lat_min, lat_max, lon_min, lon_max = region
    return _hann_bump(lat, lat_min, lat_max) * _hann_bump(np.mod(lon, 360.0), lon_min, lon_max)


def driver_mask(
    lat: np.ndarray, lon: np.ndarray, region: tuple[float, float, float, float]
) -> xr.DataArray:
    """int8 mask (lat, lon) of the regular-grid cells whose centre lies inside the driver region."""
    lat_min, lat_max, lon_min, lon_max = region
    lon360 = np.mod(np.asarray(lon, dtype=np.float64), 360.0)
    inside = ((lat >= lat_min) & (lat <= lat_max))[:, None] & (
        (lon360 >= lon_min) & (lon360 <= lon_max)
    )[None, :]
    return xr.DataArray(
        inside.astype("int8"),
        dims=("lat", "lon"),
        coords={"lat": ("lat", lat, LAT_ATTRS), "lon": ("lon", lon360, LON_ATTRS)},
        attrs={
            "long_name": "driver region of the synthetic CESM-like source (1 inside)",
            "units": "1",
            "driver_region": json.dumps(list(region)),
        },
    )


# --- time --------------------------------------------------------------------------------------


def _month_edges(first_year: int, n_months: int) -> np.ndarray:
    import cftime

    edges = []
    for k in range(n_months + 1):
        year, month = divmod(k, 12)
        edges.append(cftime.DatetimeNoLeap(first_year + year, month + 1, 1, has_year_zero=True))
    return np.array(edges, dtype=object)


def _time_coords(settings: SyntheticCESMSettings, n_months: int, bounds_name: str, bounds_dim: str):
    edges = _month_edges(settings.first_year, n_months)
    bounds = np.stack([edges[:-1], edges[1:]], axis=1)
    stamps = (
        edges[1:] if settings.month_stamp == "end" else edges[:-1] + (edges[1:] - edges[:-1]) / 2
    )
    time = xr.Variable("time", stamps, {"long_name": "time", "bounds": bounds_name})
    time_bounds = xr.Variable(
        ("time", bounds_dim), bounds, {"long_name": "boundaries for time-averaging interval"}
    )
    return time, time_bounds


def _days_in_months(n_months: int) -> np.ndarray:
    noleap = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.float64)
    return np.tile(noleap, n_months // 12 + 1)[:n_months]


# --- the fields --------------------------------------------------------------------------------


def _ar1(
    rng: np.random.Generator, n_steps: int, shape: tuple[int, ...], persistence: float
) -> np.ndarray:
    """Stationary AR(1) series with unit variance, ``(n_steps, *shape)``."""
    innovation = np.sqrt(1.0 - persistence**2)
    out = np.empty((n_steps, *shape), dtype=np.float64)
    out[0] = rng.standard_normal(shape)
    for step in range(1, n_steps):
        out[step] = persistence * out[step - 1] + innovation * rng.standard_normal(shape)
    return out


def _season_index(n_months: int) -> np.ndarray:
    """Consecutive DJF/MAM/JJA/SON seasons of absolute months from January of the first year
    (December joins the next year's DJF); season 0 is the incomplete first DJF."""
    return (np.arange(n_months) + 1) // 3


def _seasonal_driver(amplitude: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Day-weighted seasonal means of the monthly driver amplitude, standardized (complete seasons
    only; incomplete ones are NaN)."""
    season = _season_index(amplitude.size)
    totals = np.bincount(season, weights=amplitude * days)
    weights = np.bincount(season, weights=days)
    means = totals / weights
    complete = np.bincount(season) == 3
    standardized = (means - means[complete].mean()) / means[complete].std()
    return np.where(complete, standardized, np.nan)


def _large_scale_modes(
    rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, n_modes: int
) -> np.ndarray:
    """Smooth global patterns (zonal waves 1-3 times meridional structure), unit max amplitude."""
    phi, lam = np.deg2rad(lat), np.deg2rad(lon)
    patterns = []
    for _ in range(n_modes):
        wave = int(rng.integers(1, 4))
        meridional = int(rng.integers(1, 4))
        phase_lon, phase_lat = rng.uniform(0, 2 * np.pi, size=2)
        pattern = (
            np.cos(phi) * np.cos(wave * lam + phase_lon) * np.cos(meridional * phi + phase_lat)
        )
        patterns.append(pattern / np.abs(pattern).max())
    return np.stack(patterns)


def sst_fields(settings: SyntheticCESMSettings, grid: xr.Dataset, rng: np.random.Generator):
    """Monthly SST (degC, land NaN) on the POP-like grid and the monthly driver amplitude."""
    n_months = 12 * settings.n_years
    lat, lon = grid["TLAT"].values, grid["TLONG"].values
    land = synthetic_land(lat, lon)
    pattern = driver_pattern(lat, lon, settings.driver_region)
    amplitude = _ar1(rng, n_months, (), settings.driver_persistence)
    modes = _large_scale_modes(rng, lat, lon, settings.n_modes) * (1.0 - (pattern > 0))
    mode_series = _ar1(rng, n_months, (settings.n_modes,), 0.8)
    noise = _ar1(rng, n_months, lat.shape, settings.noise_persistence)
    month_of_year = np.arange(n_months) % 12
    years = np.arange(n_months) / 12.0
    phi = np.deg2rad(lat)
    climatology = -1.8 + 29.8 * np.cos(phi) ** 2
    seasonal_cycle = (
        2.5 * np.sin(phi)[None] * np.sin(2 * np.pi * (month_of_year - 4.5) / 12)[:, None, None]
    )
    drift = (
        settings.drift_per_century
        * (years / 100.0)[:, None, None]
        * (1.0 + 0.5 * np.sin(np.deg2rad(lon)))[None]
    )
    anomaly = (
        settings.driver_amplitude * amplitude[:, None, None] * pattern[None]
        + settings.mode_amplitude * np.einsum("tm,myx->tyx", mode_series, modes)
        + settings.noise_amplitude * noise
    )
    sst = climatology[None] + seasonal_cycle + drift + anomaly
    sst[:, land] = np.nan
    return sst.astype(np.float32), amplitude


def trefht_fields(
    settings: SyntheticCESMSettings,
    lat: np.ndarray,
    lon: np.ndarray,
    driver: np.ndarray,
    landfrac: np.ndarray,
    rng: np.random.Generator,
):
    """Monthly TREFHT (K): box-coherent and grid-point noise, the driven box's lagged signal."""
    n_months = 12 * settings.n_years
    box = settings.box_degrees
    box_row = np.floor((lat + 90.0) / box).astype(int)
    box_column = np.floor(np.mod(lon, 360.0) / box).astype(int)
    n_box_rows, n_box_columns = int(np.ceil(180 / box)) + 1, int(np.ceil(360 / box))
    # Monthly noise with std sqrt(3) x box_noise averages to box_noise over a 3-month season.
    monthly_scale = np.sqrt(3.0) * settings.box_noise
    box_noise = rng.standard_normal((n_months, n_box_rows, n_box_columns)) * (0.9 * monthly_scale)
    point_noise = rng.standard_normal((n_months, lat.size, lon.size)) * (0.45 * monthly_scale)
    anomaly = box_noise[:, box_row[:, None], box_column[None, :]] + point_noise
    season = _season_index(n_months)
    lagged = np.concatenate([np.full(settings.lead_seasons, np.nan), driver])[season]
    signal = settings.signal_strength * settings.box_noise * np.nan_to_num(lagged)
    box_lat, box_lon = settings.driven_box
    in_box = ((lat >= box_lat) & (lat < box_lat + box))[:, None] & (
        (np.mod(lon, 360.0) >= box_lon) & (np.mod(lon, 360.0) < box_lon + box)
    )[None, :]
    anomaly[:, in_box] += signal[:, None]
    month_of_year = np.arange(n_months) % 12
    years = np.arange(n_months) / 12.0
    phi = np.deg2rad(lat)
    climatology = 300.0 - 45.0 * np.sin(phi) ** 2
    cycle_amplitude = (3.0 + 12.0 * landfrac) * np.sin(phi)[:, None]
    seasonal_cycle = (
        cycle_amplitude[None] * np.sin(2 * np.pi * (month_of_year - 4.5) / 12)[:, None, None]
    )
    drift = settings.drift_per_century * (years / 100.0)[:, None, None]
    return (climatology[None, :, None] + seasonal_cycle + drift + anomaly).astype(np.float32)


# --- writing -----------------------------------------------------------------------------------


def _write_zarr(dataset: xr.Dataset, target: str, storage_options: dict[str, Any] | None) -> None:
    """Zarr v2, consolidated (as the CESM stores); a local store is renamed into place whole."""
    if target.startswith(("s3://", "gs://", "az://", "http://", "https://")):
        dataset.to_zarr(
            target, mode="w", zarr_format=2, consolidated=True, storage_options=storage_options
        )
        return
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        dataset.to_zarr(staging / final.name, mode="w", zarr_format=2, consolidated=True)
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging / final.name, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _sst_dataset(settings: SyntheticCESMSettings, grid: xr.Dataset, sst: np.ndarray) -> xr.Dataset:
    time, time_bound = _time_coords(settings, sst.shape[0], "time_bound", "d2")
    dataset = xr.Dataset(
        {
            "SST": (
                ("member_id", "time", "z_t", "nlat", "nlon"),
                sst[None, :, None],
                {
                    "long_name": "Potential Temperature",
                    "units": "degC",
                    "grid_loc": "3111",
                    "cell_methods": "time: mean",
                },
            ),
            "time_bound": time_bound,
        },
        coords={
            "member_id": ("member_id", np.array([1], dtype=np.int64)),
            "time": time,
            "z_t": (
                "z_t",
                np.array([500.0]),
                {
                    "long_name": "depth from surface to midpoint of layer",
                    "units": "centimeters",
                    "positive": "down",
                },
            ),
            **{name: grid[name] for name in ("TLAT", "TLONG", "TAREA")},
        },
        attrs={
            "title": "synthetic CESM-like control run (geoxai): ocean",
            "source": "geoxai synthetic_cesm",
            "calendar": "All years have exactly  365 days.",
        },
    )
    dataset["time"].encoding = {"units": TIME_UNITS, "calendar": "noleap", "dtype": "float64"}
    dataset["time_bound"].encoding = {"units": TIME_UNITS, "calendar": "noleap", "dtype": "float64"}
    dataset["SST"].encoding = {"chunks": (1, settings.time_chunk, 1, *sst.shape[1:])}
    return dataset


def _trefht_dataset(
    settings: SyntheticCESMSettings, lat: np.ndarray, lon: np.ndarray, trefht: np.ndarray
) -> xr.Dataset:
    time, time_bnds = _time_coords(settings, trefht.shape[0], "time_bnds", "nbnd")
    dataset = xr.Dataset(
        {
            "TREFHT": (
                ("member_id", "time", "lat", "lon"),
                trefht[None],
                {
                    "long_name": "Reference height temperature",
                    "units": "K",
                    "cell_methods": "time: mean",
                },
            ),
            "time_bnds": time_bnds,
        },
        coords={
            "member_id": ("member_id", np.array([1], dtype=np.int64)),
            "time": time,
            "lat": ("lat", lat, {"long_name": "latitude", "units": "degrees_north"}),
            "lon": ("lon", lon, {"long_name": "longitude", "units": "degrees_east"}),
        },
        attrs={
            "title": "synthetic CESM-like control run (geoxai): atmosphere",
            "source": "geoxai synthetic_cesm",
        },
    )
    dataset["time"].encoding = {"units": TIME_UNITS, "calendar": "noleap", "dtype": "float64"}
    dataset["time_bnds"].encoding = {"units": TIME_UNITS, "calendar": "noleap", "dtype": "float64"}
    dataset["TREFHT"].encoding = {"chunks": (1, settings.time_chunk, lat.size, lon.size)}
    return dataset


def _atm_grid_dataset(
    lat: np.ndarray, lon: np.ndarray, landfrac: np.ndarray, dlat: float, dlon: float
):
    edges = np.clip(np.concatenate([[lat[0]], 0.5 * (lat[1:] + lat[:-1]), [lat[-1]]]), -90, 90)
    area = np.deg2rad(dlon) * np.diff(np.sin(np.deg2rad(edges)))[:, None] * np.ones(lon.size)
    return xr.Dataset(
        {
            "LANDFRAC": (
                ("lat", "lon"),
                landfrac.astype(np.float32),
                {"long_name": "Fraction of sfc area covered by land", "units": "fraction"},
            ),
            "area": (
                ("lat", "lon"),
                (area * (EARTH_RADIUS_CM / 100.0) ** 2 / 1e6).astype(np.float32),
                {"long_name": "gauss weights", "units": "km^2"},
            ),
        },
        coords={
            "lat": ("lat", lat, {"long_name": "latitude", "units": "degrees_north"}),
            "lon": ("lon", lon, {"long_name": "longitude", "units": "degrees_east"}),
        },
        attrs={"title": "synthetic CESM-like control run (geoxai): atmosphere grid"},
    )


def _season_keys(first_year: int, n_seasons: int) -> list[str]:
    """Key (middle month, "YYYY-MM") of season index s (s=0: DJF of the first year)."""
    keys = []
    for s in range(n_seasons):
        middle = 3 * s  # absolute month of the middle month: Jan, Apr, Jul, Oct
        keys.append(f"{first_year + middle // 12:04d}-{middle % 12 + 1:02d}")
    return keys


def generate_cesm_like(
    settings: dict[str, Any] | SyntheticCESMSettings | None,
    out_dir: str | os.PathLike,
    storage_options: dict[str, Any] | None = None,
    truth_dir: str | os.PathLike | None = None,
) -> dict[str, str]:
    """Write the synthetic SST, TREFHT and land-fraction stores and the truth record.

    ``out_dir`` is a local folder or an ``s3://bucket[/prefix]`` (then ``storage_options`` are
    passed to s3fs and ``truth_dir`` must be a local folder). Returns the paths/URLs by role:
    ``sst``, ``trefht``, ``landfrac``, ``truth_json``, ``truth_nc``.
    """
    if not isinstance(settings, SyntheticCESMSettings):
        settings = SyntheticCESMSettings.from_config(settings)
    base = str(out_dir).rstrip("/")
    remote = base.startswith(("s3://", "gs://", "az://", "http://", "https://"))
    if remote and truth_dir is None:
        raise GeoxaiError(f"out_dir={base} is remote: give a local truth_dir for the truth record")
    truth_folder = Path(truth_dir) if truth_dir is not None else Path(base)
    rng = np.random.default_rng(settings.seed)

    grid = pop_like_grid(
        settings.ocean_nlat, settings.ocean_nlon, settings.pole_lat, settings.pole_lon
    )
    sst, amplitude = sst_fields(settings, grid, rng)
    n_months = sst.shape[0]
    driver = _seasonal_driver(amplitude, _days_in_months(n_months))
    atm_lat, atm_lon = cam_like_grid(settings.atm_dlat, settings.atm_dlon)
    landfrac = _land_fraction(atm_lat, atm_lon, settings.atm_dlat, settings.atm_dlon)
    trefht = trefht_fields(settings, atm_lat, atm_lon, driver, landfrac, rng)

    paths = {
        **{field: f"{base}/{store}" for field, store in SYNTHETIC_STORES.items()},
        "truth_json": str(truth_folder / "truth.json"),
        "truth_nc": str(truth_folder / "truth.nc"),
    }
    _write_zarr(_sst_dataset(settings, grid, sst), paths["sst"], storage_options)
    _write_zarr(
        _trefht_dataset(settings, atm_lat, atm_lon, trefht), paths["trefht"], storage_options
    )
    _write_zarr(
        _atm_grid_dataset(atm_lat, atm_lon, landfrac, settings.atm_dlat, settings.atm_dlon),
        paths["landfrac"],
        storage_options,
    )

    lat, lon = regular_grid(settings.sst_grid_degrees)
    keys = _season_keys(settings.first_year, driver.size)
    complete = np.isfinite(driver)
    truth = xr.Dataset(
        {
            "driver_mask": driver_mask(lat, lon, settings.driver_region),
            "driver_index": xr.DataArray(
                driver[complete].astype(np.float32),
                dims="season",
                coords={"season": np.array(keys)[complete]},
                attrs={
                    "long_name": "standardized seasonal driver amplitude (SST season)",
                    "units": "1",
                },
            ),
        },
        attrs={
            "title": "known answer of the synthetic CESM-like source",
            "driven_box": settings.driven_box_id,
            "driver_region": json.dumps(list(settings.driver_region)),
            "lead_seasons": settings.lead_seasons,
            "signal_strength": settings.signal_strength,
        },
    )
    best_accuracy = 0.5 + float(np.arctan(settings.signal_strength)) / np.pi
    record = {
        "driven_box": settings.driven_box_id,
        "driver_region": {
            "lat_min": settings.driver_region[0],
            "lat_max": settings.driver_region[1],
            "lon_min": settings.driver_region[2],
            "lon_max": settings.driver_region[3],
        },
        "lead_seasons": settings.lead_seasons,
        "signal_strength": settings.signal_strength,
        "best_possible_accuracy_driven_box": round(best_accuracy, 4),
        "expected_accuracy_other_boxes": 0.5,
        "sst_grid_degrees": settings.sst_grid_degrees,
        "stores": {k: v for k, v in paths.items() if not k.startswith("truth")},
        "settings": asdict(settings),
    }
    write_netcdf_atomic(truth, paths["truth_nc"], synthetic_settings=asdict(settings))
    write_json_atomic(paths["truth_json"], record)
    return paths
