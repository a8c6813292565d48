"""Land fraction of a regular lat/lon grid from the Natural Earth land polygons the package ships.

The public CESM1-LE bucket has no atmosphere static store, so Application 2 derives ``LANDFRAC``
on the TREFHT grid itself: each cell's land area divided by its area, on the sphere.

Areas are exact for the polygons as drawn in the cylindrical equal-area plane
``(x, y) = (lon, sin(lat))``: that map preserves area up to a constant factor and turns every
lat/lon cell into a rectangle, so a planar rectangle intersection gives a spherical area fraction
with no sub-sampling. Natural Earth's edges are straight in lon/lat, not in that plane. They are
first cut into pieces of at most ``max_segment_deg`` degrees, so the two readings of an edge differ
by at most ``(max_segment_deg in rad)**2 / 8 * tan(lat)`` in latitude: 1.4e-4 degrees x tan(lat)
at the default 0.25 (15 m at 45 degrees), far below the generalisation of the 1:110m coastline
(the global land fraction moves by 4e-7 between 0.25 and 0.02 degree segments).

Inland water follows the polygons: the Caspian Sea is a hole (water), the Great Lakes are land
(CAM counts lakes as land too).
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core import provenance
from geoxai.core.errors import GeoxaiError
from geoxai.core.grid import lat_lon_attrs
from geoxai.lst.cesm import open_fetched_field

NATURAL_EARTH_SOURCE = "Natural Earth 1:110m land polygons (public domain)"
DEFAULT_MAX_SEGMENT_DEG = 0.25


def land_shapefile() -> Path:
    """The shipped ``ne_110m_land.shp`` (where :func:`geoxai.figures.base.natural_earth_dir` looks)."""
    # Located without importing geoxai.figures: that pulls in cartopy and matplotlib, which this
    # step does not need.
    path = Path(
        str(
            resources.files("geoxai")
            / "data"
            / "natural_earth"
            / "shapefiles"
            / "natural_earth"
            / "physical"
            / "ne_110m_land.shp"
        )
    )
    if not path.is_file():
        raise GeoxaiError(
            f"Natural Earth land polygons missing at {path}: reinstall geoxai "
            "(they ship as package data under geoxai/data/natural_earth)."
        )
    return path


@functools.lru_cache(maxsize=1)
def natural_earth_land() -> tuple[Any, ...]:
    """The Natural Earth 1:110m land polygons (shapely, lon -180..180, lat in degrees)."""
    import shapefile
    import shapely

    with shapefile.Reader(str(land_shapefile())) as reader:
        shapes = [shapely.geometry.shape(s.__geo_interface__) for s in reader.shapes()]
    # One island ring (Haida Gwaii) touches itself; GEOS overlays reject invalid input.
    return tuple(shapely.make_valid(g) for g in shapes)


def _lat_edges(lat: np.ndarray) -> np.ndarray:
    """Cell edges of increasing latitude centres; end cells as wide as their neighbours, clipped
    to the poles (CAM finite-volume grids put centres on the poles: half-height pole cells)."""
    inner = 0.5 * (lat[1:] + lat[:-1])
    edges = np.concatenate(
        [[lat[0] - 0.5 * (lat[1] - lat[0])], inner, [lat[-1] + 0.5 * (lat[-1] - lat[-2])]]
    )
    return np.clip(edges, -90.0, 90.0)


def _lon_bounds(lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """West and east edge of each cell, in the frame of its own centre (no wrap inside a cell).

    Gaps are taken modulo 360, so 0..360, -180..180 and grids that jump across the dateline
    (..., 179, -179, ...) all work.
    """
    gaps = np.mod(np.diff(lon), 360.0)
    if np.any(gaps <= 0.0):
        raise GeoxaiError("land fraction: longitudes must increase (modulo 360) and not repeat")
    if gaps.sum() + 0.5 * (gaps[0] + gaps[-1]) > 360.0 + 1e-6:
        raise GeoxaiError("land fraction: the longitudes span more than 360 degrees")
    left = np.concatenate([[gaps[0]], gaps])
    right = np.concatenate([gaps, [gaps[-1]]])
    return lon - 0.5 * left, lon + 0.5 * right


def _equal_area(
    geometries: np.ndarray, max_segment_deg: float, shifts: Sequence[float]
) -> np.ndarray:
    """Copies of the polygons shifted by each of ``shifts`` degrees of longitude, in
    (lon, sin lat)."""
    import shapely

    dense = shapely.segmentize(geometries, max_segment_deg) if max_segment_deg else geometries
    copies = []
    for shift in shifts:

        def to_plane(xy: np.ndarray, shift: float = shift) -> np.ndarray:
            return np.column_stack(
                [xy[:, 0] + shift, np.sin(np.deg2rad(np.clip(xy[:, 1], -90.0, 90.0)))]
            )

        copies.append(shapely.transform(dense, to_plane))
    return np.concatenate(copies) if copies else np.empty(0, dtype=object)


def land_fraction_values(
    lat: Sequence[float] | np.ndarray,
    lon: Sequence[float] | np.ndarray,
    land: Sequence[Any] | Any | None = None,
    max_segment_deg: float = DEFAULT_MAX_SEGMENT_DEG,
) -> np.ndarray:
    """``(lat, lon)`` array: area fraction of each cell covered by ``land``.

    ``lat`` strictly monotonic (either way), within [-90, 90]; ``lon`` increasing modulo 360, any
    convention. ``land`` are non-overlapping shapely polygons in degrees spanning at most 360
    degrees of longitude, or one such geometry (default: :func:`natural_earth_land`); they are
    repeated every 360 degrees, so land on either side of the dateline reaches cells in any
    longitude frame.
    """
    import shapely

    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if lat.ndim != 1 or lon.ndim != 1 or lat.size < 2 or lon.size < 2:
        raise GeoxaiError(
            "land fraction: give 1-D lat and lon of at least 2 points "
            f"(got {lat.shape}, {lon.shape})"
        )
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
        raise GeoxaiError("land fraction: lat/lon must be finite")
    if np.abs(lat).max() > 90.0 + 1e-9:
        raise GeoxaiError(f"land fraction: latitudes beyond the poles ({lat.min()}..{lat.max()})")
    steps = np.diff(lat)
    descending = bool(np.all(steps < 0))
    if not (descending or np.all(steps > 0)):
        raise GeoxaiError("land fraction: latitudes must be strictly monotonic")
    if descending:
        lat = lat[::-1]

    y_edges = np.sin(np.deg2rad(_lat_edges(lat)))
    west, east = _lon_bounds(lon)
    if land is None:
        land = natural_earth_land()
    elif isinstance(land, shapely.Geometry):
        land = [land]
    geometries = np.asarray(list(land), dtype=object)
    if geometries.size:
        land_west, _, land_east, _ = shapely.total_bounds(geometries)
        if land_east - land_west > 360.0 + 1e-6:
            raise GeoxaiError("land fraction: the land polygons span more than 360 degrees")
        low = np.floor((west.min() - land_east) / 360.0)
        high = np.ceil((east.max() - land_west) / 360.0)
        shifts = [360.0 * k for k in np.arange(low, high + 1)]
    else:
        shifts = []
    pieces = _equal_area(geometries, max_segment_deg, shifts)
    piece_bounds = shapely.bounds(pieces).reshape(-1, 4)

    cell_width = east - west
    fraction = np.zeros((lat.size, lon.size))
    # Row by row: the band clip is a cheap rectangle clip that leaves only the few coastline
    # vertices of that band for the per-cell overlays, which is what keeps f09 under a second.
    for row in range(lat.size):
        south, north = y_edges[row], y_edges[row + 1]
        if north <= south:
            continue
        in_band = np.flatnonzero((piece_bounds[:, 1] < north) & (piece_bounds[:, 3] > south))
        if in_band.size == 0:
            continue
        band = shapely.clip_by_rect(pieces[in_band], west.min(), south, east.max(), north)
        band = band[~shapely.is_empty(band)]
        if band.size == 0:
            continue
        band_bounds = shapely.bounds(band)
        piece, cell = np.nonzero(
            (band_bounds[:, 0][:, None] < east[None, :])
            & (band_bounds[:, 2][:, None] > west[None, :])
        )
        boxes = shapely.box(west[cell], south, east[cell], north)
        areas = shapely.area(shapely.intersection(band[piece], boxes))
        fraction[row] = np.bincount(cell, areas, minlength=lon.size) / (
            cell_width * (north - south)
        )
    # Rounding in the overlays leaves values a few ulp outside [0, 1].
    fraction = np.clip(fraction, 0.0, 1.0)
    return fraction[::-1] if descending else fraction


def land_fraction(
    lat: Sequence[float] | np.ndarray | xr.DataArray,
    lon: Sequence[float] | np.ndarray | xr.DataArray,
    land: Sequence[Any] | None = None,
    max_segment_deg: float = DEFAULT_MAX_SEGMENT_DEG,
    name: str = "LANDFRAC",
) -> xr.DataArray:
    """``LANDFRAC(lat, lon)`` in [0, 1] with CF attributes; see :func:`land_fraction_values`.

    DataArray coordinates keep their attributes, so the result lines up with the field they came
    from.
    """
    values = land_fraction_values(
        np.asarray(lat), np.asarray(lon), land=land, max_segment_deg=max_segment_deg
    )
    default_lat, default_lon = lat_lon_attrs("units", "long_name")
    lat_attrs = dict(getattr(lat, "attrs", {})) or default_lat
    lon_attrs = dict(getattr(lon, "attrs", {})) or default_lon
    return xr.DataArray(
        values,
        dims=("lat", "lon"),
        coords={
            "lat": ("lat", np.asarray(lat, dtype=np.float64), lat_attrs),
            "lon": ("lon", np.asarray(lon, dtype=np.float64), lon_attrs),
        },
        name=name,
        attrs={
            "units": "1",
            "long_name": "land area fraction of the grid cell",
            "standard_name": "land_area_fraction",
            "source": NATURAL_EARTH_SOURCE if land is None else "given land polygons",
            "comment": "spherical area of land in the cell / cell area; cells span midway between "
            "centres, pole cells end at the pole",
        },
    )


def grid_digest(lat: np.ndarray, lon: np.ndarray) -> str:
    """sha256 of the grid's coordinate values: what the land fraction depends on."""
    digest = hashlib.sha256()
    for values in (lat, lon):
        digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    return digest.hexdigest()


def write_land_fraction(
    trefht_path: str | os.PathLike,
    output: str | os.PathLike,
    variable: str = "LANDFRAC",
    trefht_variable: str = "TREFHT",
    config: dict[str, Any] | None = None,
) -> xr.DataArray:
    """The land fraction on the grid of the fetched TREFHT file, written atomically to ``output``.

    Only the coordinates are read. The provenance names the TREFHT file and a digest of its grid
    rather than the file's checksum: the land fraction depends on the grid alone, and hashing the
    paper run's multi-GB file would take longer than the computation.
    """
    field_on_grid = open_fetched_field(trefht_path, trefht_variable, "lst.trefht.variable")
    with field_on_grid:
        dims = set(field_on_grid.dims)
        if not {"lat", "lon"} <= dims:
            raise GeoxaiError(
                f"{trefht_path}: {trefht_variable} has dimensions {sorted(dims)}, not a regular "
                "lat/lon grid: give a land fraction store in lst.landfrac.store"
            )
        lat, lon = field_on_grid["lat"].load(), field_on_grid["lon"].load()
    field = land_fraction(lat, lon, name=variable)
    dataset = field.to_dataset()
    dataset.attrs = {
        "title": f"{variable}: land area fraction on the TREFHT grid",
        "source": NATURAL_EARTH_SOURCE,
    }
    provenance.write_netcdf_atomic(
        dataset,
        output,
        config=config,
        inputs={"land_polygons": land_shapefile()},
        input_trefht=str(trefht_path),
        input_trefht_grid_sha256=grid_digest(lat.values, lon.values),
    )
    # The run summary reads where each input came from here; it also replaces the record a
    # store-fetched land fraction may have left at this path.
    provenance.write_json_atomic(
        f"{output}.provenance.json",
        {"url": f"{NATURAL_EARTH_SOURCE} on the grid of {trefht_path}", "variable": variable},
    )
    return field
