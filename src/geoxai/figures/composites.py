"""Composite relevance per class (paper Fig. 6) and the agreement between seeds."""

from __future__ import annotations

from collections.abc import Sequence

import cmocean
import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

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
from geoxai.figures.regions import Region, draw_regions, region_legend_handles, target_title
from geoxai.xai.rules import rule_label, rule_quantity, rule_title

# --------------------------------------------------------------------------- figure 1: composites


def skill_text(dataset) -> tuple[str, bool | None]:
    """"median validation accuracy 0.97 vs chance 0.52 (p = …)" and whether the networks are
    skilful; ("", None) for a file written without the evaluation."""
    if "validation_accuracy_median" not in dataset or "chance_accuracy" not in dataset:
        return "", None
    median = float(dataset["validation_accuracy_median"])
    chance = float(dataset["chance_accuracy"])
    p_value = float(dataset["skill_p_value"]) if "skill_p_value" in dataset else float("nan")
    skilful = bool(int(dataset["skilful"])) if "skilful" in dataset else median > chance
    text = f"median validation accuracy {median:.2f} vs chance {chance:.2f} (p = {p_value:.2g})"
    return (text if skilful else f"NOT SKILFUL: {text}"), skilful


def optimal_input_panel(one, seeds: Sequence[int]) -> tuple[xr.DataArray, str, bool]:
    """The optimal-input map to draw, the panel's title tail and whether it is a greyed stand-in
    (no network reached the target probability)."""
    if "optimal_input_count_used" not in one:
        return one["optimal_input_mean"], f"mean of {len(seeds)} networks", False
    used = int(one["optimal_input_count_used"])
    excluded = int(one["optimal_input_count_excluded"])
    if used == 0:
        return one["optimal_input_mean_unreached"], "did not reach target probability", True
    tail = f"mean of {used} networks"
    if excluded:
        tail += f"; {excluded} left out: target probability missed or all zero"
    return one["optimal_input_mean"], tail, False


def _mark_panel(ax, text: str, hatch: bool) -> None:
    """Hatch a panel whose map must not be read as a result, and say why on it."""
    if hatch:
        ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, hatch="///",
                               edgecolor="0.45", linewidth=0, zorder=5))
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", zorder=6,
            fontsize=9, fontweight="bold", color="firebrick",
            bbox={"facecolor": "white", "edgecolor": "firebrick", "alpha": 0.9})


def plot_composites(
    composites_nc: PathLike,
    class_name: str | int,
    outputs: Sequence[PathLike],
    central_longitude: float = 225.0,
    dpi: float = 150,
    figsize: tuple[float, float] = (7.0, 10.0),
    regions: Sequence[Region] = (),
) -> Figure:
    """Paper Fig. 6 for one class: optimal input, composite relevance, observed composite SST.

    ``class_name`` is a value of the file's ``class`` coordinate, or its position (the label).
    An optimal-input panel none of whose networks reached the target probability is greyed and
    hatched; where the networks are no better than chance every panel is marked "not skilful".
    ``regions`` (:mod:`geoxai.figures.regions`) are outlined on every map and named in a legend;
    a target box is also named in the title.
    """
    paths = check_outputs(outputs)
    needed = ("optimal_input_mean", "relevance_composite_mean", "sst_composite", "ocean_mask",
              "sample_count")
    dataset = open_product(composites_nc, needed, "Composites")
    one, class_name = select_class(dataset, class_name, composites_nc)
    class_name = display_name(class_name)
    rule_name = str(dataset.attrs.get("rule", "unknown rule"))
    rule, quantity = rule_label(rule_name), rule_quantity(rule_name)
    method_title = rule_title(rule_name)
    backend = str(dataset.attrs.get("backend", "unknown backend"))
    seeds = [int(s) for s in dataset["seed"].values]
    counts = one["sample_count"].values.astype(int)
    low, high = int(counts.min()), int(counts.max())
    count_text = f"{low}" if low == high else f"{low}–{high}"
    ocean = dataset["ocean_mask"]
    skill, skilful = skill_text(dataset)
    optimal_field, optimal_tail, greyed = optimal_input_panel(one, seeds)

    extent = data_extent(dataset["lat"].values, dataset["lon"].values)
    optimal = on_domain(ocean_only(optimal_field, ocean), extent)
    relevance = on_domain(ocean_only(one["relevance_composite_mean"], ocean), extent)
    sst = on_domain(ocean_only(one["sst_composite"], ocean), extent)
    rel_cmap, rel_min, rel_max = relevance_style(relevance)
    sst_scale = ""
    if "sst_composite_physical" in one:
        peak = finite_max_abs(ocean_only(one["sst_composite_physical"], ocean))
        sst_scale = f" (max |anomaly| {peak:.2f} K)"

    panels = [
        (f"(a) Optimal input for {class_name} (backwards optimization, {optimal_tail})",
         optimal, mpl.colormaps["Greys"] if greyed else cmocean.cm.balance, -1.0, 1.0,
         "optimal input / max|optimal input|"),
        (f"(b) Composite {quantity}, {rule} ({count_text} samples per network)",
         relevance, rel_cmap, rel_min, rel_max,
         "relevance / per-sample max"),
        (f"(c) Observed composite SST anomaly, {class_name}{sst_scale}",
         sst, cmocean.cm.balance, -1.0, 1.0,
         "SST anomaly / max|SST anomaly|"),
    ]
    with mpl.rc_context(STYLE), offline_natural_earth():
        fig = new_figure(figsize, dpi)
        grid = fig.add_gridspec(3, 1)
        for row, (title, field, cmap, vmin, vmax, label) in enumerate(panels):
            ax = map_axes(fig, grid[row], central_longitude, extent)
            mesh = draw_mesh(ax, field, cmap, vmin, vmax)
            if row == 0 and greyed:
                mesh.set_alpha(0.5)
                _mark_panel(ax, "did not reach target probability", hatch=True)
            elif skilful is False:
                _mark_panel(ax, "not skilful", hatch=False)
            draw_land_and_coast(ax)
            draw_regions(ax, regions)
            ax.set_title(title, loc="left")
            fig.colorbar(mesh, ax=ax, shrink=0.85, pad=0.02, label=label)
        if regions:
            fig.legend(handles=region_legend_handles(regions), loc="outside lower left",
                       frameon=False, fontsize=7.5)
        suptitle = (f"{class_name}: {len(seeds)} networks ({seed_label(seeds)}), "
                    f"{method_title} ({backend})")
        if target_title(regions):
            suptitle = f"{target_title(regions)}\n{suptitle}"
        fig.suptitle(f"{suptitle}\n{skill}" if skill else suptitle,
                     color="firebrick" if skilful is False else "black")
        save_figure(fig, paths, dpi)
    return fig


# --------------------------------------------------------------------------- figure 4: seeds

#: The colour range of the seed×seed pattern correlations: fixed, so that two matrices compare
#: at a glance (below 0.5 the networks hardly agree; the colour bar is extended there).
CORRELATION_RANGE = (0.5, 1.0)


def plot_seed_agreement(
    composites_nc: PathLike,
    class_name: str | int,
    outputs: Sequence[PathLike],
    central_longitude: float = 225.0,
    dpi: float = 150,
    figsize: tuple[float, float] = (10.0, 4.0),
    regions: Sequence[Region] = (),
) -> Figure:
    """Across-seed spread of the composite relevance (map) and the seed×seed pattern correlation.

    ``class_name`` is a value of the file's ``class`` coordinate, or its position (the label).
    The correlation's colours span the fixed :data:`CORRELATION_RANGE`, so the matrices of all
    classes, methods and runs read alike; ``regions`` are outlined on the map.
    """
    paths = check_outputs(outputs)
    needed = ("relevance_spread", "relevance_composite_mean", "seed_pattern_correlation",
              "ocean_mask")
    dataset = open_product(composites_nc, needed, "Composites")
    one, class_name = select_class(dataset, class_name, composites_nc)
    class_name = display_name(class_name)
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
    floor, ceiling = CORRELATION_RANGE
    method_title = rule_title(str(dataset.attrs.get("rule", "unknown rule")))

    with mpl.rc_context(STYLE), offline_natural_earth():
        fig = new_figure(figsize, dpi)
        grid = fig.add_gridspec(1, 2, width_ratios=[2.0, 1.0])
        ax = map_axes(fig, grid[0], central_longitude, extent)
        top = finite_max_abs(spread) or 1.0
        mesh = draw_mesh(ax, spread, cmocean.cm.matter, 0.0, top)
        draw_land_and_coast(ax)
        draw_regions(ax, regions)
        ax.set_title(f"(a) Spread of composite relevance over {len(seeds)} networks", loc="left")
        fig.colorbar(mesh, ax=ax, shrink=0.8, pad=0.02, label="std over seeds (relevance / max)")

        cax = fig.add_subplot(grid[1])
        cmap = mpl.colormaps["viridis"].with_extremes(bad="0.9")
        image = cax.imshow(between, cmap=cmap, vmin=floor, vmax=ceiling, origin="upper")
        cax.set_xticks(np.arange(len(others)), [str(s) for s in others])
        cax.set_yticks(np.arange(len(seeds)), [str(s) for s in seeds])
        if len(seeds) <= 12:
            # Large enough to read at report size: 10 points for a few seeds, 7 for twelve.
            size = float(np.interp(len(seeds), [3, 12], [10.0, 7.0]))
            for (i, j), value in np.ndenumerate(between):
                if not np.isfinite(value):
                    continue
                shade = "white" if value < floor + 0.6 * (ceiling - floor) else "black"
                cax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=size,
                         color=shade)
        cax.set(xlabel="seed", ylabel="seed",
                title=f"(b) Pattern correlation (mean {mean_r:.2f})")
        cax.tick_params(length=0)
        cax.spines[:].set_visible(False)
        fig.colorbar(image, ax=cax, shrink=0.8, pad=0.02, extend="min",
                     label=f"correlation (fixed scale {floor:g} to {ceiling:g})")
        if regions:
            fig.legend(handles=region_legend_handles(regions), loc="outside lower left",
                       frameon=False, fontsize=7, ncols=len(regions))
        title = f"Agreement between networks, {class_name}, {method_title}"
        if target_title(regions):
            title = f"{target_title(regions)}\n{title}"
        fig.suptitle(title)
        save_figure(fig, paths, dpi)
    return fig


