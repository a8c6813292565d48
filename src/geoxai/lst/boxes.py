"""Application 2's land boxes: the 2-m temperature anomaly per land box, and the label tables.

1. :func:`land_box_targets`: area- and land-weighted mean 2-m temperature anomaly per land box.
2. :func:`lead_labels`: per box, the label table that training reads (same columns as the ENSO
   labels), with the box anomaly ``lead`` seasons after each SST season.
3. :func:`prepare_land_targets`: monthly TREFHT to seasonal land-box anomalies, box means first.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.months import add_months
from geoxai.learn.labels import chronological_split
from geoxai.lst.seasonal import (
    FITTING_ATTRS,
    STANDARD_SEASONS,
    normalize_lon,
    seasonal_anomalies,
    seasonal_means,
)

DEFAULT_BOX_LATS = tuple(range(20, 71, 10))
DEFAULT_BOX_LONS = tuple(range(190, 301, 10))


def _edge_label(value: float) -> str:
    return f"{value:g}"


def box_id(lat_low: float, lon_low: float) -> str:
    """Identifier of a box by its lower-left corner, e.g. "lat40_lon260"."""
    return f"lat{_edge_label(lat_low)}_lon{_edge_label(float(np.mod(lon_low, 360.0)))}"


def _in_lon_range(lon: np.ndarray, low: float, high: float) -> np.ndarray:
    low, high = np.mod(low, 360.0), np.mod(high, 360.0)
    if high <= low:  # the box crosses 0/360 (or spans the globe)
        return (lon >= low) | (lon < high)
    return (lon >= low) & (lon < high)


def land_box_targets(
    trefht_anomaly: xr.DataArray,
    land: xr.DataArray,
    lat_edges: Sequence[float] = DEFAULT_BOX_LATS,
    lon_edges: Sequence[float] = DEFAULT_BOX_LONS,
    land_threshold: float = 0.5,
) -> xr.DataArray:
    """Mean 2-m temperature anomaly over the land of each box: ``(time, box)``.

    ``trefht_anomaly(time, lat, lon)`` on a regular grid; ``land(lat, lon)`` the land fraction
    (CAM ``LANDFRAC``, 0..1) or a 0/1 land mask. A grid cell counts with weight cos(lat) x land
    fraction (its land area), so the mean is over land area. Grid cells belong to the box that holds
    their centre (lower and left edges inclusive). Boxes whose land fraction (land area / box
    area) is below ``land_threshold`` are dropped. Box ids name the lower-left corner
    ("lat40_lon260"), with coordinates ``box_lat``, ``box_lon`` and ``box_land_fraction``.
    """
    for name in ("lat", "lon"):
        if name not in trefht_anomaly.dims or name not in land.dims:
            raise GeoxaiError(
                f"land_box_targets needs 'lat' and 'lon' dimensions on both the anomalies "
                f"{trefht_anomaly.dims} and the land field {land.dims}"
            )
    land = land.astype(np.float64)
    if float(land.max()) > 1.0 + 1e-6 or float(land.min()) < -1e-6:
        raise GeoxaiError(
            f"the land field ranges {float(land.min()):g}..{float(land.max()):g}: give a land "
            "fraction (0..1, e.g. LANDFRAC) or a 0/1 land mask"
        )
    land = land.reindex_like(
        trefht_anomaly[{"time": 0}].drop_vars("time", errors="ignore"),
        method="nearest",
        tolerance=1e-3,
    )
    if bool(land.isnull().any()):
        raise GeoxaiError("the land fraction is not on the grid of the 2-m temperature anomalies")
    lat = trefht_anomaly["lat"].values.astype(np.float64)
    lon = normalize_lon(trefht_anomaly["lon"].values)
    cell_area = np.cos(np.deg2rad(lat))[:, None] * np.ones(lon.size)[None, :]
    land_area = cell_area * land.transpose("lat", "lon").values
    lat_edges, lon_edges = list(map(float, lat_edges)), list(map(float, lon_edges))
    weights, ids, box_lats, box_lons, fractions = [], [], [], [], []
    for lat_low, lat_high in itertools.pairwise(lat_edges):
        for lon_low, lon_high in itertools.pairwise(lon_edges):
            inside = ((lat >= lat_low) & (lat < lat_high))[:, None] & _in_lon_range(
                lon, lon_low, lon_high
            )[None, :]
            if not inside.any():
                continue
            fraction = land_area[inside].sum() / cell_area[inside].sum()
            if fraction < land_threshold or fraction <= 0:
                continue
            weights.append(np.where(inside, land_area, 0.0) / land_area[inside].sum())
            ids.append(box_id(lat_low, lon_low))
            box_lats.append(lat_low)
            box_lons.append(float(np.mod(lon_low, 360.0)))
            fractions.append(fraction)
    if not ids:
        raise GeoxaiError(
            f"no target box has a land fraction >= {land_threshold}: lower the land threshold or "
            "check the box edges and the land fraction field"
        )
    weight = xr.DataArray(
        np.stack(weights),
        dims=("box", "lat", "lon"),
        coords={"lat": trefht_anomaly["lat"], "lon": trefht_anomaly["lon"]},
    )
    targets = xr.dot(trefht_anomaly.fillna(0.0), weight, dim=("lat", "lon"))
    targets = targets.assign_coords(
        box=("box", ids),
        box_lat=("box", box_lats),
        box_lon=("box", box_lons),
        box_land_fraction=("box", fractions),
    ).transpose("time", "box")
    targets.name = "trefht_box_anomaly"
    targets.attrs = {
        "long_name": "land-area mean 2-m air temperature anomaly per target box",
        "units": trefht_anomaly.attrs.get("units", "K"),
        # seasonal means first, then the box means (CF 7.3: in the order applied)
        "cell_methods": "time: mean area: mean where land",
        "box_definition": "box id names the lower-left corner; boxes of the given lat/lon edges",
        "land_threshold": land_threshold,
    }
    return targets


def lead_labels(
    targets: xr.DataArray, lead: int = 1, train_fraction: float = 0.8, season_months: int = 3
) -> dict[str, pd.DataFrame]:
    """Per box, the label table for predicting the box anomaly ``lead`` seasons ahead.

    One row per SST season that has a target season ``lead * season_months`` months later:
    ``time`` (the SST season's key), ``index`` (the box anomaly at the target season), ``label``
    (1 if index > 0 else 0), ``split`` (chronological, first ``train_fraction`` "train", the rest
    "validation") and ``persistence`` (1 if the box anomaly of the SST season itself is > 0: the
    baseline that carries the current sign forward).
    """
    if lead < 1:
        raise GeoxaiError(f"lead={lead}: the target must lie at least one season after the SST")
    if not 0 < train_fraction < 1:
        raise GeoxaiError(f"train_fraction={train_fraction} must lie in (0, 1)")
    keys = [str(k) for k in targets["time_key"].values]
    tables: dict[str, pd.DataFrame] = {}
    for box in targets["box"].values:
        series = pd.Series(targets.sel(box=box).values.astype(np.float64), index=keys)
        later = series.reindex([add_months(k, lead * season_months) for k in keys]).to_numpy()
        keep = np.isfinite(later) & np.isfinite(series.to_numpy())
        table = pd.DataFrame(
            {
                "time": np.array(keys)[keep],
                "index": later[keep],
                "label": (later[keep] > 0).astype(int),
            }
        )
        if table.empty:
            raise GeoxaiError(
                f"box {box}: no season has a target {lead} season(s) later; the targets cover "
                f"{keys[0]} .. {keys[-1]}"
            )
        table["split"] = chronological_split(len(table), train_fraction)
        table["persistence"] = (series.to_numpy()[keep] > 0).astype(int)
        tables[str(box)] = table
    return tables


def prepare_land_targets(
    trefht: xr.DataArray,
    land: xr.DataArray,
    lat_edges: Sequence[float] = DEFAULT_BOX_LATS,
    lon_edges: Sequence[float] = DEFAULT_BOX_LONS,
    land_threshold: float = 0.5,
    seasons: Sequence[str] = STANDARD_SEASONS,
    drift: str = "linear",
    window_years: int = 30,
    train_fraction: float = 0.8,
) -> xr.DataArray:
    """Monthly TREFHT (time, lat, lon) → seasonal land-box anomalies ``(time, box)``.

    Box means are taken of the seasonal means first and the anomalies formed per box afterwards:
    climatology and drift removal are linear with the same weights at every time, so this equals
    :func:`land_box_targets` of :func:`seasonal_anomalies` (the tests check it) while only the
    small ``(time, box)`` table is ever held in memory. Climatology and drift are fitted on the
    first ``train_fraction`` of the seasons (the training period) and applied to all of them.
    """
    box_means = land_box_targets(
        seasonal_means(trefht, seasons), land, lat_edges, lon_edges, land_threshold
    ).compute()
    attrs = dict(box_means.attrs)
    targets = seasonal_anomalies(box_means, drift, window_years, train_fraction=train_fraction)
    targets.attrs = {
        **attrs,
        "comment": "seasonal means; climatology of the run per season and box removed; "
        + targets.attrs["comment"].split("; ", 1)[1],
        "drift_removal": drift,
        **{key: targets.attrs[key] for key in FITTING_ATTRS},
    }
    targets.name = "trefht_box_anomaly"
    return targets


def box_widths(edges: Sequence[float], wrap: bool) -> dict[float, float]:
    """Width of each box along one axis, keyed by its lower edge (longitudes wrapped to 0..360)."""
    values = [float(e) for e in edges]
    return {
        float(np.mod(low, 360.0)) if wrap else low: high - low
        for low, high in itertools.pairwise(values)
    }


def upper_edges(lows: Sequence[float], edges: Sequence[float], wrap: bool) -> list[float]:
    """The upper edge of each box along one axis, from its lower edge and the configured edges."""
    width = box_widths(edges, wrap)
    return [v + width[float(v)] for v in lows]
