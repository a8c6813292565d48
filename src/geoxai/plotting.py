"""The workflow's figures: composites (Fig. 6), case studies (Fig. 7), training, seeds, index,
and Application 2's skill map.

Every figure function reads the products of earlier rules, draws one figure of a fixed size
(``figsize`` inches at ``dpi``, no tight bounding box, so the PNG's pixel size is known in advance)
and writes it atomically to each path in ``outputs`` (``.png`` or ``.pdf``). They return nothing.

Maps never download anything: coastlines and land come from the Natural Earth 110m shapefiles
shipped inside the package (``geoxai/data/natural_earth``), and cartopy is pointed at that folder
for the duration of each figure (:func:`offline_natural_earth`). Features are always requested at
the explicit 110m scale, because cartopy's automatic scale picks 50m/10m for regional zooms, and
those are not shipped.

Maps show the data's own domain (:func:`data_extent`, from the file's ``lat``/``lon``): a global
grid keeps the global Robinson view, a regional one is drawn on PlateCarree centred on its domain,
which may cross the 0/360 meridian or the dateline. The case studies' zoom box is clipped to the
domain (the panel title says so); a box wholly outside it is an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import cartopy
import cartopy.crs as ccrs
import cartopy.feature as cfeature
import cmocean
import matplotlib as mpl
import numpy as np
import pandas as pd
import xarray as xr
from cartopy.mpl.ticker import LatitudeFormatter, LongitudeFormatter
from cartopy.util import add_cyclic_point
from matplotlib.figure import Figure

from geoxai.errors import GeoxaiError
from geoxai.provenance import atomic_output
from geoxai.sources import month_keys

PathLike = str | os.PathLike

#: Tropical-Pacific zoom of the case studies (paper Fig. 7): 105°E–70°W, 22.5°S–22.5°N.
TROPICAL_PACIFIC = {"lon": (105.0, 290.0), "lat": (-22.5, 22.5), "name": "Tropical Pacific"}

#: A grid covering every longitude and at least this many degrees of latitude is drawn on the
#: global Robinson map; a narrower band would leave most of that map empty.
GLOBAL_LAT_SPAN = 120.0

#: Natural Earth scale of the shipped shapefiles; the only one that can be drawn offline.
NATURAL_EARTH_SCALE = "110m"

LAND_GREY = "0.82"
SAVE_FORMATS = {".png": "png", ".pdf": "pdf"}

#: Fonts sized for a figure printed at its nominal size (readable in a two-column paper).
STYLE: dict[str, Any] = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.facecolor": "white",
}


# --------------------------------------------------------------------------- offline coastlines


def natural_earth_dir() -> Path:
    """The package's Natural Earth folder, laid out as cartopy's ``pre_existing_data_dir``."""
    folder = Path(str(resources.files("geoxai") / "data" / "natural_earth"))
    probe = folder / "shapefiles" / "natural_earth" / "physical" / "ne_110m_coastline.shp"
    if not probe.is_file():
        raise GeoxaiError(
            f"Natural Earth shapefiles missing at {probe}: reinstall geoxai "
            "(they ship as package data under geoxai/data/natural_earth)."
        )
    return folder


@contextlib.contextmanager
def offline_natural_earth() -> Iterator[Path]:
    """Point cartopy at the shipped shapefiles while the block runs; restore its config after.

    Cartopy looks in ``pre_existing_data_dir`` before it considers downloading, so with the
    shipped files there no 110m coastline or land request reaches the network.
    """
    folder = natural_earth_dir()
    previous = cartopy.config["pre_existing_data_dir"]
    cartopy.config["pre_existing_data_dir"] = folder
    try:
        yield folder
    finally:
        cartopy.config["pre_existing_data_dir"] = previous


def _land() -> cfeature.NaturalEarthFeature:
    return cfeature.NaturalEarthFeature("physical", "land", NATURAL_EARTH_SCALE)


def _draw_land_and_coast(ax: Any) -> None:
    # Land on top of the data: the 1° land mask and Natural Earth's coastline never agree exactly,
    # and a grey land layer hides the ragged edge of masked grid cells.
    ax.add_feature(_land(), facecolor=LAND_GREY, edgecolor="none", zorder=2)
    ax.coastlines(resolution=NATURAL_EARTH_SCALE, linewidth=0.5, color="0.25", zorder=3)


# --------------------------------------------------------------------------- saving


def _check_outputs(outputs: Sequence[PathLike]) -> list[Path]:
    paths = [Path(p) for p in ([outputs] if isinstance(outputs, str | os.PathLike) else outputs)]
    if not paths:
        raise GeoxaiError("No output path given for the figure: pass at least one .png or .pdf.")
    for path in paths:
        if path.suffix.lower() not in SAVE_FORMATS:
            raise GeoxaiError(
                f"Figure output {path} has suffix {path.suffix!r}: use .png or .pdf."
            )
    return paths


def _new_figure(figsize: tuple[float, float], dpi: float) -> Figure:
    # A bare Figure (no pyplot) keeps no global state and works on any backend.
    return Figure(figsize=figsize, dpi=dpi, layout="constrained")


def _save(fig: Figure, outputs: list[Path], dpi: float) -> None:
    for path in outputs:
        fmt = SAVE_FORMATS[path.suffix.lower()]
        # No creation date: the same inputs give the same PDF bytes.
        metadata = {"CreationDate": None} if fmt == "pdf" else None
        with atomic_output(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata)


# --------------------------------------------------------------------------- reading inputs


def _open_dataset(path: PathLike, variables: Sequence[str], what: str) -> xr.Dataset:
    path = Path(path)
    if not path.is_file():
        raise GeoxaiError(f"{what} file {path} does not exist: run the rule that makes it first.")
    with xr.open_dataset(path) as opened:
        dataset = opened.load()
    missing = [name for name in variables if name not in dataset.variables]
    if missing:
        raise GeoxaiError(
            f"{what} file {path} lacks {', '.join(missing)}: it was written by another version "
            "of geoxai; delete it and re-run the rule that makes it."
        )
    return dataset


def _select_class(
    dataset: xr.Dataset, class_name: str | int, path: PathLike
) -> tuple[xr.Dataset, str]:
    """The class by name, or by position when ``class_name`` is an int (a label value)."""
    classes = [str(c) for c in dataset["class"].values]
    if isinstance(class_name, int) and not isinstance(class_name, bool):
        position = class_name if 0 <= class_name < len(classes) else -1
    else:
        position = classes.index(class_name) if class_name in classes else -1
    if position < 0:
        raise GeoxaiError(
            f"Class {class_name!r} is not in {path}; its classes are {', '.join(classes)} "
            "(give a name or a position from 0)."
        )
    return dataset.isel({"class": position}), classes[position]


def _month_number(key: str) -> int:
    year, month = key.split("-")[:2]
    return int(year) * 12 + int(month) - 1


def _month_title(key: str) -> str:
    names = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")
    year, month = key.split("-")[:2]
    return f"{names[int(month) - 1]} {year}"


def rule_label(rule: str) -> str:
    """A readable name for an LRP rule key, e.g. ``alpha_1_beta_0`` -> ``α=1, β=0``."""
    found = re.search(r"alpha_?(\d+)_?beta_?(\d+)", rule)
    if found:
        return f"α={found[1]}, β={found[2]}"
    return {"z": "z", "lrp.z": "z", "epsilon": "ε", "lrp.epsilon": "ε",
            "deep_taylor": "deep Taylor (α=1, β=0)"}.get(rule, rule)


def _seed_label(seeds: Sequence[int]) -> str:
    seeds = sorted(int(s) for s in seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}–{seeds[-1]}"
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(str(s) for s in seeds)


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


def _same_box(a: MapExtent, b: MapExtent) -> bool:
    sizes = np.allclose([a.east - a.west, a.south, a.north], [b.east - b.west, b.south, b.north])
    return bool(sizes and np.isclose(np.mod(a.west - b.west + 180.0, 360.0), 180.0))


def _degree_ticks(low: float, high: float) -> np.ndarray:
    span = high - low
    step = next(s for s in (5, 10, 20, 30, 60, 90) if span / s <= 7)
    return np.arange(np.ceil(low / step) * step, high + 1e-9, step)


# --------------------------------------------------------------------------- map helpers


def _map_axes(fig: Figure, spec: Any, central_longitude: float, extent: MapExtent) -> Any:
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


def _on_domain(field: xr.DataArray, extent: MapExtent) -> xr.DataArray:
    """The field with longitudes counted east from the domain's west edge, in increasing order.

    A regional grid stored 0..360 that crosses the 0/360 meridian lists its eastern half first;
    drawn as stored, a mesh or contour would bridge the gap across the whole globe.
    """
    if extent.lon_global:
        return field
    lon = extent.west + np.mod(field["lon"].values - extent.west, 360.0)
    return field.assign_coords(lon=lon).sortby("lon")


def _mesh(ax: Any, field: xr.DataArray, cmap: Any, vmin: float, vmax: float) -> Any:
    cmap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    return ax.pcolormesh(
        field["lon"].values, field["lat"].values, np.ma.masked_invalid(field.values),
        transform=ccrs.PlateCarree(), cmap=cmap,
        vmin=vmin, vmax=vmax, shading="nearest", rasterized=True, zorder=1,
    )


def _ocean_only(field: xr.DataArray, ocean_mask: xr.DataArray) -> xr.DataArray:
    return field.where(ocean_mask > 0.5)


def _finite_max_abs(field: xr.DataArray) -> float:
    values = np.abs(field.values[np.isfinite(field.values)])
    return float(values.max()) if values.size else 0.0


def _relevance_style(field: xr.DataArray) -> tuple[Any, float, float]:
    """Sequential 0..max for non-negative relevance; diverging when a rule gives negative values."""
    values = field.values[np.isfinite(field.values)]
    top = float(values.max()) if values.size else 1.0
    bottom = float(values.min()) if values.size else 0.0
    if bottom < -0.02 * max(abs(top), 1e-12):
        limit = max(abs(top), abs(bottom))
        return cmocean.cm.balance, -limit, limit
    return cmocean.cm.amp, 0.0, top if top > 0 else 1.0


# --------------------------------------------------------------------------- figure 1: composites


def plot_composites(
    composites_nc: PathLike,
    class_name: str | int,
    outputs: Sequence[PathLike],
    central_longitude: float = 225.0,
    dpi: float = 150,
    figsize: tuple[float, float] = (7.0, 10.0),
) -> Figure:
    """Paper Fig. 6 for one class: optimal input, composite relevance, observed composite SST.

    ``class_name`` is a value of the file's ``class`` coordinate, or its position (the label).
    """
    paths = _check_outputs(outputs)
    needed = ("optimal_input_mean", "relevance_composite_mean", "sst_composite", "ocean_mask",
              "sample_count")
    dataset = _open_dataset(composites_nc, needed, "Composites")
    one, class_name = _select_class(dataset, class_name, composites_nc)
    rule = rule_label(str(dataset.attrs.get("rule", "unknown rule")))
    backend = str(dataset.attrs.get("backend", "unknown backend"))
    seeds = [int(s) for s in dataset["seed"].values]
    counts = one["sample_count"].values.astype(int)
    low, high = int(counts.min()), int(counts.max())
    count_text = f"{low}" if low == high else f"{low}–{high}"
    ocean = dataset["ocean_mask"]

    extent = data_extent(dataset["lat"].values, dataset["lon"].values)
    optimal = _on_domain(_ocean_only(one["optimal_input_mean"], ocean), extent)
    relevance = _on_domain(_ocean_only(one["relevance_composite_mean"], ocean), extent)
    sst = _on_domain(_ocean_only(one["sst_composite"], ocean), extent)
    rel_cmap, rel_min, rel_max = _relevance_style(relevance)

    panels = [
        ((f"(a) Optimal input for {class_name} "
          f"(backwards optimization, mean of {len(seeds)} networks)"),
         optimal, cmocean.cm.balance, -1.0, 1.0,
         "optimal input / max|optimal input|"),
        (f"(b) Composite LRP relevance, {rule} ({count_text} samples per network)",
         relevance, rel_cmap, rel_min, rel_max,
         "relevance / per-sample max"),
        (f"(c) Observed composite SST anomaly, {class_name}",
         sst, cmocean.cm.balance, -1.0, 1.0,
         "SST anomaly / max|SST anomaly|"),
    ]
    with mpl.rc_context(STYLE), offline_natural_earth():
        fig = _new_figure(figsize, dpi)
        grid = fig.add_gridspec(3, 1)
        for row, (title, field, cmap, vmin, vmax, label) in enumerate(panels):
            ax = _map_axes(fig, grid[row], central_longitude, extent)
            mesh = _mesh(ax, field, cmap, vmin, vmax)
            _draw_land_and_coast(ax)
            ax.set_title(title, loc="left")
            fig.colorbar(mesh, ax=ax, shrink=0.85, pad=0.02, label=label)
        fig.suptitle(f"{class_name}: {len(seeds)} networks ({_seed_label(seeds)}), "
                     f"LRP {rule} ({backend})")
        _save(fig, paths, dpi)
    return fig


# --------------------------------------------------------------------------- figure 2: case study


def _seed_mean_relevance(
    relevance_files: Sequence[PathLike], month: str
) -> tuple[xr.DataArray, list[str], int, str, str]:
    """Mean over seeds of one month's relevance map, each divided by its own max |relevance|.

    Returns the mean map, the seeds' file names that explained the month, the number of files, and
    the true and predicted classes of the first seed that explained it.
    """
    maps, used, explained = [], [], set()
    true_class = predicted_class = "?"
    for path in relevance_files:
        dataset = _open_dataset(path, ("relevance", "time"), "Relevance")
        keys = month_keys(dataset["time"]).tolist()
        explained.update(keys)
        if month not in keys:
            continue
        sample = dataset.isel(sample=keys.index(month))
        relevance = sample["relevance"]
        scale = _finite_max_abs(relevance)
        maps.append(relevance / scale if scale > 0 else relevance * 0.0)
        used.append(Path(path).name)
        if len(used) == 1:
            true_class = str(sample["true_class"].values) if "true_class" in sample else "?"
            predicted_class = (
                str(sample["predicted_class"].values) if "predicted_class" in sample else "?"
            )
    if not maps:
        target = _month_number(month) if _is_month_key(month) else 0
        nearest = sorted(explained, key=lambda k: (abs(_month_number(k) - target), k))[:6]
        raise GeoxaiError(
            f"Month {month!r} is not among the explained samples of "
            f"{', '.join(str(p) for p in relevance_files)} (only correctly classified months of "
            "the two classes are explained); nearest explained months: "
            f"{', '.join(sorted(nearest))}."
        )
    mean = xr.concat(maps, dim="seed").mean("seed")
    return mean, used, len(relevance_files), true_class, predicted_class


def _is_month_key(text: str) -> bool:
    parts = text.split("-")
    if len(parts) != 2 or not (parts[0].isdigit() and parts[1].isdigit()):
        return False
    return 1 <= int(parts[1]) <= 12


def _sst_limit(field: xr.DataArray) -> float:
    """A symmetric colour limit from the 99th percentile of |anomaly| over ocean, to 0.5 K."""
    values = np.abs(field.values[np.isfinite(field.values) & (field.values != 0)])
    if not values.size:
        return 1.0
    return max(0.5, float(np.ceil(np.percentile(values, 99) * 2) / 2))


def _relevance_contours(ax: Any, relevance: xr.DataArray, levels: Sequence[float],
                        lon_global: bool) -> None:
    # Only a grid around the globe closes on itself; a regional one would gain a false column.
    if lon_global:
        values, lon = add_cyclic_point(relevance.values, coord=relevance["lon"].values)
    else:
        values, lon = relevance.values, relevance["lon"].values
    positive = sorted(float(v) for v in levels)
    negative = [-v for v in reversed(positive)] if np.nanmin(values) < -min(positive) else []
    ax.contour(
        lon, relevance["lat"].values, values, levels=negative + positive, colors="k",
        linewidths=np.interp(np.abs(negative + positive), [0, 1], [0.5, 1.6]),
        transform=ccrs.PlateCarree(), zorder=4,
    )


def plot_case_study(
    anomalies_nc: PathLike,
    relevance_nc_list: Sequence[PathLike],
    month: str,
    outputs: Sequence[PathLike],
    central_longitude: float = 225.0,
    relevance_levels: Sequence[float] = (0.2, 0.4, 0.6, 0.8),
    dpi: float = 150,
    figsize: tuple[float, float] = (7.5, 7.0),
    case_study_box: Mapping[str, Any] | None = None,
) -> Figure:
    """Paper Fig. 7 for one month: SST anomaly (filled) with the seed-mean relevance (contours).

    Top: the data's domain (the globe for global data); bottom: ``case_study_box`` (see
    :func:`zoom_box`; default the tropical Pacific, 105°E–70°W and 22.5°S–22.5°N), clipped to the
    domain when it reaches beyond it. Relevance maps are divided by their own max |relevance|
    before averaging over the seeds that explained the month (a seed explains only the months it
    classifies correctly).
    """
    paths = _check_outputs(outputs)
    if not relevance_nc_list:
        raise GeoxaiError("No relevance file given for the case study: pass one per seed.")
    if not _is_month_key(month):
        raise GeoxaiError(f"Case-study month {month!r} is not a 'YYYY-MM' key, e.g. '1998-05'.")
    box, box_name = zoom_box(case_study_box)
    relevance, used, n_files, true_class, predicted = _seed_mean_relevance(relevance_nc_list, month)

    anomalies = _open_dataset(anomalies_nc, ("sst_anomaly", "ocean_mask"), "Anomalies")
    keys = month_keys(anomalies["time"]).tolist()
    if month not in keys:
        raise GeoxaiError(
            f"Month {month!r} is explained but absent from {anomalies_nc} "
            f"({keys[0]}..{keys[-1]}): the relevance and anomaly files come from different runs."
        )
    sst = anomalies["sst_anomaly"].isel(time=keys.index(month))
    if sst.shape != relevance.shape or not (
        np.allclose(sst["lat"], relevance["lat"]) and np.allclose(sst["lon"], relevance["lon"])
    ):
        raise GeoxaiError(
            f"The grid of {anomalies_nc} differs from that of the relevance files: "
            "they come from different runs; re-run the explain rule."
        )
    extent = data_extent(sst["lat"].values, sst["lon"].values)
    zoom_extent = clip_extent(box, extent)
    if zoom_extent is None:
        raise GeoxaiError(
            f"The case-study zoom box {box_name} ({box.text()}) lies wholly outside the data of "
            f"{anomalies_nc}, which cover {extent.text()}: set figures.case_study_box to a box "
            f"inside that, e.g. {{lon: [{extent.west:g}, {extent.east:g}], "
            f"lat: [{extent.south:g}, {extent.north:g}]}}."
        )
    zoom_title = f"(b) {box_name}, {box.text()}"
    if not _same_box(zoom_extent, box):
        zoom_title += f", clipped to the data: {zoom_extent.text()}"
    sst = _on_domain(_ocean_only(sst, anomalies["ocean_mask"]), extent)
    relevance = _on_domain(relevance, extent)
    units = str(anomalies["sst_anomaly"].attrs.get("units", "K"))
    limit = _sst_limit(sst)
    peak = _finite_max_abs(relevance)
    legend = (f"contours: LRP relevance at {', '.join(f'{v:g}' for v in relevance_levels)} "
              f"(each map / its max, then mean of {len(used)} of {n_files} networks; "
              f"peak {peak:.2f})")

    with mpl.rc_context(STYLE), offline_natural_earth():
        fig = _new_figure(figsize, dpi)
        grid = fig.add_gridspec(2, 1, height_ratios=[2.0, 1.0])
        world = _map_axes(fig, grid[0], central_longitude, extent)
        # Never the Robinson globe, even for a box around the globe: this panel is a zoom.
        zoom = fig.add_subplot(grid[1], projection=ccrs.PlateCarree(zoom_extent.centre))
        zoom.set_facecolor(LAND_GREY)
        half = 0.5 * (zoom_extent.east - zoom_extent.west)
        zoom.set_extent([-half, half, zoom_extent.south, zoom_extent.north], crs=zoom.projection)
        for ax in (world, zoom):
            mesh = _mesh(ax, sst, cmocean.cm.balance, -limit, limit)
            _draw_land_and_coast(ax)
            _relevance_contours(ax, relevance, relevance_levels, extent.lon_global)
        lon_ticks = _degree_ticks(zoom_extent.west, zoom_extent.east)
        # Ticks on the map's edge are dropped: there one longitude has two places, -180 and 180.
        inner = np.abs(lon_ticks - zoom_extent.centre) < 180.0 - 1e-6
        zoom.set_xticks(np.mod(lon_ticks[inner], 360.0), crs=ccrs.PlateCarree())
        zoom.set_yticks(_degree_ticks(zoom_extent.south, zoom_extent.north), crs=ccrs.PlateCarree())
        zoom.xaxis.set_major_formatter(LongitudeFormatter())
        zoom.yaxis.set_major_formatter(LatitudeFormatter())
        where = "Global" if extent.is_global else f"Data domain, {extent.text()}"
        world.set_title(f"(a) {where}, {_month_title(month)}: true {true_class}, "
                        f"predicted {predicted}", loc="left")
        zoom.set_title(zoom_title, loc="left")
        fig.colorbar(mesh, ax=[world, zoom], orientation="horizontal", shrink=0.7, aspect=35,
                     extend="both", label=f"SST anomaly ({units})\n{legend}")
        fig.suptitle(f"SST anomaly (shading) and LRP relevance (contours), "
                     f"{_month_title(month)}")
        _save(fig, paths, dpi)
    return fig


# --------------------------------------------------------------------------- figure 3: training


def _read_metrics(path: PathLike) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise GeoxaiError(f"Training metrics {path} do not exist: run the train rule first.")
    metrics = json.loads(path.read_text())
    for key, inner in (("seed", None), ("accuracy", ("train", "validation")),
                       ("history", ("loss", "accuracy", "val_loss", "val_accuracy"))):
        if key not in metrics or any(k not in metrics[key] for k in inner or ()):
            raise GeoxaiError(
                f"Training metrics {path} lack the key {key!r} (with {', '.join(inner or ())}): "
                "delete the file and re-run the train rule."
            )
    return metrics


def plot_training(
    metrics_json_list: Sequence[PathLike],
    outputs: Sequence[PathLike],
    dpi: float = 150,
    figsize: tuple[float, float] = (10.0, 3.4),
) -> None:
    """Loss and accuracy per epoch of every seed (validation dashed); final accuracy per seed."""
    paths = _check_outputs(outputs)
    if not metrics_json_list:
        raise GeoxaiError("No training metrics given: pass one JSON file per seed.")
    runs = sorted((_read_metrics(p) for p in metrics_json_list), key=lambda m: int(m["seed"]))
    colors = mpl.colormaps["viridis"](np.linspace(0.0, 0.9, len(runs)))
    seeds = [int(m["seed"]) for m in runs]
    train_acc = np.array([float(m["accuracy"]["train"]) for m in runs])
    val_acc = np.array([float(m["accuracy"]["validation"]) for m in runs])

    with mpl.rc_context(STYLE):
        fig = _new_figure(figsize, dpi)
        loss_ax, acc_ax, seed_ax = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 0.8]})
        for run, color in zip(runs, colors, strict=True):
            history = run["history"]
            epochs = np.arange(1, len(history["loss"]) + 1)
            loss_ax.plot(epochs, history["loss"], color=color, lw=1.0)
            loss_ax.plot(epochs, history["val_loss"], color=color, lw=1.0, ls="--")
            acc_ax.plot(epochs, history["accuracy"], color=color, lw=1.0)
            acc_ax.plot(epochs, history["val_accuracy"], color=color, lw=1.0, ls="--")
        losses = np.concatenate([np.ravel(r["history"][k]) for r in runs
                                 for k in ("loss", "val_loss")]).astype(float)
        if np.all(losses > 0) and losses.max() / losses.min() > 20:
            loss_ax.set_yscale("log")  # the L2 penalty dominates the first epochs
        loss_ax.set(xlabel="epoch", ylabel="loss (cross-entropy + L2)", title="(a) Loss")
        acc_ax.set(xlabel="epoch", ylabel="accuracy", title="(b) Accuracy")
        style = [mpl.lines.Line2D([], [], color="0.3", lw=1.0, label="train"),
                 mpl.lines.Line2D([], [], color="0.3", lw=1.0, ls="--", label="validation")]
        acc_ax.legend(handles=style, loc="lower right", frameon=False)

        positions = np.arange(len(runs))
        median = float(np.median(val_acc))
        seed_ax.scatter(positions - 0.12, train_acc, c=colors, marker="o", s=22, zorder=3)
        seed_ax.scatter(positions + 0.12, val_acc, marker="s", s=26, facecolors="none",
                        edgecolors=colors, zorder=3)
        seed_ax.axhline(median, color="0.3", lw=0.8, ls="--")
        seed_ax.set_xticks(positions, [str(s) for s in seeds])
        seed_ax.set_xlim(-0.6, len(runs) - 0.4)
        # Points in the upper half, the legend in the free lower half.
        low = min(train_acc.min(), val_acc.min())
        span = max(1.0 - low, 0.01)
        seed_ax.set_ylim(max(0.0, low - 1.1 * span), 1.0 + 0.1 * span)
        seed_ax.set(xlabel="seed", ylabel="final accuracy", title="(c) Accuracy per network")
        markers = [
            mpl.lines.Line2D([], [], color="0.3", marker="o", ls="none", label="train"),
            mpl.lines.Line2D([], [], color="0.3", marker="s", mfc="none", ls="none",
                             label="validation"),
            mpl.lines.Line2D([], [], color="0.3", lw=0.8, ls="--",
                             label=f"median validation {median:.3f}"),
        ]
        seed_ax.legend(handles=markers, loc="lower left", frameon=False)
        fig.suptitle(f"Training of {len(runs)} networks ({_seed_label(seeds)})")
        _save(fig, paths, dpi)


# --------------------------------------------------------------------------- figure 4: seeds


def plot_seed_agreement(
    composites_nc: PathLike,
    class_name: str | int,
    outputs: Sequence[PathLike],
    central_longitude: float = 225.0,
    dpi: float = 150,
    figsize: tuple[float, float] = (10.0, 3.6),
) -> Figure:
    """Across-seed spread of the composite relevance (map) and the seed×seed pattern correlation.

    ``class_name`` is a value of the file's ``class`` coordinate, or its position (the label).
    """
    paths = _check_outputs(outputs)
    needed = ("relevance_spread", "relevance_composite_mean", "seed_pattern_correlation",
              "ocean_mask")
    dataset = _open_dataset(composites_nc, needed, "Composites")
    one, class_name = _select_class(dataset, class_name, composites_nc)
    extent = data_extent(dataset["lat"].values, dataset["lon"].values)
    spread = _on_domain(_ocean_only(one["relevance_spread"], dataset["ocean_mask"]), extent)
    correlation = one["seed_pattern_correlation"].transpose("seed", "seed_other")
    seeds = [int(s) for s in correlation["seed"].values]
    others = [int(s) for s in correlation["seed_other"].values]
    matrix = correlation.values.astype(float)
    # A network's correlation with itself is 1 by definition: leave it out of the colour scale.
    same = np.equal.outer(seeds, others)
    between = np.where(same, np.nan, matrix)
    finite = np.isfinite(between)
    mean_r = float(between[finite].mean()) if finite.any() else float("nan")
    floor = float(np.floor(between[finite].min() * 10) / 10) if finite.any() else 0.0
    floor = min(max(floor, -1.0), 0.9)
    rule = rule_label(str(dataset.attrs.get("rule", "unknown rule")))

    with mpl.rc_context(STYLE), offline_natural_earth():
        fig = _new_figure(figsize, dpi)
        grid = fig.add_gridspec(1, 2, width_ratios=[2.0, 1.0])
        ax = _map_axes(fig, grid[0], central_longitude, extent)
        top = _finite_max_abs(spread) or 1.0
        mesh = _mesh(ax, spread, cmocean.cm.matter, 0.0, top)
        _draw_land_and_coast(ax)
        ax.set_title(f"(a) Spread of composite relevance over {len(seeds)} networks", loc="left")
        fig.colorbar(mesh, ax=ax, shrink=0.8, pad=0.02, label="std over seeds (relevance / max)")

        cax = fig.add_subplot(grid[1])
        cmap = mpl.colormaps["viridis"].with_extremes(bad="0.9")
        image = cax.imshow(between, cmap=cmap, vmin=floor, vmax=1.0, origin="upper")
        cax.set_xticks(np.arange(len(others)), [str(s) for s in others])
        cax.set_yticks(np.arange(len(seeds)), [str(s) for s in seeds])
        if len(seeds) <= 12:
            for (i, j), value in np.ndenumerate(between):
                if not np.isfinite(value):
                    continue
                shade = "white" if value < floor + 0.6 * (1.0 - floor) else "black"
                cax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6.5, color=shade)
        cax.set(xlabel="seed", ylabel="seed",
                title=f"(b) Pattern correlation (mean {mean_r:.2f})")
        cax.tick_params(length=0)
        cax.spines[:].set_visible(False)
        fig.colorbar(image, ax=cax, shrink=0.8, pad=0.02, label="correlation")
        fig.suptitle(f"Agreement between networks, {class_name}, LRP {rule}")
        _save(fig, paths, dpi)
    return fig


# --------------------------------------------------------------------------- figure 5: index


def _read_labels(path: PathLike) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise GeoxaiError(f"Labels {path} do not exist: run the labels rule first.")
    table = pd.read_csv(path, dtype={"time": str, "split": str})
    missing = [c for c in ("time", "index", "label", "split") if c not in table.columns]
    if missing:
        raise GeoxaiError(
            f"Labels {path} lack the columns {', '.join(missing)}: re-run the labels rule."
        )
    table = table.assign(month_number=[_month_number(t) for t in table["time"]])
    return table.sort_values("month_number").reset_index(drop=True)


def plot_index(
    labels_csv: PathLike,
    outputs: Sequence[PathLike],
    thresholds: tuple[float, float] = (-0.5, 0.5),
    class_names: Sequence[str] = ("La Nina", "El Nino"),
    index_name: str = "Niño3.4 index",
    units: str = "K",
    dpi: float = 150,
    figsize: tuple[float, float] = (10.0, 3.2),
    sample_name: str = "months",
) -> None:
    """The label index through time: labelled samples marked by class, the train/validation
    boundary. ``sample_name`` says what a sample is ("months"; "seasons" for seasonal labels).

    ``class_names[0]`` is label 0 (index below ``thresholds[0]``), ``class_names[1]`` label 1.
    """
    paths = _check_outputs(outputs)
    table = _read_labels(labels_csv)
    year = table["month_number"].to_numpy() / 12.0  # decimal years: works for cftime years too
    index = table["index"].to_numpy(dtype=float)
    # Break the line across dropped samples, so they are not drawn as a straight ramp; the
    # sampling step is the shortest one (1 month, or 3 for seasons).
    steps = np.diff(table["month_number"].to_numpy())
    step = int(steps[steps > 0].min()) if (steps > 0).any() else 1
    gaps = np.flatnonzero(steps > step) + 1
    line_year, line = np.insert(year, gaps, np.nan), np.insert(index, gaps, np.nan)

    with mpl.rc_context(STYLE):
        fig = _new_figure(figsize, dpi)
        ax = fig.subplots()
        ax.plot(line_year, line, color="0.55", lw=0.6, zorder=1)
        for label, color in ((0, "#2166ac"), (1, "#b2182b")):
            chosen = table["label"].to_numpy(dtype=float) == label
            ax.scatter(year[chosen], index[chosen], s=5, color=color, lw=0, zorder=3,
                       label=f"{class_names[label]} ({int(chosen.sum())} {sample_name})")
        for value in thresholds:
            ax.axhline(value, color="0.2", lw=0.7, ls="--", zorder=2)
        ax.axhline(0.0, color="0.2", lw=0.4, zorder=2)
        validation = table["split"].str.lower().str.startswith("val").to_numpy()
        if validation.any() and (~validation).any():
            start = year[validation].min()
            ax.axvspan(start, year.max() + 1 / 12, color="0.92", zorder=0,
                       label=f"validation ({int(validation.sum())} {sample_name})")
            ax.axvline(start, color="0.2", lw=0.9, zorder=2)
        ax.set(xlim=(year.min(), year.max() + 1 / 12), xlabel="year",
               ylabel=f"{index_name} ({units})")
        ax.legend(loc="upper left", ncols=3, frameon=False, markerscale=2.5)
        low, high = np.nanmin(index), np.nanmax(index)
        ax.set_ylim(low - 0.1 * (high - low), high + 0.3 * (high - low))
        low_text, high_text = (f"{v:g}".replace("-", "−") for v in thresholds)
        ax.set_title(f"{index_name}: {sample_name} below {low_text} or above {high_text} {units} "
                     "are labelled; chronological train/validation split", loc="left")
        _save(fig, paths, dpi)


# --------------------------------------------------------------------------- figure 6: skill map


def _accuracy_limit(*fields: np.ndarray) -> float:
    """Half-width of a colour scale centred on chance (0.5), in steps of 0.05, at least 0.1."""
    values = np.concatenate([np.ravel(f) for f in fields])
    values = values[np.isfinite(values)]
    spread = float(np.abs(values - 0.5).max()) if values.size else 0.1
    return float(min(0.5, max(0.1, np.ceil(spread / 0.05) * 0.05)))


def _box_panel(ax: Any, skill: xr.Dataset, values: np.ndarray, labels: Sequence[str],
               cmap: Any, norm: Any, extent: Sequence[float]) -> None:
    """One map of target boxes, each filled with its value and labelled with its text."""
    ax.set_extent(extent, crs=ccrs.PlateCarree())
    ax.add_feature(_land(), facecolor="0.93", edgecolor="none", zorder=0)
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        west, east = float(skill["box_lon"][i]), float(skill["box_lon_max"][i])
        south, north = float(skill["box_lat"][i]), float(skill["box_lat_max"][i])
        colour = cmap(norm(value)) if np.isfinite(value) else "none"
        ax.add_patch(mpl.patches.Rectangle(
            (west, south), east - west, north - south, facecolor=colour, edgecolor="white",
            linewidth=0.8, transform=ccrs.PlateCarree(), zorder=2,
        ))
        dark = np.isfinite(value) and abs(norm(value) - 0.5) > 0.3
        ax.text(0.5 * (west + east), 0.5 * (south + north), label, ha="center", va="center",
                fontsize=6, color="white" if dark else "black", transform=ccrs.PlateCarree(),
                zorder=4)
    ax.coastlines(resolution=NATURAL_EARTH_SCALE, linewidth=0.6, color="0.2", zorder=3)
    gridlines = ax.gridlines(draw_labels=True, linewidth=0.3, color="0.6", alpha=0.6, linestyle=":")
    gridlines.top_labels = gridlines.right_labels = False


def plot_skill_map(
    skill_nc: PathLike,
    outputs: Sequence[PathLike],
    dpi: float = 150,
    figsize: tuple[float, float] = (10.0, 4.2),
) -> None:
    """Application 2: median validation accuracy per target box beside the persistence baseline.

    Both panels share one colour scale centred on chance (0.5): red boxes beat a coin toss, blue
    ones do worse. Panel (a) prints the median and the range over seeds, panel (b) the
    persistence accuracy and the networks' median minus it.
    """
    paths = _check_outputs(outputs)
    needed = ("validation_accuracy_median", "validation_accuracy_min", "validation_accuracy_max",
              "persistence_accuracy", "box_lat", "box_lat_max", "box_lon", "box_lon_max")
    skill = _open_dataset(skill_nc, needed, "Skill")
    median = skill["validation_accuracy_median"].values.astype(float)
    low = skill["validation_accuracy_min"].values.astype(float)
    high = skill["validation_accuracy_max"].values.astype(float)
    persistence = skill["persistence_accuracy"].values.astype(float)
    n_seeds = int(skill.sizes.get("seed", 1))
    limit = _accuracy_limit(median, persistence)
    cmap = cmocean.cm.balance
    norm = mpl.colors.Normalize(vmin=0.5 - limit, vmax=0.5 + limit)
    pad = 5.0
    extent = [float(skill["box_lon"].min()) - pad, float(skill["box_lon_max"].max()) + pad,
              float(skill["box_lat"].min()) - pad, float(skill["box_lat_max"].max()) + pad]
    centre = 0.5 * (extent[0] + extent[1])
    networks = [f"{m:.2f}\n{lo:.2f}–{hi:.2f}" for m, lo, hi in zip(median, low, high, strict=True)]
    baseline = [f"{p:.2f}\n({m - p:+.2f})" for p, m in zip(persistence, median, strict=True)]

    with mpl.rc_context(STYLE), offline_natural_earth():
        fig = _new_figure(figsize, dpi)
        grid = fig.add_gridspec(1, 2)
        projection = ccrs.PlateCarree(central_longitude=centre)
        axes = [fig.add_subplot(grid[0, k], projection=projection) for k in range(2)]
        _box_panel(axes[0], skill, median, networks, cmap, norm, extent)
        _box_panel(axes[1], skill, persistence, baseline, cmap, norm, extent)
        axes[0].set_title(f"(a) Networks: median validation accuracy of {n_seeds} seeds "
                          "(range below)", loc="left")
        axes[1].set_title("(b) Persistence baseline (networks − persistence)", loc="left")
        fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, orientation="horizontal",
                     shrink=0.6, aspect=40, label="validation accuracy (chance = 0.5)")
        fig.suptitle("Sign of next season's 2-m temperature anomaly from this season's SST, "
                     "per land box")
        _save(fig, paths, dpi)
