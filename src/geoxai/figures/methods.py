"""Every configured explanation method's composite for one class, side by side.

One map per method, each scaled by its own maximum (methods differ in units and sign
convention), titled from the method's registry entry: what it shows and whether it conserves.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib as mpl
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
    select_class,
)
from geoxai.figures.maps import (
    data_extent,
    draw_mesh,
    finite_max_abs,
    map_axes,
    ocean_only,
    on_domain,
    relevance_style,
)
from geoxai.figures.regions import Region, draw_regions, region_legend_handles, target_title
from geoxai.xai.rules import rule_named


def method_caption(method: str) -> str:
    """The method's label and what its sums mean, from its registry entry."""
    entry = rule_named(method)
    if entry.conservation == "exact":
        conserves = f"sums to the {entry.conserved_quantity}"
    elif entry.conservation == "approximate":
        conserves = f"sums to about the {entry.conserved_quantity}"
    elif entry.conservation == "per_patch":
        conserves = "each patch sums to the logit's drop"
    else:
        conserves = "does not conserve"
    return f"{entry.label} ({entry.quantity}; {conserves})"


def plot_method_comparison(
    composites_nc: Sequence[PathLike],
    class_name: str | int,
    outputs: Sequence[PathLike],
    central_longitude: float = 225.0,
    dpi: float = 150,
    columns: int = 2,
    regions: Sequence[Region] = (),
) -> Figure:
    """One panel per composite file (one per method): mean composite relevance over seeds;
    ``regions`` outlined on every map (a target box also named in the title)."""
    paths = check_outputs(outputs)
    needed = ("relevance_composite_mean", "ocean_mask", "sample_count")
    datasets = [open_product(path, needed, "Composites") for path in composites_nc]
    rows = -(-len(datasets) // columns)
    with mpl.rc_context(STYLE), offline_natural_earth():
        fig = new_figure((5.0 * columns, 2.6 * rows + 0.6), dpi)
        grid = fig.add_gridspec(rows, columns)
        title_class = str(class_name)
        for position, (dataset, path) in enumerate(zip(datasets, composites_nc)):
            one, title_class = select_class(dataset, class_name, path)
            method = str(dataset.attrs.get("rule", ""))
            extent = data_extent(dataset["lat"].values, dataset["lon"].values)
            field = on_domain(ocean_only(one["relevance_composite_mean"], dataset["ocean_mask"]),
                              extent)
            scale = finite_max_abs(field) or 1.0
            cmap, vmin, vmax = relevance_style(field / scale)
            ax = map_axes(fig, grid[position // columns, position % columns], central_longitude,
                          extent)
            mesh = draw_mesh(ax, field / scale, cmap, vmin, vmax)
            draw_land_and_coast(ax)
            draw_regions(ax, regions)
            ax.set_title(textwrap.fill(f"({chr(97 + position)}) {method_caption(method)}", 64),
                         loc="left", fontsize="small")
            fig.colorbar(mesh, ax=ax, shrink=0.8, pad=0.02, label="composite / max")
        title = f"{display_name(title_class)}: composite relevance of every method, mean over seeds"
        if target_title(regions):
            title = f"{target_title(regions)}\n{title}"
        if regions:
            fig.legend(handles=region_legend_handles(regions), loc="outside lower left",
                       frameon=False, fontsize=7, ncols=len(regions))
        fig.suptitle(title)
        save_figure(fig, paths, dpi)
    return fig
