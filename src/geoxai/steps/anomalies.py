"""Rules of anomalies.smk: each front end's ``anomalies.nc``."""

from __future__ import annotations

from typing import Any

import xarray as xr

from geoxai.core import provenance
from geoxai.lst.settings import LstLabelSettings


def enso_anomalies(sst: str, anomalies: str, sst_spec: dict[str, Any], settings: dict[str, Any],
                   config: dict[str, Any] | None = None) -> None:
    """SST anomalies of a gridded file of monthly, seasonal or annual means (lazy, block by block)
    to NetCDF; the months each sample covers, when known, go along for the labels."""
    from geoxai.core.scheduler import dask_config
    from geoxai.enso.anomalies import SECTION as ANOMALY_SECTION
    from geoxai.enso.anomalies import AnomalySettings, compute_anomalies
    from geoxai.enso.sources import SECTION, SSTFileSpec, open_sst
    from geoxai.products.anomalies import write_anomalies

    spec = SSTFileSpec.from_config(sst_spec)
    anomaly_settings = AnomalySettings.from_config(settings)
    field = open_sst(sst, spec, lat_chunk=anomaly_settings.lat_chunk)
    dataset = compute_anomalies(field, anomaly_settings, is_anomaly=spec.is_anomaly,
                                source=provenance.describe_input(sst, f"{SECTION}.url"))
    with dask_config(anomaly_settings.dask_scheduler, ANOMALY_SECTION):
        write_anomalies(dataset, anomalies, config, {"sst": sst}, compress=anomaly_settings.compress)


def lst_anomalies(
    sst: str,
    anomalies: str,
    variable: str,
    settings: dict[str, Any],
    train_fraction: float = LstLabelSettings.train_fraction,
    config: dict[str, Any] | None = None,
) -> None:
    """Seasonal SST anomalies of the CESM run on a regular grid, land 0 (the ENSO file layout);
    climatology and drift fitted on the first ``train_fraction`` (lst.labels.train_fraction) of
    the seasons, the training period of the labels."""
    from geoxai.core.scheduler import dask_config
    from geoxai.lst.cesm import open_fetched_field
    from geoxai.lst.seasonal import prepare_sst_anomalies, season_length
    from geoxai.lst.settings import LstAnomalySettings
    from geoxai.products.anomalies import write_anomalies

    chosen = LstAnomalySettings.from_config(settings)
    field = open_fetched_field(sst, variable, "lst.sst.variable", chosen.time_chunk)
    seasons = tuple(chosen.seasons)
    season_length(seasons)
    lat2d = lon2d = None
    if "TLAT" not in field.coords and {"lat", "lon"} <= set(field.dims):
        # A field already on a regular grid (e.g. the atm TS store) is binned like POP cells.
        lat2d, lon2d = xr.broadcast(field["lat"], field["lon"])
        field = field.transpose(..., "lat", "lon")
    with dask_config(chosen.dask_scheduler, "lst.anomalies"):
        dataset = prepare_sst_anomalies(
            field,
            degrees=float(chosen.grid_degrees),
            seasons=seasons,
            drift=chosen.drift,
            window_years=int(chosen.window_years),
            lat2d=lat2d,
            lon2d=lon2d,
            train_fraction=float(train_fraction),
        )
    write_anomalies(dataset, anomalies, config, {"sst": sst}, compress=chosen.compress)
