"""Regions outlined on the maps: the box whose mean is the index that defines the labels
(config key ``enso.index.region``, by default Niño3.4), the target land box of Application 2, and,
on synthetic data, the region that carries the known signal.

The index box is what the config says the index is the mean of (a user's own index may be of
another box, or of none: then no box is drawn). The other regions come from the run's own files,
so a map outlines what its data were made with: the driving region from the synthetic source's
``truth.nc``, the land box from ``results/lst/targets.nc``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from geoxai.core.errors import GeoxaiError
from geoxai.core.names import display_name
from geoxai.core.provenance import open_product


@dataclass(frozen=True)
class Region:
    """A longitude/latitude box to outline. ``west`` in 0..360 °E, ``east`` > ``west`` (above 360
    when the box crosses the 0/360 meridian); ``kind`` picks the line style (``REGION_STYLES``)."""

    name: str
    south: float
    north: float
    west: float
    east: float
    kind: str

    def text(self) -> str:
        from geoxai.figures.maps import MapExtent

        return MapExtent(self.west, self.east, self.south, self.north).text()


def region(name: str, lat: Sequence[float], lon: Sequence[float], kind: str) -> Region:
    """A region from ``lat = [south, north]`` and ``lon = [west, east]`` (°E, any convention)."""
    south, north = (float(v) for v in lat)
    west, east = (float(v) for v in lon)
    width = float(np.mod(east - west, 360.0)) or 360.0
    west = float(np.mod(west, 360.0))
    return Region(name, south, north, west, west + width, kind)


#: Line style per kind of region; ``label`` is the legend's wording.
REGION_STYLES: dict[str, dict[str, Any]] = {
    # not black: the case studies draw their relevance contours in black
    "index": {"edgecolor": "#1b7837", "linestyle": "-", "label": "{name} box (index of the labels)"},
    "target": {"edgecolor": "#e66101", "linestyle": "-", "label": "target box {name}"},
    "driver": {"edgecolor": "#7b3294", "linestyle": "--",
               "label": "{name} (synthetic data: the known signal)"},
}


def synthetic_enso_driver(truth: str) -> Region | None:
    """The driving region of the synthetic ENSO source, from its truth file."""
    with open_product(truth) as opened:
        attrs = dict(opened.attrs)
    if "driving_region_lat" not in attrs or "driving_region_lon" not in attrs:
        return None
    return region("driving region", attrs["driving_region_lat"], attrs["driving_region_lon"],
                  "driver")


def synthetic_lst_driver(truth: str) -> Region | None:
    """The SST region that drives the synthetic CESM-like source's one box, from its truth file
    (``driver_region``: [south, north, west, east])."""
    with open_product(truth) as opened:
        value = opened.attrs.get("driver_region")
    if value is None:
        return None
    south, north, west, east = json.loads(value) if isinstance(value, str) else list(value)
    return region("driver region", (south, north), (west, east), "driver")


def target_box(targets: str, box: str) -> Region:
    """Application 2's land box ``box`` with its edges from ``targets.nc``."""
    from geoxai.products.targets import read_box_edges

    kept, edges = read_box_edges(targets, [box])
    if not kept:
        raise GeoxaiError(f"target box {box!r} is not among the land boxes of {targets}: "
                          "the figure and the targets come from different runs; re-run lst_targets")
    one = edges.sel(box=box)
    return region(box, (float(one["box_lat"]), float(one["box_lat_max"])),
                  (float(one["box_lon"]), float(one["box_lon_max"])), "target")


def index_box(index_region: Mapping[str, Any] | None) -> Region | None:
    """The box the label index is the mean of, from config key ``enso.index.region``
    (``{"name": "Nino3.4", "lat": [-5, 5], "lon": [190, 240]}``; None: the index is of no box)."""
    if not index_region:
        return None
    south, north = (float(v) for v in index_region["lat"])
    if not -90.0 <= south < north <= 90.0:
        raise GeoxaiError(f"config key enso.index.region.lat = {index_region['lat']}: give "
                          "[south, north] in degrees north, south below north")
    return region(display_name(index_region["name"]), (south, north), index_region["lon"],
                  "index")


def map_regions(app: str = "", target: str = "", truth: str = "", targets: str = "",
                index_region: Mapping[str, Any] | None = None) -> list[Region]:
    """What a map of application ``app`` outlines: for ENSO the box of ``index_region`` (config
    key ``enso.index.region``), for Application 2 the ``target`` land box (from ``targets``);
    and the synthetic source's driving region where its ``truth`` file is given."""
    regions: list[Region] = []
    index = index_box(index_region) if app == "enso" else None
    if index is not None:
        regions.append(index)
    if app == "lst" and targets and target:
        regions.append(target_box(targets, target))
    if truth:
        driver = synthetic_enso_driver(truth) if app == "enso" else synthetic_lst_driver(truth)
        if driver is not None:
            regions.append(driver)
    return regions


def draw_regions(ax: Any, regions: Sequence[Region], linewidth: float = 1.3) -> list[Any]:
    """Outline each region on a cartopy map; the patches carry the region's name as their label.

    Each box is given in a plate carrée centred on it, so one that crosses the dateline or the
    0/360 meridian stays one box on any map projection.
    """
    import cartopy.crs as ccrs
    import matplotlib.patheffects as effects
    from matplotlib.patches import Rectangle

    patches = []
    for one in regions:
        style = REGION_STYLES[one.kind]
        centre = 0.5 * (one.west + one.east)
        half = 0.5 * (one.east - one.west)
        patch = Rectangle(
            (-half, one.south), 2 * half, one.north - one.south, fill=False,
            edgecolor=style["edgecolor"], linestyle=style["linestyle"], linewidth=linewidth,
            transform=ccrs.PlateCarree(central_longitude=centre), zorder=6, label=one.name,
            # a white rim keeps the outline visible on dark and light colours alike
            path_effects=[effects.withStroke(linewidth=linewidth + 1.6, foreground="white")],
        )
        ax.add_patch(patch)
        patches.append(patch)
    return patches


def region_legend_handles(regions: Sequence[Region]) -> list[Any]:
    from matplotlib.lines import Line2D

    handles = []
    for one in regions:
        style = REGION_STYLES[one.kind]
        handles.append(Line2D([], [], color=style["edgecolor"], linestyle=style["linestyle"],
                              linewidth=1.3, label=style["label"].format(name=one.name)
                              + f", {one.text()}"))
    return handles


#: Height (inches) of one row of the regions' legend, for figures that make room for it.
LEGEND_ROW_INCHES = 0.2


def add_region_legend(fig: Any, regions: Sequence[Region], one_row: bool = False,
                      fontsize: float = 7.0) -> None:
    """The regions' legend under the figure's panels (nothing without regions): one entry a
    row, or all in ``one_row`` where the figure is wide enough (about 4.5 inches an entry)."""
    if regions:
        fig.legend(handles=region_legend_handles(regions), loc="outside lower left",
                   frameon=False, fontsize=fontsize, ncols=len(regions) if one_row else 1)


def with_target_title(title: str, regions: Sequence[Region]) -> str:
    """``title`` under a line naming Application 2's target box, where the regions hold one."""
    named = target_title(regions)
    return f"{named}\n{title}" if named else title


def target_title(regions: Sequence[Region]) -> str:
    """"box lat30_lon250 (110°W–100°W, 30°N–40°N)" for Application 2's maps; "" for others."""
    boxes = [one for one in regions if one.kind == "target"]
    return "; ".join(f"box {one.name} ({one.text()})" for one in boxes)
