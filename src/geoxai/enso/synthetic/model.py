"""The synthetic ENSO model itself: grid, land, the two El Niño patterns, the index, the flavour
weight and the SST they add up to (see :mod:`geoxai.enso.synthetic`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from geoxai.core.errors import GeoxaiError
from geoxai.core.statistics import ar1

#: A recognisable but coarse map of the continents: [lat_min, lat_max, lon_min, lon_max] with
#: longitudes in 0..360. Chosen to stay clear of the default driving region.
LAND_BOXES: tuple[tuple[float, float, float, float], ...] = (
    (50, 72, 195, 295),    # Alaska and Canada
    (30, 50, 235, 290),    # United States
    (16, 30, 250, 278),    # Mexico
    (60, 83, 300, 340),    # Greenland
    (-10, 12, 282, 325),   # northern South America
    (-35, -10, 290, 320),  # southern South America
    (-55, -35, 288, 302),  # Patagonia
    (36, 70, 0, 40),       # Europe
    (36, 44, 350, 360),    # Iberia
    (5, 35, 343, 360),     # West Africa
    (5, 35, 0, 35),        # North Africa
    (-35, 5, 10, 42),      # southern Africa
    (12, 30, 35, 58),      # Arabia
    (30, 75, 40, 140),     # Asia
    (50, 72, 140, 180),    # eastern Siberia
    (8, 30, 68, 90),       # India
    (10, 30, 90, 120),     # South-East Asia
    (-8, 5, 95, 120),      # Indonesia
    (-10, 0, 130, 150),    # New Guinea
    (-39, -11, 113, 153),  # Australia
    (-90, -66, 0, 360),    # Antarctica
)


def grid_centres(degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre latitudes (ascending) and longitudes (0..360) of a regular grid."""
    lat = -90 + degrees / 2 + degrees * np.arange(round(180 / degrees))
    lon = degrees / 2 + degrees * np.arange(round(360 / degrees))
    return lat, lon


def ocean_mask(lat: np.ndarray, lon: np.ndarray, land: Any = "boxes") -> np.ndarray:
    """True over ocean; land is the union of boxes (``LAND_BOXES`` for ``"boxes"``)."""
    boxes = {"boxes": LAND_BOXES, "none": ()}.get(land, land) if isinstance(land, str) else land
    lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
    is_land = np.zeros(lat2.shape, dtype=bool)
    for lat0, lat1, lon0, lon1 in boxes:
        is_land |= (lat2 >= lat0) & (lat2 <= lat1) & (lon2 >= lon0) & (lon2 <= lon1)
    return ~is_land


def region_mask(lat: np.ndarray, lon: np.ndarray, region: Mapping[str, Any]) -> np.ndarray:
    """True where the cell centre lies inside the lat/lon box (edges included)."""
    (south, north), (west, east) = region["lat"], region["lon"]
    lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
    return (lat2 >= south) & (lat2 <= north) & (lon2 >= west) & (lon2 <= east)


def _edge_taper(x: np.ndarray, low: float, high: float, width: float) -> np.ndarray:
    """1 well inside [low, high], falling as sin^2 to 0 at its ends, 0 outside."""
    if width <= 0:
        return ((x >= low) & (x <= high)).astype(float)
    distance = np.clip(np.minimum(x - low, high - x), 0, None)
    ramp = np.sin(0.5 * np.pi * np.clip(distance / width, 0, 1)) ** 2
    return np.where((x >= low) & (x <= high), ramp, 0.0)


def enso_pattern(
    lat: np.ndarray, lon: np.ndarray, center: Any, width: Any, region: Mapping[str, Any],
    ocean: np.ndarray, taper_degrees: float,
) -> np.ndarray:
    """A Gaussian bump, exactly zero outside ``region`` and on land, scaled to a maximum of 1."""
    lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
    bump = np.exp(-0.5 * (((lat2 - center[0]) / width[0]) ** 2
                          + ((lon2 - center[1]) / width[1]) ** 2))
    taper = (_edge_taper(lat2, *region["lat"], taper_degrees)
             * _edge_taper(lon2, *region["lon"], taper_degrees))
    pattern = bump * taper * ocean * region_mask(lat, lon, region)
    peak = pattern.max()
    if peak <= 0:
        raise GeoxaiError(
            f"enso.synthetic: the pattern centred at {list(center)} has no ocean cell inside the "
            f"driving region {dict(region)} on this grid; move the centre or widen the region."
        )
    return pattern / peak


def synthetic_index(rng: np.random.Generator, n: int, phi: float, std: float) -> np.ndarray:
    """The Niño3.4-like index: AR(1), standardized to ``std``, rounded to 0.01 as PSL files are."""
    series = ar1(rng, phi, n)
    series = (series - series.mean()) / series.std() * std
    return np.round(series, 2)


def flavour_weight(rng: np.random.Generator, n: int, phi: float, contrast: float) -> np.ndarray:
    """Share of the eastern-Pacific pattern each month: a slowly varying logistic of an AR(1)."""
    return 1 / (1 + np.exp(-contrast * ar1(rng, phi, n)))



def _climatological_mean(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Warm tropics, freezing poles, and a cold tongue in the eastern equatorial Pacific."""
    lat2, lon2 = np.meshgrid(np.deg2rad(lat), lon, indexing="ij")
    tongue = 2.0 * np.exp(-0.5 * (np.rad2deg(lat2) / 5) ** 2 - 0.5 * ((lon2 - 255) / 25) ** 2)
    return -1.8 + 29.8 * np.cos(lat2) ** 2 - tongue


def sst_field(
    s: dict[str, Any], times: pd.DatetimeIndex, lat: np.ndarray, lon: np.ndarray,
    n: np.ndarray, w: np.ndarray, east: np.ndarray, central: np.ndarray,
    noise_rng: np.random.Generator, correlated_rng: np.random.Generator | None = None,
) -> np.ndarray:
    """SST (time, lat, lon) in degC before land is masked; ``correlated_rng`` draws the
    ``correlated_noise`` (large-scale, see :mod:`geoxai.enso.synthetic.noise`)."""
    from geoxai.enso.synthetic.noise import correlated_noise

    mean = _climatological_mean(lat, lon)
    # Northern summer peaks in August, southern in February; no seasonal cycle on the equator.
    phase = np.cos(2 * np.pi * (np.arange(1, 13) - 8) / 12)
    seasonal = s["seasonal_amplitude"] * phase[:, None] * np.sin(np.deg2rad(lat))[None, :]
    years = np.arange(len(times)) / 12
    trend = s["trend_per_century"] * years / 100
    phi = s["noise_autocorrelation"]
    innovation_std = s["noise_std"] * math.sqrt(1 - phi * phi)
    noise = s["noise_std"] * noise_rng.standard_normal(mean.shape)  # stationary start
    sst = correlated_noise(correlated_rng or np.random.default_rng(0), s["correlated_noise"],
                           lat, lon, len(times))
    for t, month in enumerate(times.month):
        if t:
            noise = phi * noise + innovation_std * noise_rng.standard_normal(mean.shape)
        enso = s["enso_amplitude"] * n[t] * (w[t] * east + (1 - w[t]) * central)
        sst[t] += mean + seasonal[month - 1][:, None] + trend[t] + enso + noise
    return sst
