"""Writing the synthetic CESM-like source: time stamps, the Zarr stores in the CESM1-LE layout
and the truth record."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.grid import lat_lon_attrs
from geoxai.core.provenance import write_json_atomic, write_netcdf_atomic
from geoxai.lst.layout import SYNTHETIC_STORES
from geoxai.lst.regrid import regular_grid
from geoxai.lst.synthetic.fields import (
    SyntheticCESMSettings,
    seasonal_driver,
    sst_fields,
    trefht_fields,
)
from geoxai.lst.synthetic.grids import (
    EARTH_RADIUS_CM,
    cam_like_grid,
    driver_mask,
    land_fraction,
    pop_like_grid,
)

TIME_UNITS = "days since 0000-01-01 00:00:00"
# CAM history files give their lat/lon only a long_name and units.
CAM_LAT_ATTRS, CAM_LON_ATTRS = lat_lon_attrs("long_name", "units")

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
            "lat": ("lat", lat, CAM_LAT_ATTRS),
            "lon": ("lon", lon, CAM_LON_ATTRS),
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
            "lat": ("lat", lat, CAM_LAT_ATTRS),
            "lon": ("lon", lon, CAM_LON_ATTRS),
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
    driver = seasonal_driver(amplitude, _days_in_months(n_months))
    atm_lat, atm_lon = cam_like_grid(settings.atm_dlat, settings.atm_dlon)
    landfrac = land_fraction(atm_lat, atm_lon, settings.atm_dlat, settings.atm_dlon)
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
                # A string-valued label (CF 6.1), not a coordinate variable, which must be numeric.
                coords={"season_key": ("season", np.array(keys)[complete], {
                    "long_name": "middle month of the season (YYYY-MM)"})},
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
