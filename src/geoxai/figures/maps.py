"""Map extents (the data's own domain, the case studies' zoom box) and the map axes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cartopy.crs as ccrs
import cmocean
import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from geoxai.core.errors import GeoxaiError
from geoxai.figures.base import GLOBAL_LAT_SPAN, LAND_GREY, TROPICAL_PACIFIC

# --------------------------------------------------------------------------- map extents


@dataclass(frozen=True)
class MapExtent:
    """A longitude/latitude box: ``west`` in 0..360 °E, ``east`` > ``west`` (above 360 when the
    box crosses the 0/360 meridian), ``south`` < ``north`` in °N."""

    west: float
    east: float
    south: float
    north: float

    @property
    def lon_global(self) -> bool:
        return self.east - self.west >= 360.0 - 1e-6

    @property
    def is_global(self) -> bool:
        return self.lon_global and self.north - self.south >= GLOBAL_LAT_SPAN

    @property
    def centre(self) -> float:
        return 0.5 * (self.west + self.east)

    def text(self) -> str:
        lon = "all longitudes" if self.lon_global else (
            f"{_lon_text(self.west)}–{_lon_text(self.east)}")
        return f"{lon}, {_lat_text(self.south)}–{_lat_text(self.north)}"


def _lon_text(lon: float) -> str:
    lon = float(np.mod(lon + 180.0, 360.0) - 180.0)
    if np.isclose(abs(lon), 180.0) or np.isclose(lon, 0.0):
        return f"{abs(lon):g}°"
    return f"{abs(lon):g}°{'E' if lon > 0 else 'W'}"


def _lat_text(lat: float) -> str:
    return "0°" if np.isclose(lat, 0.0) else f"{abs(lat):g}°{'N' if lat > 0 else 'S'}"


def _spacing(sorted_values: np.ndarray, fallback: float) -> float:
    steps = np.diff(sorted_values)
    return float(np.median(steps)) if steps.size else fallback


def data_extent(lat: Sequence[float], lon: Sequence[float]) -> MapExtent:
    """The box a grid covers, cell centres plus half a cell on every side.

    Longitudes may be given in any convention (0..360, -180..180, unordered); the box is the
    circle minus its widest gap between neighbouring cell centres, so a domain across the 0/360
    meridian or the dateline comes out as one box. A grid with no gap wider than 1.5 cells covers
    every longitude.
    """
    lats = np.unique(np.asarray(lat, dtype=float))
    lons = np.unique(np.mod(np.asarray(lon, dtype=float), 360.0))
    if not (lats.size and lons.size):
        raise GeoxaiError("The grid has no latitude or longitude: nothing to map.")
    gaps = np.diff(np.append(lons, lons[0] + 360.0))  # gaps[k]: from lons[k] east to the next
    widest = int(np.argmax(gaps))
    others = np.delete(gaps, widest)
    dlat = _spacing(lats, fallback=1.0)
    dlon = float(np.median(others)) if others.size else dlat
    half_lat = 0.5 * dlat
    south, north = max(-90.0, lats[0] - half_lat), min(90.0, lats[-1] + half_lat)
    if lons.size > 1 and gaps[widest] <= 1.5 * dlon:
        return MapExtent(0.0, 360.0, south, north)
    west = lons[(widest + 1) % lons.size]
    east = lons[widest] + (360.0 if lons[widest] < west else 0.0)
    return MapExtent(float(west - 0.5 * dlon), float(east + 0.5 * dlon), south, north)


def zoom_box(box: Mapping[str, Any] | None) -> tuple[MapExtent, str]:
    """The case-study zoom box from ``{"lon": [west, east], "lat": [south, north], "name": ...}``
    (°E from west to east, so ``[330, 30]`` crosses the 0/360 meridian), and its name."""
    box = dict(TROPICAL_PACIFIC if box is None else box)
    try:
        (west, east), (south, north) = ([float(v) for v in box[k]] for k in ("lon", "lat"))
    except (KeyError, TypeError, ValueError) as error:
        raise GeoxaiError(
            f"figures.case_study_box={box!r}: give lon: [west, east] (°E) and lat: "
            "[south, north] (°N), e.g. {lon: [105, 290], lat: [-22.5, 22.5]}"
        ) from error
    if not -90.0 <= south < north <= 90.0:
        raise GeoxaiError(
            f"figures.case_study_box lat={[south, north]}: give [south, north] with "
            "-90 <= south < north <= 90"
        )
    width = float(np.mod(east - west, 360.0)) or 360.0
    west = float(np.mod(west, 360.0))
    return MapExtent(west, west + width, south, north), str(box.get("name") or "Zoom")


def clip_extent(box: MapExtent, data: MapExtent) -> MapExtent | None:
    """The part of ``box`` inside ``data``; ``None`` when they do not overlap.

    Should the box reach the data from both ends (a long box around a short domain), the larger
    of the two overlaps is kept: one panel shows one contiguous box.
    """
    south, north = max(box.south, data.south), min(box.north, data.north)
    if north <= south:
        return None
    if data.lon_global:
        return MapExtent(box.west, box.east, south, north)
    if box.lon_global:
        return MapExtent(data.west, data.east, south, north)
    start = data.west + float(np.mod(box.west - data.west, 360.0))
    width = box.east - box.west
    overlaps = [(max(lo, data.west), min(lo + width, data.east)) for lo in (start, start - 360.0)]
    west, east = max(overlaps, key=lambda pair: pair[1] - pair[0])
    if east <= west:
        return None
    west_360 = float(np.mod(west, 360.0))
    return MapExtent(west_360, west_360 + (east - west), south, north)


def same_box(a: MapExtent, b: MapExtent) -> bool:
    sizes = np.allclose([a.east - a.west, a.south, a.north], [b.east - b.west, b.south, b.north])
    return bool(sizes and np.isclose(np.mod(a.west - b.west + 180.0, 360.0), 180.0))


def degree_ticks(low: float, high: float) -> np.ndarray:
    span = high - low
    step = next(s for s in (5, 10, 20, 30, 60, 90) if span / s <= 7)
    return np.arange(np.ceil(low / step) * step, high + 1e-9, step)


# --------------------------------------------------------------------------- map helpers


def map_axes(fig: Figure, spec: Any, central_longitude: float, extent: MapExtent) -> Any:
    """A map of ``extent``: the global Robinson view for global data, else PlateCarree centred on
    the domain (on ``central_longitude`` for a band around the globe)."""
    if extent.is_global:
        ax = fig.add_subplot(spec, projection=ccrs.Robinson(central_longitude=central_longitude))
        ax.set_global()
    else:
        centre = central_longitude if extent.lon_global else extent.centre
        projection = ccrs.PlateCarree(central_longitude=centre)
        ax = fig.add_subplot(spec, projection=projection)
        # The limits are given in the map's own coordinates: a box given in plain PlateCarree
        # degrees would be cut at the dateline.
        half = 180.0 if extent.lon_global else 0.5 * (extent.east - extent.west)
        ax.set_extent([-half, half, extent.south, extent.north], crs=projection)
    # Masked (land) cells are transparent, so the grey background shows through them: cartopy can
    # only wrap a pcolormesh across the map edge when the colormap's "bad" colour is transparent.
    ax.set_facecolor(LAND_GREY)
    # A regional map has no continents' outline to place it by: label its gridlines.
    lines = ax.gridlines(draw_labels=not extent.is_global, linewidth=0.3, color="0.6", alpha=0.6,
                         linestyle=":")
    lines.top_labels = lines.right_labels = False
    return ax


def on_domain(field: xr.DataArray, extent: MapExtent) -> xr.DataArray:
    """The field with longitudes counted east from the domain's west edge, in increasing order.

    A regional grid stored 0..360 that crosses the 0/360 meridian lists its eastern half first;
    drawn as stored, a mesh or contour would bridge the gap across the whole globe.
    """
    if extent.lon_global:
        return field
    lon = extent.west + np.mod(field["lon"].values - extent.west, 360.0)
    return field.assign_coords(lon=lon).sortby("lon")


def draw_mesh(ax: Any, field: xr.DataArray, cmap: Any, vmin: float, vmax: float) -> Any:
    cmap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    return ax.pcolormesh(
        field["lon"].values, field["lat"].values, np.ma.masked_invalid(field.values),
        transform=ccrs.PlateCarree(), cmap=cmap,
        vmin=vmin, vmax=vmax, shading="nearest", rasterized=True, zorder=1,
    )


def ocean_only(field: xr.DataArray, ocean_mask: xr.DataArray) -> xr.DataArray:
    return field.where(ocean_mask > 0.5)


def finite_max_abs(field: xr.DataArray) -> float:
    values = np.abs(field.values[np.isfinite(field.values)])
    return float(values.max()) if values.size else 0.0


def relevance_style(field: xr.DataArray) -> tuple[Any, float, float]:
    """Sequential 0..max for non-negative relevance; diverging when a rule gives negative values."""
    values = field.values[np.isfinite(field.values)]
    top = float(values.max()) if values.size else 1.0
    bottom = float(values.min()) if values.size else 0.0
    if bottom < -0.02 * max(abs(top), 1e-12):
        limit = max(abs(top), abs(bottom))
        return cmocean.cm.balance, -limit, limit
    return cmocean.cm.amp, 0.0, top if top > 0 else 1.0


