"""One month's SST anomaly with the seeds' mean relevance (paper Fig. 7)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cartopy.crs as ccrs
import cmocean
import matplotlib as mpl
import matplotlib.patheffects as effects
import numpy as np
import xarray as xr
from cartopy.mpl.ticker import LatitudeFormatter, LongitudeFormatter
from cartopy.util import add_cyclic_point
from matplotlib.figure import Figure

from geoxai.core import provenance
from geoxai.core.errors import GeoxaiError
from geoxai.core.months import month_index, month_keys
from geoxai.figures.base import (
    LAND_GREY,
    STYLE,
    PathLike,
    check_outputs,
    display_name,
    draw_land_and_coast,
    month_title,
    new_figure,
    offline_natural_earth,
    open_product,
    save_figure,
)
from geoxai.figures.maps import (
    clip_extent,
    data_extent,
    degree_ticks,
    draw_mesh,
    finite_max_abs,
    map_axes,
    ocean_only,
    on_domain,
    same_box,
    zoom_box,
)
from geoxai.figures.regions import Region, draw_regions, region_legend_handles, target_title
from geoxai.xai.rules import rule_quantity, rule_title

# --------------------------------------------------------------------------- figure 2: case study


def class_name_of(dataset: xr.Dataset, value: Any) -> str:
    """A class label as its name: relevance files store the label (0, 1) and list the names in
    their ``class_names`` attribute (or the ``flag_meanings`` of ``true_class``); a name stored
    as such is kept."""
    text = str(value)
    if not text.lstrip("-").isdigit():
        return display_name(text)
    names: list[str] = []
    if "class_names" in dataset.attrs:
        try:
            names = [str(n) for n in json.loads(dataset.attrs["class_names"])]
        except (TypeError, ValueError):
            names = []
    if not names and "true_class" in dataset:
        names = [n.replace("_", " ") for n in
                 str(dataset["true_class"].attrs.get("flag_meanings", "")).split()]
    label = int(text)
    return display_name(names[label]) if 0 <= label < len(names) else f"class {label}"


def _seed_mean_relevance(
    relevance_files: Sequence[PathLike], month: str
) -> tuple[xr.DataArray, list[str], int, str, str]:
    """Mean over seeds of one month's relevance map, each divided by its own max |relevance|.

    Returns the mean map, the seeds' file names that explained the month, the number of files, and
    the names of the true and predicted classes of the first seed that explained it.
    """
    maps, used, explained = [], [], set()
    true_class = predicted_class = "?"
    for path in relevance_files:
        dataset = open_product(path, ("relevance", "time"), "Relevance")
        keys = month_keys(dataset["time"]).tolist()
        explained.update(keys)
        if month not in keys:
            continue
        sample = dataset.isel(sample=keys.index(month))
        relevance = sample["relevance"]
        scale = finite_max_abs(relevance)
        maps.append(relevance / scale if scale > 0 else relevance * 0.0)
        used.append(Path(path).name)
        if len(used) == 1:
            if "true_class" in sample:
                true_class = class_name_of(dataset, sample["true_class"].values)
            if "predicted_class" in sample:
                predicted_class = class_name_of(dataset, sample["predicted_class"].values)
    if not maps:
        target = month_index(month) if _is_month_key(month) else 0
        nearest = sorted(explained, key=lambda k: (abs(month_index(k) - target), k))[:6]
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


#: SST shading of the case studies: the diverging balance map without its darkest shades at each
#: end (25 %), so the relevance contours and their labels stay readable over strong anomalies.
SST_CMAP = cmocean.tools.crop_by_percent(cmocean.cm.balance, 25, which="both", N=None)

#: Relevance contours: black with a white rim, readable on the red and the blue end alike.
CONTOUR_COLOUR = "black"
CONTOUR_RIM = [effects.withStroke(linewidth=2.2, foreground="white")]

#: What each named case is: the synthetic source's named events and the paper's two months.
CASE_EVENTS = {
    "strongest_eastern": "the strongest eastern-Pacific El Niño of the synthetic record",
    "strongest_central": "the strongest central-Pacific El Niño of the synthetic record",
    "1998-05": "eastern-Pacific El Niño (the paper's Fig. 7)",
    "1987-02": "central-Pacific El Niño (the paper's Fig. 7)",
}


def case_event(case: str) -> str:
    """What kind of event a case study shows ("" for a month the package knows nothing about)."""
    return CASE_EVENTS.get(case, "")


def _relevance_contours(ax: Any, relevance: xr.DataArray, levels: Sequence[float],
                        lon_global: bool, label_every: int = 1) -> Any:
    """Relevance contours at ``levels`` (and their negatives where the map has such values),
    every ``label_every``-th level labelled."""
    # Only a grid around the globe closes on itself; a regional one would gain a false column.
    if lon_global:
        values, lon = add_cyclic_point(relevance.values, coord=relevance["lon"].values)
    else:
        values, lon = relevance.values, relevance["lon"].values
    positive = sorted(float(v) for v in levels)
    negative = [-v for v in reversed(positive)] if np.nanmin(values) < -min(positive) else []
    contours = ax.contour(
        lon, relevance["lat"].values, values, levels=negative + positive, colors=CONTOUR_COLOUR,
        linewidths=np.interp(np.abs(negative + positive), [0, 1], [0.7, 1.8]),
        transform=ccrs.PlateCarree(), zorder=4,
    )
    contours.set(path_effects=CONTOUR_RIM)
    labels = ax.clabel(contours, contours.levels[::label_every], fmt=lambda v: f"{v:g}",
                       fontsize=7, inline=True, inline_spacing=2)
    for label in labels:
        label.set(path_effects=CONTOUR_RIM, zorder=5)
    return contours


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
    case: str = "",
    regions: Sequence[Region] = (),
) -> Figure:
    """Paper Fig. 7 for one month: SST anomaly (filled) with the seed-mean relevance (contours).

    Top: the data's domain (the globe for global data); bottom: ``case_study_box`` (see
    :func:`zoom_box`; default the tropical Pacific, 105°E–70°W and 22.5°S–22.5°N), clipped to the
    domain when it reaches beyond it. Relevance maps are divided by their own max |relevance|
    before averaging over the seeds that explained the month (a seed explains only the months it
    classifies correctly). ``case`` names the case (a month or a named event, see
    :data:`CASE_EVENTS`) for the title; ``regions`` are outlined on both maps.
    """
    paths = check_outputs(outputs)
    if not relevance_nc_list:
        raise GeoxaiError("No relevance file given for the case study: pass one per seed.")
    if not _is_month_key(month):
        raise GeoxaiError(f"Case-study month {month!r} is not a 'YYYY-MM' key, e.g. '1998-05'.")
    box, box_name = zoom_box(case_study_box)
    relevance, used, n_files, true_class, predicted = _seed_mean_relevance(relevance_nc_list, month)

    anomalies = open_product(anomalies_nc, ("sst_anomaly", "ocean_mask"), "Anomalies")
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
    if not same_box(zoom_extent, box):
        zoom_title += f", clipped to the data: {zoom_extent.text()}"
    sst = on_domain(ocean_only(sst, anomalies["ocean_mask"]), extent)
    relevance = on_domain(relevance, extent)
    units = str(anomalies["sst_anomaly"].attrs.get("units", "K"))
    limit = _sst_limit(sst)
    peak = finite_max_abs(relevance)
    with provenance.open_product(relevance_nc_list[0]) as first:
        method = str(first.attrs.get("rule", ""))
    what = f"{rule_quantity(method)} ({rule_title(method)})" if method else "relevance"
    legend = (f"contours (labelled): {what} at {', '.join(f'{v:g}' for v in relevance_levels)}"
              f"\n(each map / its max, then mean of {len(used)} of {n_files} networks; "
              f"peak {peak:.2f})")
    event = case_event(case)

    with mpl.rc_context(STYLE), offline_natural_earth():
        fig = new_figure(figsize, dpi)
        grid = fig.add_gridspec(2, 1, height_ratios=[1.7, 1.0])
        world = map_axes(fig, grid[0], central_longitude, extent)
        # Never the Robinson globe, even for a box around the globe: this panel is a zoom.
        zoom = fig.add_subplot(grid[1], projection=ccrs.PlateCarree(zoom_extent.centre))
        zoom.set_facecolor(LAND_GREY)
        half = 0.5 * (zoom_extent.east - zoom_extent.west)
        zoom.set_extent([-half, half, zoom_extent.south, zoom_extent.north], crs=zoom.projection)
        for ax in (world, zoom):
            mesh = draw_mesh(ax, sst, SST_CMAP, -limit, limit)
            draw_land_and_coast(ax)
            # The global map has little room per contour: there every other level is labelled.
            _relevance_contours(ax, relevance, relevance_levels, extent.lon_global,
                                label_every=2 if ax is world else 1)
            draw_regions(ax, regions)
        lon_ticks = degree_ticks(zoom_extent.west, zoom_extent.east)
        # Ticks on the map's edge are dropped: there one longitude has two places, -180 and 180.
        inner = np.abs(lon_ticks - zoom_extent.centre) < 180.0 - 1e-6
        zoom.set_xticks(np.mod(lon_ticks[inner], 360.0), crs=ccrs.PlateCarree())
        zoom.set_yticks(degree_ticks(zoom_extent.south, zoom_extent.north), crs=ccrs.PlateCarree())
        zoom.xaxis.set_major_formatter(LongitudeFormatter())
        zoom.yaxis.set_major_formatter(LatitudeFormatter())
        where = "Global" if extent.is_global else f"Data domain, {extent.text()}"
        world.set_title(f"(a) {where}: observed {true_class}, networks predicted {predicted}",
                        loc="left")
        zoom.set_title(zoom_title, loc="left")
        if regions:
            fig.legend(handles=region_legend_handles(regions), loc="outside lower left",
                       frameon=False, fontsize=7)
        fig.colorbar(mesh, ax=[world, zoom], orientation="horizontal", shrink=0.7, aspect=35,
                     extend="both", label=f"SST anomaly ({units})\n{legend}")
        headline = f"{month_title(month)}: {event}" if event else month_title(month)
        if target_title(regions):
            headline = f"{target_title(regions)}\n{headline}"
        fig.suptitle(f"{headline}\nSST anomaly (shading) and "
                     f"{rule_title(method) or 'relevance'} (contours)")
        save_figure(fig, paths, dpi)
    return fig


