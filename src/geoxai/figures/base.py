"""What every figure shares: the style, offline coastlines, atomic saving, reading products, labels."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import cartopy
import cartopy.feature as cfeature
import xarray as xr
from matplotlib.figure import Figure

from geoxai.core import provenance
from geoxai.core.errors import GeoxaiError

# the figures import the shown names from here
from geoxai.core.names import PROPER_NAMES, display_name  # noqa: F401
from geoxai.core.provenance import atomic_output
from geoxai.core.settings import settings_from_section

PathLike = str | os.PathLike

#: Tropical-Pacific zoom of the case studies (paper Fig. 7): 105°E–70°W, 22.5°S–22.5°N.
TROPICAL_PACIFIC = {"lon": (105.0, 290.0), "lat": (-22.5, 22.5), "name": "Tropical Pacific"}


@dataclass(frozen=True)
class FigureSettings:
    """The ``figures`` config section."""

    formats: tuple[str, ...] = ("png", "pdf")
    dpi: int = 150
    central_longitude: float = 225.0
    case_study_box: Mapping[str, Any] = field(default_factory=lambda: dict(TROPICAL_PACIFIC))
    methods: tuple[str, ...] | None = None  # per-method figures; None: every explain.rules entry

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> FigureSettings:
        return settings_from_section(cls, section, "figures")

#: A grid covering every longitude and at least this many degrees of latitude is drawn on the
#: global Robinson map; a narrower band would leave most of that map empty.
GLOBAL_LAT_SPAN = 120.0

#: Natural Earth scale of the shipped shapefiles; the only one that can be drawn offline.
NATURAL_EARTH_SCALE = "110m"

LAND_GREY = "0.82"
SAVE_FORMATS = {".png": "png", ".pdf": "pdf"}

#: Fonts sized for a figure printed at its nominal size (readable in a two-column paper).
STYLE: dict[str, Any] = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.facecolor": "white",
}


# --------------------------------------------------------------------------- offline coastlines


def natural_earth_dir() -> Path:
    """The package's Natural Earth folder, laid out as cartopy's ``pre_existing_data_dir``."""
    folder = Path(str(resources.files("geoxai") / "data" / "natural_earth"))
    probe = folder / "shapefiles" / "natural_earth" / "physical" / "ne_110m_coastline.shp"
    if not probe.is_file():
        raise GeoxaiError(
            f"Natural Earth shapefiles missing at {probe}: reinstall geoxai "
            "(they ship as package data under geoxai/data/natural_earth)."
        )
    return folder


@contextlib.contextmanager
def offline_natural_earth() -> Iterator[Path]:
    """Point cartopy at the shipped shapefiles while the block runs; restore its config after.

    Cartopy looks in ``pre_existing_data_dir`` before it considers downloading, so with the
    shipped files there no 110m coastline or land request reaches the network.
    """
    folder = natural_earth_dir()
    previous = cartopy.config["pre_existing_data_dir"]
    cartopy.config["pre_existing_data_dir"] = folder
    try:
        yield folder
    finally:
        cartopy.config["pre_existing_data_dir"] = previous


def land_feature() -> cfeature.NaturalEarthFeature:
    return cfeature.NaturalEarthFeature("physical", "land", NATURAL_EARTH_SCALE)


def draw_land_and_coast(ax: Any) -> None:
    # Land on top of the data: the 1° land mask and Natural Earth's coastline never agree exactly,
    # and a grey land layer hides the ragged edge of masked grid cells.
    ax.add_feature(land_feature(), facecolor=LAND_GREY, edgecolor="none", zorder=2)
    ax.coastlines(resolution=NATURAL_EARTH_SCALE, linewidth=0.5, color="0.25", zorder=3)


# --------------------------------------------------------------------------- saving


def check_outputs(outputs: Sequence[PathLike]) -> list[Path]:
    paths = [Path(p) for p in ([outputs] if isinstance(outputs, str | os.PathLike) else outputs)]
    if not paths:
        raise GeoxaiError("No output path given for the figure: pass at least one .png or .pdf.")
    for path in paths:
        if path.suffix.lower() not in SAVE_FORMATS:
            raise GeoxaiError(
                f"Figure output {path} has suffix {path.suffix!r}: use .png or .pdf."
            )
    return paths


def new_figure(figsize: tuple[float, float], dpi: float) -> Figure:
    # A bare Figure (no pyplot) keeps no global state and works on any backend.
    return Figure(figsize=figsize, dpi=dpi, layout="constrained")


def save_figure(fig: Figure, outputs: list[Path], dpi: float) -> None:
    for path in outputs:
        fmt = SAVE_FORMATS[path.suffix.lower()]
        # No creation date: the same inputs give the same PDF bytes.
        metadata = {"CreationDate": None} if fmt == "pdf" else None
        with atomic_output(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata)


# --------------------------------------------------------------------------- reading inputs


def open_product(path: PathLike, variables: Sequence[str], what: str) -> xr.Dataset:
    path = Path(path)
    if not path.is_file():
        raise GeoxaiError(f"{what} file {path} does not exist: run the rule that makes it first.")
    dataset = provenance.load_product(path)
    missing = [name for name in variables if name not in dataset.variables]
    if missing:
        raise GeoxaiError(
            f"{what} file {path} lacks {', '.join(missing)}: it was written by another version "
            "of geoxai; delete it and re-run the rule that makes it."
        )
    return dataset


def select_class(
    dataset: xr.Dataset, class_name: str | int, path: PathLike
) -> tuple[xr.Dataset, str]:
    """The class by name, or by position when ``class_name`` is an int (a label value)."""
    classes = [str(c) for c in dataset["class"].values]
    if isinstance(class_name, int) and not isinstance(class_name, bool):
        position = class_name if 0 <= class_name < len(classes) else -1
    else:
        position = classes.index(class_name) if class_name in classes else -1
    if position < 0:
        raise GeoxaiError(
            f"Class {class_name!r} is not in {path}; its classes are {', '.join(classes)} "
            "(give a name or a position from 0)."
        )
    return dataset.isel({"class": position}), classes[position]


def month_title(key: str) -> str:
    names = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")
    year, month = key.split("-")[:2]
    return f"{names[int(month) - 1]} {year}"


def seed_label(seeds: Sequence[int]) -> str:
    seeds = sorted(int(s) for s in seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}–{seeds[-1]}"
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(str(s) for s in seeds)


