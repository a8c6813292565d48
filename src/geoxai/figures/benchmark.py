"""The attribution benchmark: per-sample score distributions per method, and a table of medians."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.figures.base import STYLE, PathLike, check_outputs, new_figure, save_figure
from geoxai.products.benchmark import read_benchmark
from geoxai.xai.explain import rule_label


def _dataset(benchmark: xr.Dataset | PathLike) -> xr.Dataset:
    return benchmark if isinstance(benchmark, xr.Dataset) else read_benchmark(benchmark)


def median_table(benchmark: xr.Dataset | PathLike) -> pd.DataFrame:
    """Median (over explained samples) of each score per method, best ``score`` first.

    Columns: reference, score, correlation, positive_part_correlation, sign_agreement, scored
    (samples with a finite r), constant (samples whose attribution is constant).
    """
    dataset = _dataset(benchmark)
    rows = []
    for position, method in enumerate(dataset["rule"].values.astype(str)):
        one = dataset.isel(rule=position)
        rows.append({
            "method": method,
            "reference": str(one["reference"].values),
            **{name: float(np.nanmedian(one[name].values)) if np.isfinite(one[name].values).any() else np.nan
               for name in ("score", "correlation", "positive_part_correlation", "sign_agreement")},
            "scored": int(np.isfinite(one["score"].values).sum()),
            "constant": int(one["constant_attribution"].values),
        })
    return pd.DataFrame(rows).set_index("method").sort_values("score", ascending=False)


def fit_title(dataset: xr.Dataset) -> str:
    metric = "R²" if dataset.attrs.get("fit_metric") == "r_squared" else "accuracy"
    fit = float(dataset["fit"].values)
    warning = "" if int(dataset["fits"].values) else " — NETWORK DOES NOT FIT"
    return (f"Attribution benchmark: {dataset.attrs.get('task', '')} network, held-out {metric} "
            f"{fit:.3f}, {dataset.sizes['sample']} samples, {dataset.attrs.get('cells', '?')} cells{warning}")


def plot_benchmark(
    benchmark: xr.Dataset | PathLike,
    outputs: Sequence[PathLike],
    dpi: float = 150,
    figsize: tuple[float, float] = (7.5, 4.4),
) -> None:
    """Violins (with box plots) of each method's per-sample ``score``, sorted by median.

    One-signed methods (reference ``positive_part``) are drawn hatched: their r is against the
    positive part of the truth. A line marks r = 0.
    """
    paths = check_outputs(outputs)
    dataset = _dataset(benchmark)
    table = median_table(dataset)
    order = list(table.index)
    if not order:
        raise GeoxaiError("the attribution benchmark has no methods to draw")
    methods = list(dataset["rule"].values.astype(str))
    values = [dataset["score"].values[methods.index(m)] for m in order]
    values = [v[np.isfinite(v)] for v in values]
    references = [table.loc[m, "reference"] for m in order]
    with mpl.rc_context(STYLE):
        fig = new_figure(figsize, dpi)
        ax = fig.subplots()
        positions = np.arange(len(order))
        drawable = [i for i, v in enumerate(values) if v.size > 1]
        if drawable:
            violins = ax.violinplot([values[i] for i in drawable], positions=positions[drawable],
                                    widths=0.8, showextrema=False)
            for body, i in zip(violins["bodies"], drawable, strict=True):
                body.set_facecolor("0.75" if references[i] == "positive_part" else "tab:blue")
                body.set_alpha(0.5)
                if references[i] == "positive_part":
                    body.set_hatch("//")
        ax.boxplot([v if v.size else [np.nan] for v in values], positions=positions, widths=0.18,
                   showfliers=False, medianprops={"color": "black"})
        ax.axhline(0.0, color="0.3", lw=0.8, ls="--")
        labels = [rule_label(m) + ("\n(vs positive part)" if r == "positive_part" else "")
                  for m, r in zip(order, references, strict=True)]
        ax.set_xticks(positions, labels, rotation=35, ha="right", rotation_mode="anchor")
        ax.set_xlim(-0.6, len(order) - 0.4)
        ax.set_ylim(-1.05, 1.05)
        ax.set(ylabel="per-sample correlation with the exact attribution")
        ax.set_title(fit_title(dataset))
        save_figure(fig, paths, dpi)
