"""The synthetic CESM-like source's settings and fields: the known answer drawn as numbers."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.statistics import ar1
from geoxai.lst.synthetic.grids import driver_pattern, synthetic_land


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
        from geoxai.lst.boxes import box_id

        return box_id(*self.driven_box)


def _season_index(n_months: int) -> np.ndarray:
    """Consecutive DJF/MAM/JJA/SON seasons of absolute months from January of the first year
    (December joins the next year's DJF); season 0 is the incomplete first DJF."""
    return (np.arange(n_months) + 1) // 3


def seasonal_driver(amplitude: np.ndarray, days: np.ndarray) -> np.ndarray:
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
    amplitude = ar1(rng, settings.driver_persistence, n_months)
    modes = _large_scale_modes(rng, lat, lon, settings.n_modes) * (1.0 - (pattern > 0))
    mode_series = ar1(rng, 0.8, (n_months, settings.n_modes))
    noise = ar1(rng, settings.noise_persistence, (n_months, *lat.shape))
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
