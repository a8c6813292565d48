"""Application 2's ``targets.nc`` (seasonal 2-m temperature anomaly per land box, ``(box, time)``)
and ``boxes.json`` (the kept boxes, which the workflow reads after the lst_targets checkpoint)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import open_product, write_json_atomic, write_netcdf_atomic
from geoxai.lst.seasonal import season_span
from geoxai.products.anomalies import SEASON_ATTRS, TIME_ATTRS, TIME_KEY_ATTRS, with_time_bounds

EDGE_ATTRS = {
    "box_lat": {"standard_name": "latitude", "long_name": "southern edge of the box",
                "units": "degrees_north"},
    "box_lat_max": {"standard_name": "latitude", "long_name": "northern edge of the box",
                    "units": "degrees_north"},
    "box_lon": {"standard_name": "longitude", "long_name": "western edge of the box",
                "units": "degrees_east"},
    "box_lon_max": {"standard_name": "longitude",
                    "long_name": "eastern edge of the box (may exceed 360)", "units": "degrees_east"},
    "box_land_fraction": {"long_name": "land area / box area", "units": "1"},
}


COORDINATE_ATTRS = {"time": TIME_ATTRS, "time_key": TIME_KEY_ATTRS, "season": SEASON_ATTRS}


def targets_dataset(targets: xr.DataArray, lat_max: Sequence[float], lon_max: Sequence[float],
                    seasons: Sequence[str]) -> xr.Dataset:
    targets = targets.assign_coords(box_lat_max=("box", list(lat_max)),
                                    box_lon_max=("box", list(lon_max)))
    for name, attrs in EDGE_ATTRS.items():
        targets[name].attrs = dict(attrs)
    # CF standard-name table v93 has air_temperature_anomaly (TREFHT is CESM's 2-m air temperature).
    targets.attrs = {**targets.attrs, "standard_name": "air_temperature_anomaly"}
    targets["box"].attrs = {"long_name": "target land box (lower-left corner)", **targets["box"].attrs}
    for name, attrs in COORDINATE_ATTRS.items():
        if name in targets.coords:
            targets[name].attrs = {**attrs, **targets[name].attrs}
    # One series per box: CF puts dimensions other than space and time first (box, time).
    dataset = targets.transpose("box", "time").to_dataset()
    span = season_span(dataset)
    if span is not None:
        dataset = with_time_bounds(dataset, *span)
    dataset.attrs = {
        "title": "Seasonal 2-m air temperature anomalies of the target land boxes",
        "seasons": ",".join(s.upper() for s in seasons),
        # the training period the climatology and drift were fitted on
        **{key: value for key, value in targets.attrs.items()
           if key in ("climatology_period", "climatology_train_fraction")},
    }
    return dataset


def write_targets(dataset: xr.Dataset, path: str | os.PathLike, boxes_path: str | os.PathLike,
                  land_threshold: float, config: dict[str, Any] | None,
                  inputs: dict[str, str]) -> list[str]:
    write_netcdf_atomic(dataset, path, config=config, inputs=inputs)
    boxes = [str(box) for box in dataset["box"].values]
    write_json_atomic(boxes_path, {
        "boxes": boxes,
        "land_threshold": float(land_threshold),
        "land_fraction": {
            box: round(float(f), 4)
            for box, f in zip(boxes, dataset["box_land_fraction"].values, strict=True)
        },
    })
    return boxes


def read_boxes(path: str | os.PathLike) -> list[str]:
    return json.loads(Path(path).read_text())["boxes"]


def read_box_targets(path: str | os.PathLike, box: str) -> tuple[xr.DataArray, list[str]]:
    """One box's anomaly series ``(time, box)`` and the seasons the file was made of."""
    with open_product(path) as dataset:
        targets = dataset["trefht_box_anomaly"].load()
        seasons = dataset.attrs.get("seasons", "DJF,MAM,JJA,SON").split(",")
    known = [str(b) for b in targets["box"].values]
    if box not in known:
        raise GeoxaiError(
            f"target box {box!r} is not among the land boxes of {path} "
            f"({', '.join(known)}): choose lst.explain_targets from these, or change lst.targets"
        )
    return targets.sel(box=[box]).transpose("time", "box"), seasons


def read_box_edges(path: str | os.PathLike, boxes: Sequence[str]) -> tuple[list[str], xr.Dataset]:
    """The boxes of ``boxes`` that the file has, in its order, with their edges and land fraction."""
    with open_product(path) as targets:
        kept = [str(b) for b in targets["box"].values if str(b) in boxes]
        edges = targets[list(EDGE_ATTRS)]
        edges = edges.reset_coords()[list(edges.coords)].sel(box=kept).load()
    return kept, edges
