"""Composite relevance per class (paper Fig. 6) and the agreement between seeds."""

from __future__ import annotations

from collections.abc import Sequence

import cmocean
import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from geoxai.figures.base import (
    STYLE,
    PathLike,
    check_outputs,
    draw_land_and_coast,
    new_figure,
    offline_natural_earth,
    open_product,
    save_figure,
    seed_label,
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
from geoxai.xai.rules import rule_label, rule_quantity, rule_title

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
    paths = check_outputs(outputs)
    needed = ("optimal_input_mean", "relevance_composite_mean", "sst_composite", "ocean_mask",
              "sample_count")
    dataset = open_product(composites_nc, needed, "Composites")
    one, class_name = select_class(dataset, class_name, composites_nc)
    rule_name = str(dataset.attrs.get("rule", "unknown rule"))
    rule, quantity = rule_label(rule_name), rule_quantity(rule_name)
    method_title = rule_title(rule_name)
    backend = str(dataset.attrs.get("backend", "unknown backend"))
    seeds = [int(s) for s in dataset["seed"].values]
    counts = one["sample_count"].values.astype(int)
    low, high = int(counts.min()), int(counts.max())
    count_text = f"{low}" if low == high else f"{low}–{high}"
    ocean = dataset["ocean_mask"]

    extent = data_extent(dataset["lat"].values, dataset["lon"].values)
    optimal = on_domain(ocean_only(one["optimal_input_mean"], ocean), extent)
    relevance = on_domain(ocean_only(one["relevance_composite_mean"], ocean), extent)
    sst = on_domain(ocean_only(one["sst_composite"], ocean), extent)
    rel_cmap, rel_min, rel_max = relevance_style(relevance)

    panels = [
        ((f"(a) Optimal input for {class_name} "
          f"(backwards optimization, mean of {len(seeds)} networks)"),
         optimal, cmocean.cm.balance, -1.0, 1.0,
         "optimal input / max|optimal input|"),
        (f"(b) Composite {quantity}, {rule} ({count_text} samples per network)",
         relevance, rel_cmap, rel_min, rel_max,
         "relevance / per-sample max"),
        (f"(c) Observed composite SST anomaly, {class_name}",
         sst, cmocean.cm.balance, -1.0, 1.0,
         "SST anomaly / max|SST anomaly|"),
    ]
    with mpl.rc_context(STYLE), offline_natural_earth():
        fig = new_figure(figsize, dpi)
        grid = fig.add_gridspec(3, 1)
        for row, (title, field, cmap, vmin, vmax, label) in enumerate(panels):
            ax = map_axes(fig, grid[row], central_longitude, extent)
            mesh = draw_mesh(ax, field, cmap, vmin, vmax)
            draw_land_and_coast(ax)
            ax.set_title(title, loc="left")
            fig.colorbar(mesh, ax=ax, shrink=0.85, pad=0.02, label=label)
        fig.suptitle(f"{class_name}: {len(seeds)} networks ({seed_label(seeds)}), "
                     f"{method_title} ({backend})")
        save_figure(fig, paths, dpi)
    return fig


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
    paths = check_outputs(outputs)
    needed = ("relevance_spread", "relevance_composite_mean", "seed_pattern_correlation",
              "ocean_mask")
    dataset = open_product(composites_nc, needed, "Composites")
    one, class_name = select_class(dataset, class_name, composites_nc)
    extent = data_extent(dataset["lat"].values, dataset["lon"].values)
    spread = on_domain(ocean_only(one["relevance_spread"], dataset["ocean_mask"]), extent)
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
    method_title = rule_title(str(dataset.attrs.get("rule", "unknown rule")))

    with mpl.rc_context(STYLE), offline_natural_earth():
        fig = new_figure(figsize, dpi)
        grid = fig.add_gridspec(1, 2, width_ratios=[2.0, 1.0])
        ax = map_axes(fig, grid[0], central_longitude, extent)
        top = finite_max_abs(spread) or 1.0
        mesh = draw_mesh(ax, spread, cmocean.cm.matter, 0.0, top)
        draw_land_and_coast(ax)
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
        fig.suptitle(f"Agreement between networks, {class_name}, {method_title}")
        save_figure(fig, paths, dpi)
    return fig


