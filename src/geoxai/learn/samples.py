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
    rows = np.array([position[t] for t in table["time"]], dtype=np.int64)
    return Samples(
        inputs=_labelled_maps(anomalies["sst_anomaly"], rows).reshape(len(rows), -1),
        labels=table["label"].to_numpy(dtype=int),
        split=table["split"].to_numpy(dtype=str),
        time=table["time"].to_numpy(dtype=str),
        dates=anomalies["time"].values[rows],
        index=table["index"].to_numpy(dtype=float),
        lat=anomalies["lat"].values,
        lon=anomalies["lon"].values,
        ocean_mask=anomalies["ocean_mask"].values.astype(np.int8),
    )


def _labelled_maps(field, rows: np.ndarray) -> np.ndarray:
    """``field[rows]`` as float32, read one storage chunk of latitudes at a time.

    The anomaly files store all months of a band of latitudes in one chunk: reading the whole
    record and then picking the labelled months held both in memory (twice the labelled maps
    at 1°, every page of it freshly touched), while indexing the file by month directly makes
    HDF5 decompress each chunk once per month.
    """
    n_lat, n_lon = field.sizes["lat"], field.sizes["lon"]
    band = (field.encoding.get("chunksizes") or (None, n_lat))[1] or n_lat
    maps = np.empty((len(rows), n_lat, n_lon), dtype=np.float32)
    for first in range(0, n_lat, band):
        lats = slice(first, first + band)
        np.take(field[:, lats].values, rows, axis=0, out=maps[:, lats])
    return maps


def load_grid(anomalies_path: str | Path) -> Samples:
    """No samples, only the grid of ``anomalies_path`` (its maps are not read): for a job that
    needs the network's input layout but no anomaly map."""
    anomalies = open_anomalies(anomalies_path)
    lat, lon = anomalies["lat"].values, anomalies["lon"].values
    empty = np.zeros(0)
    return Samples(
        inputs=np.zeros((0, lat.size * lon.size), dtype=np.float32), labels=empty.astype(int),
        split=empty.astype(str), time=empty.astype(str), dates=empty.astype("datetime64[ns]"),
        index=empty, lat=lat, lon=lon,
        ocean_mask=anomalies["ocean_mask"].values.astype(np.int8),
    )
