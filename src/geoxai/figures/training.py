"""How the networks trained (loss and accuracy per epoch) and the index with its labels."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from geoxai.core.errors import GeoxaiError
from geoxai.core.months import month_index
from geoxai.figures.base import (
    STYLE,
    PathLike,
    check_outputs,
    display_name,
    new_figure,
    save_figure,
    seed_label,
)
from geoxai.products.labels import read_label_table
from geoxai.products.metrics import read_metrics

# --------------------------------------------------------------------------- figure 3: training


def plot_training(
    metrics_json_list: Sequence[PathLike],
    outputs: Sequence[PathLike],
    dpi: float = 150,
    figsize: tuple[float, float] = (10.0, 3.4),
    subject: str = "",
) -> Figure:
    """Loss and accuracy per epoch of every seed (validation dashed); final accuracy per seed.
    ``subject`` (e.g. Application 2's "box lat30_lon250") leads the title."""
    paths = check_outputs(outputs)
    if not metrics_json_list:
        raise GeoxaiError("No training metrics given: pass one JSON file per seed.")
    runs = sorted((read_metrics(p) for p in metrics_json_list), key=lambda m: int(m["seed"]))
    colors = mpl.colormaps["viridis"](np.linspace(0.0, 0.9, len(runs)))
    seeds = [int(m["seed"]) for m in runs]
    train_acc = np.array([float(m["accuracy"]["train"]) for m in runs])
    val_acc = np.array([float(m["accuracy"]["validation"]) for m in runs])

    with mpl.rc_context(STYLE):
        fig = new_figure(figsize, dpi)
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
        # One colour per seed, in every panel: the key sits with the first one.
        seed_lines = [mpl.lines.Line2D([], [], color=color, lw=1.5, label=f"seed {seed}")
                      for seed, color in zip(seeds, colors, strict=True)]
        loss_ax.legend(handles=seed_lines, loc="upper right", frameon=False,
                       ncols=1 if len(seeds) <= 5 else 2)
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
        title = f"Training of {len(runs)} networks ({seed_label(seeds)})"
        fig.suptitle(f"{subject}: {title}" if subject else title)
        save_figure(fig, paths, dpi)
    return fig


# --------------------------------------------------------------------------- figure 5: index


def _read_labels(path: PathLike) -> pd.DataFrame:
    table = read_label_table(path)
    table = table.assign(month_number=[month_index(t) for t in table["time"]])
    return table.sort_values("month_number").reset_index(drop=True)


def plot_index(
    labels_csv: PathLike,
    outputs: Sequence[PathLike],
    thresholds: tuple[float, float] = (-0.5, 0.5),
    class_names: Sequence[str] = ("La Niña", "El Niño"),
    index_name: str = "Niño3.4 index",
    units: str = "K",
    dpi: float = 150,
    figsize: tuple[float, float] = (10.0, 3.2),
    sample_name: str = "months",
) -> Figure:
    """The label index through time: labelled samples marked by class, the train/validation
    boundary. ``sample_name`` says what a sample is ("months"; "seasons" for seasonal labels).

    ``class_names[0]`` is label 0 (index below ``thresholds[0]``), ``class_names[1]`` label 1;
    names and ``index_name`` are shown with their proper spelling (:func:`display_name`). Equal
    thresholds (a sign) are labelled as such.
    """
    class_names = [display_name(name) for name in class_names]
    index_name = display_name(index_name)
    paths = check_outputs(outputs)
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
        fig = new_figure(figsize, dpi)
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
        if thresholds[0] == thresholds[1]:
            rule = (f"{sample_name} labelled by sign: {class_names[0]} below {low_text} {units}, "
                    f"{class_names[1]} above")
        else:
            rule = (f"{class_names[0]} below {low_text} {units}, {class_names[1]} above "
                    f"{high_text} {units}, {sample_name} between not used")
        ax.set_title(f"{index_name}: {rule}; chronological train/validation split", loc="left")
        save_figure(fig, paths, dpi)
    return fig


