"""Figures of the explanation evaluations: similarity after randomisation (sanity checks), deletion
curves against random rankings (faithfulness), and per-sample agreement across seeds."""

from __future__ import annotations

from collections.abc import Sequence

import cmocean
import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from geoxai.core.errors import GeoxaiError
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
from geoxai.figures.maps import data_extent, draw_mesh, map_axes, on_domain
from geoxai.figures.regions import (
    LEGEND_ROW_INCHES,
    Region,
    add_region_legend,
    draw_regions,
    with_target_title,
)
from geoxai.xai.explain import rule_label

STAGE_LABELS = {"shuffled_labels": "shuffled\nlabels"}


def _label(method: str) -> str:
    try:
        return rule_label(method)
    except GeoxaiError:  # an unknown name still gets a line
        return method


def _colours(n: int) -> list:
    cmap = mpl.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def plot_sanity(sanity: xr.Dataset | PathLike, outputs: Sequence[PathLike], dpi: float = 150,
                figsize: tuple[float, float] = (8.0, 3.4)) -> Figure:
    """Median Spearman correlation (signed, and of |relevance|) with the trained network's
    explanation, per method, at each randomisation stage; the survival threshold dashed."""
    paths = check_outputs(outputs)
    dataset = sanity if isinstance(sanity, xr.Dataset) else open_product(
        sanity, ["median_spearman", "median_spearman_abs"], "Sanity")
    methods = dataset["method"].values.astype(str)
    stages = dataset["stage"].values.astype(str)
    x = np.arange(len(stages) + 1)
    ticks = ["trained"] + [STAGE_LABELS.get(s, s.replace("cascade_", "random\n")) for s in stages]
    threshold = float(dataset.attrs.get("survival_threshold", np.nan))
    values = np.concatenate([dataset[n].values.ravel() for n in ("median_spearman", "median_spearman_abs")])
    finite = values[np.isfinite(values)]
    bottom = min(-0.25, float(finite.min()) - 0.05) if finite.size else -0.25
    with mpl.rc_context(STYLE):
        fig = new_figure(figsize, dpi)
        axes = fig.subplots(1, 2, sharey=True)
        for ax, name, title in zip(axes, ("median_spearman", "median_spearman_abs"),
                                   ("(a) Signed relevance", "(b) Absolute relevance")):
            for method, colour in zip(methods, _colours(len(methods))):
                values = dataset[name].sel({"method": method}).values
                ax.plot(x, np.r_[1.0, values], marker="o", ms=3, lw=1.2, color=colour,
                        label=_label(method))
            ax.axhline(threshold, color="0.3", ls="--", lw=0.8)
            ax.axhline(0.0, color="0.6", lw=0.5)
            ax.set_xticks(x, ticks)
            ax.set(title=title, ylim=(max(bottom, -1.05), 1.05))
        axes[0].set_ylabel("median Spearman r with trained")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right center", fontsize=6.5, frameon=False)
        fig.suptitle("Sanity checks: explanations after randomising the network (cascading from "
                     "the output) and the labels")
        save_figure(fig, paths, dpi)
    return fig


def plot_faithfulness(faithfulness: xr.Dataset | PathLike, outputs: Sequence[PathLike],
                      dpi: float = 150, figsize: tuple[float, float] = (9.0, 3.4)) -> Figure:
    """Mean explained logit vs ocean area removed, per method, with the random-order baseline."""
    paths = check_outputs(outputs)
    dataset = faithfulness if isinstance(faithfulness, xr.Dataset) else open_product(
        faithfulness, ["deletion_curve", "random_curve", "auc"], "Faithfulness")
    methods = dataset["method"].values.astype(str)
    replacements = dataset["replacement"].values.astype(str)
    fraction = dataset["fraction"].values
    with mpl.rc_context(STYLE):
        fig = new_figure(figsize, dpi)
        axes = np.atleast_1d(fig.subplots(1, len(replacements), sharey=True))
        for k, (ax, replacement) in enumerate(zip(axes, replacements)):
            for method, colour in zip(methods, _colours(len(methods))):
                one = dataset.sel({"method": method, "replacement": replacement})
                ax.plot(fraction, one["deletion_curve"].values, lw=1.2, color=colour,
                        label=_label(method))
            random = dataset["random_curve"].sel(replacement=replacement)
            ax.plot(fraction, random.values, color="black", ls="--", lw=1.4, label="random order")
            ax.axhline(0.0, color="0.6", lw=0.5)
            ax.set(xlabel="fraction of ocean area removed", xlim=(0, 1),
                   title=f"({chr(97 + k)}) replaced by {replacement.replace('_', ' ')}")
            ax.legend(fontsize=5.5, frameon=False, title="AUC", title_fontsize=6, loc="upper right",
                      handlelength=1.0, labelspacing=0.2,
                      labels=[f"{float(v):.2f}" for v in dataset["auc"].sel(
                          {"replacement": replacement}).values] + ["random"])
        handles = axes[0].get_legend_handles_labels()[0]
        fig.legend(handles[:len(methods)] + handles[-1:],
                   [_label(m) for m in methods] + ["random order"],
                   loc="outside right center", fontsize=6.5, frameon=False)
        axes[0].set_ylabel("explained logit (mean over samples)")
        fig.suptitle("Faithfulness: deletion of the most relevant cells first")
        save_figure(fig, paths, dpi)
    return fig


def plot_sample_agreement(agreement: xr.Dataset | PathLike, outputs: Sequence[PathLike],
                          dpi: float = 150, central_longitude: float = 225.0,
                          figsize: tuple[float, float] = (10.0, 3.6),
                          regions: Sequence[Region] = ()) -> Figure:
    """Distributions (over seed pairs and samples) of the per-sample Spearman r and top overlap,
    per true class, and the map of how often a cell is among both seeds' most relevant, with
    ``regions`` (:mod:`geoxai.figures.regions`) outlined and named in a legend."""
    paths = check_outputs(outputs)
    dataset = agreement if isinstance(agreement, xr.Dataset) else open_product(
        agreement, ["spearman", "top_overlap", "both_top_fraction"], "Seed agreement")
    classes = dataset["class"].values.astype(str)
    true_class = dataset["true_class"].values
    fraction = float(dataset.attrs.get("top_fraction", 0.1))
    extent = data_extent(dataset["lat"].values, dataset["lon"].values)
    field = on_domain(dataset["both_top_fraction"], extent)
    if regions:  # room for the legend's row under the panels
        figsize = (figsize[0], figsize[1] + 1.5 * LEGEND_ROW_INCHES)
    with mpl.rc_context(STYLE), offline_natural_earth():
        fig = new_figure(figsize, dpi)
        grid = fig.add_gridspec(1, 3, width_ratios=[1.0, 1.0, 2.4])
        for k, name in enumerate(("spearman", "top_overlap")):
            ax = fig.add_subplot(grid[k])
            values = [dataset[name].values[:, true_class == c].reshape(-1) for c in range(len(classes))]
            values = [v[np.isfinite(v)] for v in values]
            ax.boxplot([v if v.size else [np.nan] for v in values], showfliers=False)
            ax.set_xticks(np.arange(1, len(classes) + 1), [display_name(c) for c in classes])
            ax.tick_params(axis="x", labelrotation=30)
            if name == "top_overlap":
                ax.axhline(fraction, color="0.3", ls="--", lw=0.8)
            ax.set(title=f"({chr(97 + k)}) {'Spearman r' if k == 0 else f'top-{100 * fraction:g}% overlap'}",
                   ylim=(-0.2 if k == 0 else 0.0, 1.0))
        ax = map_axes(fig, grid[2], central_longitude, extent)
        mesh = draw_mesh(ax, field, cmocean.cm.dense, 0.0, max(float(np.nanmax(field.values)), 1e-6)
                         if np.isfinite(field.values).any() else 1.0)
        draw_land_and_coast(ax)
        draw_regions(ax, regions)
        ax.set_title(f"(c) Seed pairs with the cell in both top-{100 * fraction:g}%", loc="left")
        fig.colorbar(mesh, ax=ax, shrink=0.8, pad=0.02, label="fraction of pairs (mean over samples)")
        add_region_legend(fig, regions, one_row=True)
        fig.suptitle(with_target_title(f"Per-sample agreement of {dataset.sizes['pair']} seed "
                                       f"pairs, {_label(str(dataset.attrs.get('rule', '')))}",
                                       regions))
        save_figure(fig, paths, dpi)
    return fig
