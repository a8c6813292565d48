"""The synthetic CESM-like source's geometry: a POP-like ocean grid with a displaced pole, a CAM-like
atmosphere grid, idealized continents and the driver region."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.grid import LAT_ATTRS, LON_ATTRS

EARTH_RADIUS_CM = 6.371e8

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


def land_fraction(
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
