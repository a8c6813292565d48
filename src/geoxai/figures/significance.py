"""The real composite of each class where it beats the networks trained on shuffled labels
(Labe & Barnes 2021): coloured where above the null threshold, pale where not, dotted where the
field significance (FDR) holds."""

from __future__ import annotations

from collections.abc import Sequence

import cartopy.crs as ccrs
import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from geoxai.figures.base import (
    STYLE,
    PathLike,
    check_outputs,
    display_name,
    draw_land_and_coast,
    new_figure,
    offline_natural_earth,
    open_product,
    save_figure,
)
from geoxai.figures.maps import (
    data_extent,
    draw_mesh,
    map_axes,
    ocean_only,
    on_domain,
    relevance_style,
)
from geoxai.figures.regions import (
    LEGEND_ROW_INCHES,
    Region,
    add_region_legend,
    draw_regions,
    with_target_title,
)
from geoxai.xai.rules import rule_title

NOT_SIGNIFICANT = "0.96"


def plot_significance(
    significance_nc: PathLike,
    outputs: Sequence[PathLike],
    central_longitude: float = 225.0,
    dpi: float = 150,
    panel_height: float = 3.2,
    regions: Sequence[Region] = (),
) -> Figure:
    """One map per class of the real composite, masked where it does not exceed the null
    threshold; cells significant after the false discovery rate control carry a dot. ``regions``
    (:mod:`geoxai.figures.regions`) are outlined on every map and named in a legend."""
    paths = check_outputs(outputs)
    needed = ("relevance_composite_mean", "significant", "significant_fdr", "ocean_mask",
              "significant_share", "significant_fdr_share")
    dataset = open_product(significance_nc, needed, "Significance")
    classes = [str(c) for c in dataset["class"].values]
    extent = data_extent(dataset["lat"].values, dataset["lon"].values)
    ocean = dataset["ocean_mask"]
    percentile = float(dataset.attrs.get("percentile", 95.0))
    q = float(dataset.attrs.get("q", 0.05))
    networks = int(dataset.attrs.get("networks", dataset.sizes.get("network", 0)))
    method = rule_title(str(dataset.attrs.get("rule", "unknown rule")))

    with mpl.rc_context(STYLE), offline_natural_earth():
        # the legend under the maps, one region a row
        legend_height = LEGEND_ROW_INCHES * (len(regions) + 0.5) if regions else 0.0
        fig = new_figure((7.0, panel_height * len(classes) + 0.6 + legend_height), dpi)
        grid = fig.add_gridspec(len(classes), 1)
        for row, name in enumerate(classes):
            one = dataset.isel({"class": row})
            composite = on_domain(ocean_only(one["relevance_composite_mean"], ocean), extent)
            significant = on_domain(one["significant"], extent) > 0
            fdr = on_domain(one["significant_fdr"], extent) > 0
            cmap, vmin, vmax = relevance_style(composite)
            ax = map_axes(fig, grid[row], central_longitude, extent)
            pale = xr.ones_like(composite).where(composite.notnull() & ~significant)
            draw_mesh(ax, pale, mpl.colors.ListedColormap([NOT_SIGNIFICANT]), 0.0, 1.0)
            mesh = draw_mesh(ax, composite.where(significant), cmap, vmin, vmax)
            lat2, lon2 = np.meshgrid(fdr["lat"].values, fdr["lon"].values, indexing="ij")
            dots = fdr.values
            if dots.any():
                ax.scatter(lon2[dots], lat2[dots], s=1.5, c="k", marker=".", linewidths=0,
                           transform=ccrs.PlateCarree(), zorder=4)
            draw_land_and_coast(ax)
            draw_regions(ax, regions)
            share = float(one["significant_share"]) * 100
            share_fdr = float(one["significant_fdr_share"]) * 100
            ax.set_title(f"({chr(97 + row)}) {display_name(name)}: {share:.0f}% of ocean cells above the "
                         f"{percentile:g}th percentile; {share_fdr:.0f}% (dots) with FDR q={q:g}",
                         loc="left")
            fig.colorbar(mesh, ax=ax, shrink=0.85, pad=0.02, label="relevance / per-sample max")
        add_region_legend(fig, regions)
        fig.suptitle(with_target_title(f"Composite relevance against {networks} networks "
                                       f"trained on shuffled labels, {method}", regions))
        save_figure(fig, paths, dpi)
    return fig
