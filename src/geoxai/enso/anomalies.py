"""SST anomalies: base-period climatology removed, linear trend removed, land set to zero.

Samples are monthly in the paper, but seasonal or annual means work the same way: the climatology
is taken per calendar month of the time stamp (one per season for seasonal means, a single one for
annual means), and a sample belongs to ``period`` or ``climatology`` when every month it averages
does (its stamp month when the file does not say which months those are).

The work is done per block of latitudes holding the whole time series (dask chunks of
``(time, lat_chunk, lon)``), because both the climatology and the trend need every sample of a
cell: memory is bounded by one block, not by the file. Inside a block the arithmetic is plain numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.months import COVERED, month_index, month_keys
from geoxai.core.settings import settings_from_section
from geoxai.products.anomalies import TIME_KEY_ATTRS, anomaly_dataset

#: Where these settings sit in the workflow config; error messages name keys by their full path.
SECTION = "enso.anomalies"

DEFAULT_PERIOD = ("1880-01", "2018-12")
DEFAULT_CLIMATOLOGY = ("1961-01", "1990-12")


@dataclass(frozen=True)
class AnomalySettings:
    period: tuple[str, str] = DEFAULT_PERIOD
    climatology: tuple[str, str] = DEFAULT_CLIMATOLOGY
    detrend: bool = True
    grid_degrees: float | None = None
    lat_chunk: int = 30
    dask_scheduler: str = "threads"
    compress: bool = False

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> AnomalySettings:
        return settings_from_section(cls, section, SECTION)


def sample_span(sst: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """First and last month key of every sample: its ``covered_months``, else its stamp month."""
    keys = month_keys(sst["time"])
    if COVERED not in sst.coords:
        return keys, keys
    spans = [str(span).partition("/") for span in sst[COVERED].values]
    return np.array([a for a, _, _ in spans]), np.array([b or a for a, _, b in spans])


def _months_between(first: np.ndarray, last: np.ndarray, start: str, end: str) -> np.ndarray:
    return (first >= start) & (last <= end)


def anomaly_block(
    values: np.ndarray, month_of_year: np.ndarray, in_base: np.ndarray | None, detrend: bool,
    steps: np.ndarray | None = None,
) -> np.ndarray:
    """Anomalies of one block ``(time, ...)``: climatology from ``in_base`` samples, then detrend.

    ``in_base=None`` means the values are anomalies already (only the trend is removed). Cells with
    any missing sample in the base period of a calendar month get NaN there; the caller turns NaN
    into the zeros the networks see. ``steps`` places the samples in time for the trend (default:
    evenly spaced). One float32 copy of the block becomes the result; every other temporary is
    one calendar month's samples or smaller.
    """
    anomalies = np.array(values, dtype=np.float32, order="C")
    # Only the calendar months that occur: an annual or seasonal file has no sample in the others.
    for month in np.unique(month_of_year) if in_base is not None else ():
        this_month = month_of_year == month
        climatology = anomalies[np.flatnonzero(this_month & in_base)].mean(axis=0)
        anomalies[np.flatnonzero(this_month)] -= climatology
    if detrend:
        remove_linear_trend(anomalies.reshape(values.shape[0], -1), steps)
    return anomalies


#: Samples per pass when the fitted lines are subtracted: temporaries of this many rows only.
TREND_ROWS = 128


def remove_linear_trend(series: np.ndarray, steps: np.ndarray | None = None) -> np.ndarray:
    """Subtract each column's least-squares line from ``(time, cells)``, in place; return it.

    ``steps`` are the sample times (any unit; default 0, 1, 2, ...): a record with missing years
    is fitted against the years it has. Complete columns share one centred time axis, so their
    slopes are a single matrix-vector product, and the lines are subtracted ``TREND_ROWS`` rows
    at a time: no temporary the size of the block. The few columns with gaps are fitted one by
    one on their valid samples; columns without any valid sample stay as they are.
    """
    if steps is None:
        steps = np.arange(series.shape[0], dtype=np.float32)
    steps = np.array(steps, dtype=np.float32)
    steps -= steps.mean()
    mean = series.mean(axis=0)
    complete = np.isfinite(mean)  # a column's mean is finite only when every sample is
    intercept = np.where(complete, mean, 0).astype(series.dtype)
    # Centred steps sum to zero, so steps @ (y - mean) = steps @ y: no centred copy needed.
    slope = np.where(complete, (steps @ series) / float(steps @ steps), 0).astype(series.dtype)
    for start in range(0, series.shape[0], TREND_ROWS):
        rows = series[start:start + TREND_ROWS]
        rows -= intercept
        rows -= steps[start:start + TREND_ROWS, None] * slope
    some_valid = np.isfinite(np.fmax.reduce(series, axis=0))  # fmax skips NaN: no mask of the block
    for column in np.flatnonzero(~complete & some_valid):
        values = series[:, column]
        valid = np.isfinite(values)
        if valid.sum() < 2:
            continue
        fit = np.polyfit(steps[valid], values[valid], 1)
        series[valid, column] -= np.polyval(fit, steps[valid]).astype(series.dtype)
    return series


def coarsen_to(sst: xr.DataArray, degrees: float) -> xr.DataArray:
    """Block-average a regular grid to ``degrees`` (an integer multiple of the input spacing).

    Averages are cos(latitude)-weighted over the ocean sub-cells; a coarse cell is ocean when at
    least half of its area is ocean.
    """
    spacing = float(np.abs(np.diff(sst["lat"].values)).mean())
    factor = degrees / spacing
    if abs(factor - round(factor)) > 1e-6 or round(factor) < 1:
        raise GeoxaiError(
            f"config key {SECTION}.grid_degrees={degrees} is not a multiple of the input grid spacing "
            f"({spacing:g} degrees)"
        )
    factor = round(factor)
    if factor == 1:
        return sst
    weights = np.cos(np.deg2rad(sst["lat"])).astype("float32")
    ocean = ocean_of(sst).astype(bool)
    weight_field = (weights * ocean).astype("float32")
    window = {"lat": factor, "lon": factor}
    weighted_sum = (sst.fillna(0) * weight_field).coarsen(window, boundary="trim").sum()
    ocean_weight = weight_field.coarsen(window, boundary="trim").sum()
    total_weight = (weights * xr.ones_like(ocean, dtype="float32")).coarsen(window, boundary="trim").sum()
    is_ocean = ocean_weight >= 0.5 * total_weight
    coarse = (weighted_sum / ocean_weight).where(is_ocean)
    coarse.attrs = sst.attrs
    return coarse.astype("float32").rename(sst.name).assign_coords(ocean_mask=is_ocean.astype("int8"))


def ocean_of(sst: xr.DataArray) -> xr.DataArray:
    """The ocean mask (lat, lon): the one :func:`~geoxai.enso.sources.open_sst` read, else the first month."""
    if "ocean_mask" in sst.coords:
        return sst["ocean_mask"]
    return sst.isel(time=0).notnull().astype("int8").compute()


def _sampling(first: np.ndarray, last: np.ndarray, stamps: np.ndarray, known: bool) -> str:
    """How long the samples are, in words, for the metadata."""
    if known:
        lengths = {month_index(b) - month_index(a) + 1 for a, b in zip(first, last)}
        if lengths == {1}:
            return "monthly"
        return f"{lengths.pop()}-month" if len(lengths) == 1 else "multi-month"
    steps = np.diff(stamps)
    return "monthly" if steps.size == 0 or np.median(steps) == 1 else "samples"


def compute_anomalies(
    sst: xr.DataArray, settings: AnomalySettings = AnomalySettings(), is_anomaly: bool = False,
    source: str = "the SST file",
) -> xr.Dataset:
    """Lazy anomaly dataset: ``sst_anomaly(time, lat, lon)`` (land 0) and ``ocean_mask(lat, lon)``.

    With ``is_anomaly`` the input already holds anomalies: no climatology is removed. A
    ``covered_months`` coordinate of ``sst`` decides which samples fall in the period and the
    climatology, and is carried into the result for the labels. ``source`` names the input in
    error messages.
    """
    keys = month_keys(sst["time"])
    first, last = sample_span(sst)
    known = COVERED in sst.coords
    whole = " (a sample counts when every month it averages lies in the period)" if known else ""
    in_period = _months_between(first, last, *settings.period)
    if not in_period.any():
        raise GeoxaiError(
            f"config key {SECTION}.period={list(settings.period)} selects no sample of {source}; its "
            f"samples cover {min(first)} .. {max(last)}{whole}"
        )
    selected = np.flatnonzero(in_period)
    sst, keys, first, last = sst.isel(time=selected), keys[selected], first[selected], last[selected]
    covered = sst[COVERED].values.astype(str) if known else None
    in_base = _months_between(first, last, *settings.climatology)
    month_of_year = np.array([int(key[5:7]) for key in keys])
    stamps = np.array([month_index(key) for key in keys])
    # Every calendar month that has samples needs base-period samples; months without samples
    # (all but January for annual means stamped in January) need none.
    missing = sorted(set(month_of_year.tolist()) - set(month_of_year[in_base].tolist()))
    if missing and not is_anomaly:
        raise GeoxaiError(
            f"config key {SECTION}.climatology={list(settings.climatology)} has no sample of {source} "
            f"stamped in calendar month(s) {missing} within {SECTION}.period={list(settings.period)}"
            + (" (a sample counts when every month it averages lies in the climatology)" if known else "")
        )
    if settings.grid_degrees:
        sst = coarsen_to(sst, float(settings.grid_degrees))
    sst = sst.drop_vars([c for c in sst.coords if c not in {"time", "lat", "lon", "ocean_mask"}])
    sst = sst.chunk({"time": -1, "lat": settings.lat_chunk, "lon": -1})

    anomalies = xr.apply_ufunc(
        anomaly_block, sst,
        kwargs={
            "month_of_year": month_of_year,
            "in_base": None if is_anomaly else in_base,
            "detrend": settings.detrend,
            # Stamps in months: a gap in the record (a missing year) stays a gap in the trend fit.
            "steps": (stamps - stamps[0]).astype(np.float32),
        },
        dask="parallelized", output_dtypes=[np.float32],
    )
    ocean = ocean_of(sst).drop_vars("ocean_mask", errors="ignore").astype("int8")
    sampling = _sampling(first, last, stamps, known)
    coords = {"time_key": ("time", keys, dict(TIME_KEY_ATTRS))}
    if known:
        coords[COVERED] = ("time", covered, {
            "long_name": "first and last month the sample averages (inclusive)",
            "comment": "ISO 8601 interval of months, YYYY-MM/YYYY-MM",
        })
    return anomaly_dataset(
        anomalies.drop_vars("ocean_mask", errors="ignore"),
        ocean,
        long_name="sea surface temperature anomaly",
        cell_methods="time: mean",
        comment=(f"{sampling} means; " if sampling != "samples" else "") + (
            "input already anomalies" if is_anomaly else
            f"relative to the {settings.climatology[0]}..{settings.climatology[1]} climatology of "
            "each calendar month of the time stamps"
        )
        + ("; linear trend per cell removed" if settings.detrend else ""),
        title="Monthly SST anomalies" if sampling == "monthly" else "SST anomalies",
        coords=coords,
        # Samples of unknown length (stamps further apart than a month, no covered_months) get
        # no bounds rather than made-up ones.
        time_span=(first, last) if sampling != "samples" else None,
        attrs=_dataset_attrs(settings),
    )


def _dataset_attrs(settings: AnomalySettings) -> dict[str, str]:
    return {
        "climatology_period": f"{settings.climatology[0]}..{settings.climatology[1]}",
        "period": f"{settings.period[0]}..{settings.period[1]}",
        "detrended": "linear trend per grid cell removed" if settings.detrend else "no",
        "grid": f"{settings.grid_degrees} degree block average" if settings.grid_degrees else "input grid",
    }
