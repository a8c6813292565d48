"""Seasonal means and anomalies of monthly model output.

Application 2 (docs/science.md) predicts the sign of next season's 2-m temperature anomaly in land boxes
from this season's SST anomalies. Its first two steps, each a function here:

1. :func:`seasonal_means`: 3-month means weighted by the days in each month (so DJF of a noleap
   year is (31 Dec + 31 Jan + 28 Feb) days long, December taken from the previous year); only
   complete seasons are kept. A season is keyed by its middle month: DJF 0401 is "0401-01".
2. :func:`seasonal_anomalies`: per season of the year, the run's climatology and the model drift
   are removed. A control run has no forcing but drifts slowly as its deep ocean adjusts; the
   default removes a least-squares line per grid cell and season (``drift="linear"``), which with
   its intercept also removes the climatology. ``drift="running_mean"`` instead subtracts a
   centred running mean over ``window_years`` of the same season (for drift that is not a
   straight line; the first and last half-windows use the years available); ``drift="none"``
   removes the climatology only. Climatology and drift are fitted on the training period only
   (the first ``train_fraction`` of the seasons, as the labels' chronological split) and
   applied to the whole record; the outputs record that period (``climatology_period``).

The land-box targets and lead labels that follow are :mod:`geoxai.lst.boxes`.

:func:`sst_anomaly_dataset` puts SST anomalies in the format of the ENSO ``anomalies.nc``
(``sst_anomaly`` float32 with land exactly 0, ``ocean_mask`` int8, lat ascending, lon 0..360,
``time`` + ``time_key``), so the same train and explain rules serve both applications.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.months import add_months, month_index, month_key, month_keys
from geoxai.learn.labels import chronological_split
from geoxai.lst.regrid import regrid_to_regular
from geoxai.products.anomalies import anomaly_dataset

STANDARD_SEASONS = ("DJF", "MAM", "JJA", "SON")
DRIFT_METHODS = ("linear", "running_mean", "none")
MONTH_INITIALS = "JFMAMJJASOND"


def parse_season(season: str) -> tuple[int, int]:
    """First calendar month (1..12) and length of a season named by month initials, e.g. DJF."""
    name = season.upper()
    doubled = MONTH_INITIALS * 2
    start = doubled.find(name)
    if not name or start < 0 or len(name) > 12:
        raise GeoxaiError(
            f"season {season!r} is not a run of consecutive month initials "
            "(e.g. DJF, MAM, JJA, SON)"
        )
    return start % 12 + 1, len(name)


def season_span(data: xr.Dataset | xr.DataArray) -> tuple[list[str], list[str]] | None:
    """First and last month ("YYYY-MM") of every seasonal mean of ``data``, from its key (the
    middle month, as :func:`seasonal_means` stamps it) and its season's name: the CF time
    bounds. None without the season names: then the months averaged are unknown."""
    if "season" not in data.coords:
        return None
    time_key, season = data["time_key"].values, data["season"].values
    first = [add_months(str(key), -(parse_season(str(name))[1] // 2))
             for key, name in zip(time_key, season, strict=True)]
    last = [add_months(start, parse_season(str(name))[1] - 1)
            for start, name in zip(first, season, strict=True)]
    return first, last


def _absolute_months(da: xr.DataArray) -> np.ndarray:
    """Months since year 0 of every time step, from ``time_key`` when present (authoritative)."""
    keys = da["time_key"].values if "time_key" in da.coords else month_keys(da["time"])
    return np.array([month_index(key) for key in keys])


def seasonal_means(da: xr.DataArray, seasons: Sequence[str] = STANDARD_SEASONS) -> xr.DataArray:
    """Day-weighted 3-month (or any-length) seasonal means of a monthly series; complete seasons.

    Works for cftime (noleap, 360_day, ...) and standard calendars. The result's ``time`` is the
    time stamp of each season's middle month, with coordinates ``time_key`` (the middle month,
    "YYYY-MM") and ``season`` (its name); seasons are in chronological order. A missing value in
    any month of a season makes that season's mean missing at that point (land stays NaN).
    """
    absolute = _absolute_months(da)
    if len(np.unique(absolute)) != absolute.size:
        raise GeoxaiError("the monthly series has repeated months: cannot form seasonal means")
    days = xr.DataArray(da["time"].dt.days_in_month.values.astype(np.float64), dims="time")
    position = {month: i for i, month in enumerate(absolute)}
    parts = []
    for season in seasons:
        start_month, length = parse_season(season)
        offset = (absolute % 12 - (start_month - 1)) % 12
        in_season = offset < length
        anchor = absolute - offset  # absolute month on which each month's season starts
        counts = pd.Series(anchor[in_season]).value_counts()
        complete = np.sort(counts.index[counts == length].to_numpy())
        if complete.size == 0:
            continue
        members = np.flatnonzero(in_season & np.isin(anchor, complete))
        subset = da.isel(time=members)
        weights = days.isel(time=members)
        label = xr.DataArray(anchor[members], dims="time", name="season_start")
        total = (subset * weights).groupby(label).sum(skipna=False)
        mean = total / weights.groupby(label).sum()
        middle = complete + length // 2
        stamps = da["time"].values[[position[m] for m in middle]]
        mean = mean.rename(season_start="time").assign_coords(
            time=("time", stamps),
            time_key=("time", [month_key(m) for m in middle]),
            season=("time", [season.upper()] * complete.size),
        )
        parts.append(mean)
    if not parts:
        raise GeoxaiError(
            f"the monthly series ({month_key(absolute.min())} .. {month_key(absolute.max())}) holds no "
            "complete "
            f"season of {list(seasons)}"
        )
    result = xr.concat(parts, dim="time") if len(parts) > 1 else parts[0]
    result = result.isel(time=np.argsort(result["time_key"].values, kind="stable"))
    result = result.transpose("time", *[d for d in da.dims if d != "time"])
    if np.issubdtype(da.dtype, np.floating):
        result = result.astype(da.dtype)
    result.attrs = {**da.attrs, "cell_methods": "time: mean",
                    "comment": "seasonal means, each month weighted by its days"}
    result.name = da.name
    return result


def training_period(keys: Sequence[str], train_fraction: float) -> np.ndarray:
    """True for the seasons the climatology and drift are fitted on: the first
    ``round(train_fraction * n)`` of the chronological record, as the labels' split
    (:func:`geoxai.learn.labels.chronological_split`); ``train_fraction=1`` is the whole record."""
    if not 0 < train_fraction <= 1:
        raise GeoxaiError(
            f"train_fraction={train_fraction} (config key lst.labels.train_fraction) must lie in "
            "(0, 1]"
        )
    fit = chronological_split(len(keys), train_fraction) == "train"
    if not fit.any():
        raise GeoxaiError(
            f"train_fraction={train_fraction} (config key lst.labels.train_fraction) leaves no "
            f"season of the {len(keys)} to fit the climatology on"
        )
    return fit


def _remove_drift_one_season(values: xr.DataArray, fit: np.ndarray, drift: str,
                             window_years: int) -> xr.DataArray:
    """Climatology and drift fitted on the seasons where ``fit`` (a chronological prefix) holds,
    removed from all of them."""
    training = values.isel(time=np.flatnonzero(fit))
    later = int((~fit).sum())
    if drift == "running_mean":
        background = training.rolling(
            time=window_years, center=True, min_periods=window_years // 2 + 1
        ).mean()
        axis = values.dims.index("time")
        background = background.transpose(*values.dims).values
        if later:
            # After the training period the background stays at the mean of its last window.
            last = training.isel(time=slice(-window_years, None)).mean("time")
            last = np.expand_dims(last.transpose(*[d for d in values.dims if d != "time"]).values,
                                  axis)
            background = np.concatenate([background, np.repeat(last, later, axis=axis)], axis=axis)
        return values - values.copy(data=background)
    anomalies = values - training.mean("time")
    if drift == "none" or training.sizes["time"] < 3:
        return anomalies
    # Not enso.anomalies.remove_linear_trend, though both fit a least-squares line: a series with
    # a gap is NaN here (skipna=False) where that one fits the samples it has, and it keeps float32.
    years = np.array([int(key[:4]) for key in values["time_key"].values], dtype=np.float64)
    centred = xr.DataArray(years - years[fit].mean(), dims="time")
    centred_fit = centred.isel(time=np.flatnonzero(fit))
    slope = (anomalies.isel(time=np.flatnonzero(fit)) * centred_fit).sum(
        "time", skipna=False
    ) / float((centred_fit**2).sum())
    return anomalies - slope * centred


def seasonal_anomalies(
    seasonal: xr.DataArray,
    drift: str = "linear",
    window_years: int = 30,
    fill_missing: float | None = None,
    train_fraction: float = 0.8,
) -> xr.DataArray:
    """Anomalies of seasonal means from :func:`seasonal_means`: per season of the year and grid
    cell, the climatology of the run and the drift are removed (module docstring for ``drift``).

    Both are fitted on the training period only, the first ``train_fraction`` of the seasons
    (:func:`training_period`, the same fraction the labels' chronological split trains on), and
    applied to the whole record, so nothing of the validation years enters the anomalies of
    the training years or the baseline of their own. ``fill_missing=0.0`` sets missing cells
    (land, for SST) to exactly 0.
    """
    if drift not in DRIFT_METHODS:
        raise GeoxaiError(f"drift={drift!r}: use one of {', '.join(DRIFT_METHODS)}")
    if "season" not in seasonal.coords or "time_key" not in seasonal.coords:
        raise GeoxaiError(
            "seasonal_anomalies needs the output of seasonal_means (season and time_key)"
        )
    if drift == "running_mean" and window_years < 2:
        raise GeoxaiError(f"window_years={window_years}: a running mean needs at least 2 years")
    keys = [str(k) for k in seasonal["time_key"].values]
    fit = training_period(keys, train_fraction)
    parts = []
    for season in pd.unique(seasonal["season"].values):
        members = np.flatnonzero(seasonal["season"].values == season)
        parts.append(_remove_drift_one_season(seasonal.isel(time=members), fit[members], drift,
                                              window_years))
    anomalies = xr.concat(parts, dim="time") if len(parts) > 1 else parts[0]
    anomalies = anomalies.isel(time=np.argsort(anomalies["time_key"].values, kind="stable"))
    if fill_missing is not None:
        anomalies = anomalies.fillna(fill_missing)
    anomalies = anomalies.astype(seasonal.dtype).transpose(*seasonal.dims)
    description = {
        "linear": "linear drift per grid cell and season removed",
        "running_mean": (
            f"{window_years}-year centred running mean per grid cell and season removed (after "
            "the fitting period, the mean of its last window)"
        ),
        "none": "no drift removed",
    }[drift]
    anomalies.attrs = {
        **{k: v for k, v in seasonal.attrs.items() if k not in {"standard_name", "long_name"}},
        "long_name": f"seasonal anomaly of {seasonal.attrs.get('long_name', seasonal.name)}",
        "comment": "climatology of the run per season removed; "
        + description
        + "; "
        + fitting_comment(keys, fit)
        + ("; missing cells set to exactly 0" if fill_missing == 0 else ""),
        "drift_removal": drift,
        **fitting_attrs(keys, fit, train_fraction),
    }
    if seasonal.attrs.get("units") in {"degC", "K", "deg_C", "degK"}:
        anomalies.attrs["units"] = "K"
    return anomalies


#: The attributes that record the fitting period, carried to the output files.
FITTING_ATTRS = ("climatology_period", "climatology_train_fraction")


def fitting_attrs(keys: Sequence[str], fit: np.ndarray, train_fraction: float) -> dict:
    fitted = [k for k, f in zip(keys, fit, strict=True) if f]
    return {"climatology_period": f"{fitted[0]} .. {fitted[-1]}",
            "climatology_train_fraction": float(train_fraction)}


def fitting_comment(keys: Sequence[str], fit: np.ndarray) -> str:
    fitted = [k for k, f in zip(keys, fit, strict=True) if f]
    return (f"climatology and drift fitted on the first {len(fitted)} of {len(keys)} seasons "
            f"({fitted[0]} .. {fitted[-1]}, the training period; lst.labels.train_fraction) and "
            "applied to the whole record")


def normalize_lon(lon: np.ndarray) -> np.ndarray:
    return np.mod(np.asarray(lon, dtype=np.float64), 360.0)


def sst_anomaly_dataset(anomalies: xr.DataArray) -> xr.Dataset:
    """The ENSO ``anomalies.nc`` layout: ``sst_anomaly(time, lat, lon)`` float32, land exactly 0,
    ``ocean_mask(lat, lon)`` int8 (1 where the cell has a value at every time), ``time_key``."""
    if set(anomalies.dims) != {"time", "lat", "lon"} or "time_key" not in anomalies.coords:
        raise GeoxaiError(
            "SST anomalies need dims (time, lat, lon) and a time_key coordinate; got "
            f"{anomalies.dims}"
        )
    anomalies = anomalies.transpose("time", "lat", "lon")
    if anomalies["lat"].values[0] > anomalies["lat"].values[-1]:
        anomalies = anomalies.isel(lat=slice(None, None, -1))
    anomalies = anomalies.assign_coords(lon=normalize_lon(anomalies["lon"].values)).sortby("lon")
    anomalies = anomalies.drop_vars(
        [c for c in anomalies.coords if c not in {"time", "time_key", "season", "lat", "lon"}]
    )
    ocean = (anomalies.notnull().all("time") & (anomalies != 0).any("time")).astype("int8")
    return anomaly_dataset(
        anomalies,
        ocean.compute(),
        long_name="sea surface temperature seasonal anomaly",
        cell_methods="time: mean",
        comment="; ".join(part for part in ("seasonal means, each month weighted by its days",
                                            anomalies.attrs.get("comment", "")) if part),
        variable_attrs={key: anomalies.attrs[key]
                        for key in ("regrid_method", "drift_removal", *FITTING_ATTRS)
                        if key in anomalies.attrs},
        title="Seasonal SST anomalies",
        time_span=season_span(anomalies),
    )


def prepare_sst_anomalies(
    sst: xr.DataArray,
    degrees: float = 2.0,
    seasons: Sequence[str] = STANDARD_SEASONS,
    drift: str = "linear",
    window_years: int = 30,
    lat2d: xr.DataArray | None = None,
    lon2d: xr.DataArray | None = None,
    cell_area: xr.DataArray | None = None,
    train_fraction: float = 0.8,
) -> xr.Dataset:
    """Monthly POP SST (``nlat``/``nlon`` with ``TLAT``/``TLONG``[/``TAREA``] coordinates, or the
    arrays given explicitly) → the seasonal anomaly dataset of :func:`sst_anomaly_dataset`.

    Seasonal means are formed lazily on the native grid (a third of the months to regrid),
    regridded with :func:`geoxai.lst.regrid.regrid_to_regular` and loaded; then climatology and drift,
    fitted on the first ``train_fraction`` of the seasons, are removed.
    """
    lat2d = lat2d if lat2d is not None else sst.coords.get("TLAT")
    lon2d = lon2d if lon2d is not None else sst.coords.get("TLONG")
    cell_area = cell_area if cell_area is not None else sst.coords.get("TAREA")
    if lat2d is None or lon2d is None:
        raise GeoxaiError(
            "the SST field has no TLAT/TLONG coordinates: fetch it with its grid (grid_store) or "
            "pass lat2d/lon2d"
        )
    means = seasonal_means(sst, seasons)
    # The regridded seasonal means are small (e.g. 7,200 seasons x 2 degrees = 0.5 GB): hold them
    # in memory once rather than recompute the whole chain for the mask and again for the values.
    regridded = regrid_to_regular(means, lat2d, lon2d, degrees, cell_area).compute()
    anomalies = seasonal_anomalies(regridded, drift, window_years, train_fraction=train_fraction)
    dataset = sst_anomaly_dataset(anomalies)
    dataset.attrs.update(
        {
            "regrid": regridded.attrs["regrid_method"],
            "seasons": ",".join(s.upper() for s in seasons),
            "drift_removal": drift
            if drift != "running_mean"
            else f"running_mean ({window_years} years)",
            **{key: anomalies.attrs[key] for key in FITTING_ATTRS},
        }
    )
    return dataset


def season_length(seasons: Sequence[str]) -> int:
    """Months per season; the lead is counted in seasons, so all seasons must be equally long."""
    lengths = {parse_season(season)[1] for season in seasons}
    if len(lengths) != 1:
        raise GeoxaiError(
            f"config key lst.anomalies.seasons={list(seasons)}: all seasons must have the same "
            "number of months (the lead is counted in seasons)"
        )
    return lengths.pop()
