"""Application 2: validation accuracy per land box against its chance level, beside
persistence; boxes not significant after the false discovery rate are hatched."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cartopy.crs as ccrs
import cmocean
import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from geoxai.figures.base import (
    NATURAL_EARTH_SCALE,
    STYLE,
    PathLike,
    check_outputs,
    land_feature,
    new_figure,
    offline_natural_earth,
    open_product,
    save_figure,
)

# --------------------------------------------------------------------------- figure 6: skill map

#: How a box whose median seed does not beat chance after the FDR is drawn over its colour.
NOT_SIGNIFICANT = {"hatch": "////", "edgecolor": "0.35", "facecolor": (1.0, 1.0, 1.0, 0.55)}


def _difference_limit(*fields: np.ndarray) -> float:
    """Half-width of a colour scale centred on 0 (= chance), in steps of 0.05, at least 0.1."""
    values = np.concatenate([np.ravel(f) for f in fields])
    values = values[np.isfinite(values)]
    spread = float(np.abs(values).max()) if values.size else 0.1
    return float(min(0.5, max(0.1, np.ceil(spread / 0.05) * 0.05)))


#: Regions at least this much wider than tall are drawn as two panels one above the other.
STACK_ASPECT = 1.8

#: Width of a box's widest text line in units of its font size ("0.87–0.89" is about 5 ems).
TEXT_EMS = 5.0


def box_font_size(box_width_inches: float) -> float:
    """The largest font (6 to 11 points) whose widest line fits in 90 % of a box."""
    return float(np.clip(0.9 * box_width_inches * 72.0 / TEXT_EMS, 6.0, 11.0))


def _box_panel(ax: Any, skill: xr.Dataset, values: np.ndarray, labels: Sequence[str],
               cmap: Any, norm: Any, extent: Sequence[float], fontsize: float,
               hatched: np.ndarray | None = None) -> None:
    """One map of target boxes, each filled with its value and labelled with its text; boxes
    where ``hatched`` holds are greyed and hatched over their colour."""
    ax.set_extent(extent, crs=ccrs.PlateCarree())
    ax.add_feature(land_feature(), facecolor="0.93", edgecolor="none", zorder=0)
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        west, east = float(skill["box_lon"][i]), float(skill["box_lon_max"][i])
        south, north = float(skill["box_lat"][i]), float(skill["box_lat_max"][i])
        colour = cmap(norm(value)) if np.isfinite(value) else "none"
        ax.add_patch(mpl.patches.Rectangle(
            (west, south), east - west, north - south, facecolor=colour, edgecolor="white",
            linewidth=0.8, transform=ccrs.PlateCarree(), zorder=2,
        ))
        grey = hatched is not None and bool(hatched[i])
        if grey:
            ax.add_patch(mpl.patches.Rectangle(
                (west, south), east - west, north - south, linewidth=0.0,
                transform=ccrs.PlateCarree(), zorder=2.5, **NOT_SIGNIFICANT,
            ))
        dark = not grey and np.isfinite(value) and abs(norm(value) - 0.5) > 0.3
        ax.text(0.5 * (west + east), 0.5 * (south + north), label, ha="center", va="center",
                fontsize=fontsize, color="white" if dark else "black",
                transform=ccrs.PlateCarree(),
                # the hatching would cut through the digits
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 1.5}
                if grey else None,
                zorder=4)
    ax.coastlines(resolution=NATURAL_EARTH_SCALE, linewidth=0.6, color="0.2", zorder=3)
    gridlines = ax.gridlines(draw_labels=True, linewidth=0.3, color="0.6", alpha=0.6, linestyle=":")
    gridlines.top_labels = gridlines.right_labels = False


def plot_skill_map(
    skill_nc: PathLike,
    outputs: Sequence[PathLike],
    dpi: float = 150,
    width: float = 9.0,
) -> Figure:
    """Application 2: median validation accuracy per target box against its chance level, beside
    the persistence baseline.

    Chance is each box's own: the validation accuracy of the best constant forecast (always the
    validation split's majority class). Both panels are coloured by accuracy minus that chance on one scale centred on
    0: red boxes beat chance, blue ones do worse. Panel (a) prints the networks' median, the chance
    level and the range over seeds, and hatches (and greys) the boxes whose median seed is not
    significantly better than chance once the false discovery rate over boxes is held at q
    (Benjamini–Hochberg); panel (b) prints the persistence accuracy and the networks' median
    minus it. The figure is ``width`` inches wide; the panels sit one above the other for a wide
    region (:data:`STACK_ASPECT`), side by side otherwise, their height set by the boxes' region,
    and the numbers are as large as the boxes allow (:func:`box_font_size`).
    """
    paths = check_outputs(outputs)
    needed = ("validation_accuracy_median", "validation_accuracy_min", "validation_accuracy_max",
              "persistence_accuracy", "chance_accuracy", "significant", "box_lat", "box_lat_max",
              "box_lon", "box_lon_max")
    skill = open_product(skill_nc, needed, "Skill")
    median = skill["validation_accuracy_median"].values.astype(float)
    low = skill["validation_accuracy_min"].values.astype(float)
    high = skill["validation_accuracy_max"].values.astype(float)
    persistence = skill["persistence_accuracy"].values.astype(float)
    chance = np.broadcast_to(skill["chance_accuracy"].values.astype(float), median.shape)
    significant = np.broadcast_to(skill["significant"].values.astype(bool), median.shape)
    fdr_q = float(skill["significant"].attrs.get("fdr_q", skill.attrs.get("fdr_q", 0.05)))
    n_seeds = int(skill.sizes.get("seed", 1))
    limit = _difference_limit(median - chance, persistence - chance)
    cmap = cmocean.cm.balance
    norm = mpl.colors.Normalize(vmin=-limit, vmax=limit)
    pad = 5.0
    extent = [float(skill["box_lon"].min()) - pad, float(skill["box_lon_max"].max()) + pad,
              float(skill["box_lat"].min()) - pad, float(skill["box_lat_max"].max()) + pad]
    centre = 0.5 * (extent[0] + extent[1])
    lon_span, lat_span = extent[1] - extent[0], extent[3] - extent[2]
    # A wide region (the paper's North America) gets the whole width per panel, one above the
    # other; a compact one (the demo's six boxes) two panels side by side.
    columns = 1 if lon_span / lat_span >= STACK_ASPECT else 2
    map_width = 0.85 * width / columns  # the gridline labels take the rest
    map_height = float(np.clip(map_width * lat_span / lon_span, 1.5, 5.0))
    map_width = min(map_width, map_height * lon_span / lat_span)
    box_degrees = float(np.median(skill["box_lon_max"].values - skill["box_lon"].values))
    fontsize = box_font_size(map_width * box_degrees / lon_span)
    figsize = (width, (2 if columns == 1 else 1) * map_height + (2.6 if columns == 1 else 2.4))
    networks = [f"{m:.2f}\nch {c:.2f}\n{lo:.2f}–{hi:.2f}"
                for m, c, lo, hi in zip(median, chance, low, high, strict=True)]
    baseline = [f"{p:.2f}\n({m - p:+.2f})" for p, m in zip(persistence, median, strict=True)]

    with mpl.rc_context(STYLE), offline_natural_earth():
        fig = new_figure(figsize, dpi)
        grid = fig.add_gridspec(2 if columns == 1 else 1, columns)
        projection = ccrs.PlateCarree(central_longitude=centre)
        axes = [fig.add_subplot(grid[k], projection=projection) for k in range(2)]
        _box_panel(axes[0], skill, median - chance, networks, cmap, norm, extent, fontsize,
                   hatched=~significant)
        _box_panel(axes[1], skill, persistence - chance, baseline, cmap, norm, extent, fontsize)
        axes[0].set_title(f"(a) Networks: median validation accuracy of {n_seeds} seeds,\n"
                          "chance (ch) and range over seeds\ncolour: median − chance", loc="left")
        axes[1].set_title("(b) Persistence: this season's sign carried forward;\nits accuracy "
                          "(in brackets: networks − persistence)\ncolour: persistence − chance",
                          loc="left")
        axes[0].legend(
            handles=[mpl.patches.Patch(**NOT_SIGNIFICANT, label="not better than chance "
                                       f"(binomial test, FDR q = {fdr_q:g})")],
            loc="upper left", bbox_to_anchor=(0.0, -0.06), fontsize=8, frameon=False,
        )
        fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, orientation="horizontal",
                     shrink=0.6, aspect=40, pad=0.06,
                     label="validation accuracy − chance (chance: the best constant forecast)")
        fig.suptitle("Sign of next season's 2-m temperature anomaly from this season's SST, "
                     "per land box")
        save_figure(fig, paths, dpi)
    return fig
