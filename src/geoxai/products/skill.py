"""Application 2's ``skill.nc``: validation accuracy per box and seed beside persistence and chance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from geoxai.core.grid import LAT_ATTRS, LON_ATTRS
from geoxai.learn.metrics import SEED_STATISTICS
from geoxai.products.targets import EDGE_ATTRS

ONE = {"units": "1"}


def _over_seeds(name: str, values: np.ndarray, statistics: Sequence[str]) -> dict:
    variables = {}
    for statistic in statistics:
        label, reduce, word, method = SEED_STATISTICS[statistic]
        variables[f"{name}_{label}"] = (
            ("box",), reduce(values, 1).astype(np.float32),
            {**ONE, "long_name": f"{word} {name.replace('_', ' ')} over seeds",
             "cell_methods": f"seed: {method}"},
        )
    return variables


def skill_dataset(boxes: Sequence[str], seeds: Sequence[int], accuracy: np.ndarray,
                  train: np.ndarray, per_box: Mapping[str, np.ndarray],
                  edges: xr.Dataset) -> xr.Dataset:
    """``per_box``: persistence_accuracy, validation_samples, warm_fraction_validation."""
    box_dim = ("box",)
    return xr.Dataset(
        {
            "validation_accuracy": (("box", "seed"), accuracy.astype(np.float32),
                                    {**ONE, "long_name": "validation accuracy of each network (seed)"}),
            **_over_seeds("validation_accuracy", accuracy, ("median", "min", "max")),
            **_over_seeds("train_accuracy", train, ("median",)),
            "persistence_accuracy": (box_dim, per_box["persistence_accuracy"].astype(np.float32), {
                **ONE, "long_name": "validation accuracy of persistence (this season's sign carried "
                "forward)"}),
            "validation_samples": (box_dim, per_box["validation_samples"].astype(np.int32),
                                   {**ONE, "long_name": "number of validation samples"}),
            "warm_fraction_validation": (
                box_dim, per_box["warm_fraction_validation"].astype(np.float32),
                {**ONE, "long_name": "fraction of validation samples labelled warm (class 1)"}),
            "chance_accuracy": ((), np.float32(0.5),
                                {**ONE, "long_name": "accuracy of a random guess between two classes"}),
        },
        coords={
            "box": ("box", list(boxes), {"long_name": "target box (lower-left corner)"}),
            "seed": ("seed", np.array(seeds, np.int32), {"long_name": "random seed"}),
            "lat": ("box", 0.5 * (edges["box_lat"].values + edges["box_lat_max"].values),
                    {**LAT_ATTRS, "long_name": "box centre latitude"}),
            "lon": ("box", 0.5 * (edges["box_lon"].values + edges["box_lon_max"].values),
                    {**LON_ATTRS, "long_name": "box centre longitude"}),
            **{name: ("box", edges[name].values, {"units": attrs["units"]})
               for name, attrs in EDGE_ATTRS.items()},
        },
        attrs={
            "title": "Skill of next-season 2-m temperature sign per land box",
            "comment": "validation = the last part of the record (chronological split)",
        },
    )
