"""The samples a network sees: labelled anomaly maps, flattened to vectors, with their split.

Joins an anomaly file (``sst_anomaly(time, lat, lon)`` + ``time_key``) with a label table by month
key. Both applications produce these two files, so everything after this point is shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geoxai.core.errors import GeoxaiError
from geoxai.core.grid import LAT_ATTRS, LON_ATTRS
from geoxai.products.anomalies import open_anomalies
from geoxai.products.labels import read_label_table


@dataclass
class Samples:
    inputs: np.ndarray  # (n, lat*lon) float32, land = 0
    labels: np.ndarray  # (n,) int
    split: np.ndarray  # (n,) "train" / "validation"
    time: np.ndarray  # (n,) "YYYY-MM"
    dates: np.ndarray  # (n,) the anomaly file's time of each sample (datetime64 or cftime)
    index: np.ndarray  # (n,) the index value behind each label
    lat: np.ndarray
    lon: np.ndarray
    ocean_mask: np.ndarray  # (lat, lon) 1 ocean, 0 land

    @property
    def n_features(self) -> int:
        return self.inputs.shape[1]

    def where(self, selected: np.ndarray) -> Samples:
        return Samples(
            self.inputs[selected], self.labels[selected], self.split[selected], self.time[selected],
            self.dates[selected], self.index[selected], self.lat, self.lon, self.ocean_mask,
        )

    def in_split(self, split: str) -> Samples:
        return self.where(self.split == split)

    def to_maps(self, flat: np.ndarray) -> np.ndarray:
        """(..., lat*lon) → (..., lat, lon)."""
        return flat.reshape(*flat.shape[:-1], self.lat.size, self.lon.size)

    def map_coords(self) -> dict[str, tuple[str, np.ndarray, dict]]:
        return {
            "lat": ("lat", self.lat, LAT_ATTRS),
            "lon": ("lon", self.lon, LON_ATTRS),
        }


def load_samples(anomalies_path: str | Path, labels_path: str | Path) -> Samples:
    """The labelled samples, in the label table's (chronological) order."""
    anomalies = open_anomalies(anomalies_path)
    table = read_label_table(labels_path)
    keys = anomalies["time_key"].values.astype(str)
    position = {key: i for i, key in enumerate(keys)}
    missing = [t for t in table["time"] if t not in position]
    if missing:
        raise GeoxaiError(
            f"label table {labels_path} has {len(missing)} month(s) without SST anomalies in "
            f"{anomalies_path} (first: {missing[0]}): rerun the labels rule after the anomalies rule"
        )
    rows = np.array([position[t] for t in table["time"]])
    maps = anomalies["sst_anomaly"].values[rows]
    return Samples(
        inputs=maps.reshape(len(rows), -1).astype(np.float32),
        labels=table["label"].to_numpy(dtype=int),
        split=table["split"].to_numpy(dtype=str),
        time=table["time"].to_numpy(dtype=str),
        dates=anomalies["time"].values[rows],
        index=table["index"].to_numpy(dtype=float),
        lat=anomalies["lat"].values,
        lon=anomalies["lon"].values,
        ocean_mask=anomalies["ocean_mask"].values.astype(np.int8),
    )
