"""Monthly time stamps of CESM output.

CESM history files stamp each monthly mean at the END of its averaging interval: January 0401
carries the time 0401-02-01 00:00. Taken at face value, every month would be filed under the next
one and a year selection would be off by a month. So before anything else each month is
re-stamped at the middle of its averaging interval:

* from the time bounds when the store has them (``time_bound`` in POP, ``time_bnds`` in CAM, or
  whatever the ``bounds`` attribute of ``time`` names): the midpoint of the two bounds;
* without bounds, ``month_stamp`` says where the stamps sit: ``"end"`` (CESM history: the month
  before the stamp), ``"start"`` or ``"middle"`` (the stamp's own month); ``"auto"`` takes
  stamps that all fall on the first of a month at midnight as CESM's end-of-month stamps and any
  other stamps as lying inside their month (the AWS CESM1-LE stores, re-stamped mid-month).
  An explicit ``month_stamp`` other than ``"auto"`` overrides the bounds.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError

MONTH_STAMPS = ("auto", "end", "start", "middle")
BOUNDS_NAMES = ("time_bound", "time_bnds", "time_bounds")


def _bounds_variable(dataset: xr.Dataset, time_name: str) -> xr.DataArray | None:
    declared = dataset[time_name].attrs.get("bounds") or dataset[time_name].encoding.get("bounds")
    for name in ([declared] if declared else []) + list(BOUNDS_NAMES):
        if name in dataset.variables and dataset[name].ndim == 2:
            return dataset[name]
    return None


def _decoded_bounds(bounds: xr.DataArray, time: xr.DataArray) -> np.ndarray:
    values = bounds.values
    if values.dtype.kind in "fiu":  # bounds left numeric: decode them with the time axis's units
        import cftime

        units = time.encoding.get("units")
        calendar = time.encoding.get("calendar", "standard")
        if not units:
            raise GeoxaiError(
                f"time bounds {bounds.name!r} are numbers but the time axis has no units: "
                "cannot place the months; set month_stamp to end, start or middle to place them "
                "by their time stamps instead"
            )
        values = np.asarray(cftime.num2date(values, units, calendar=calendar))
    return values


def month_midpoints(
    dataset: xr.Dataset, time_name: str = "time", month_stamp: str = "auto"
) -> tuple[np.ndarray, str]:
    """Middle of each monthly averaging interval, and a sentence saying how it was found."""
    if month_stamp not in MONTH_STAMPS:
        raise GeoxaiError(f"month_stamp={month_stamp!r}: use one of {', '.join(MONTH_STAMPS)}")
    stamps = dataset[time_name]
    bounds = _bounds_variable(dataset, time_name)
    if bounds is not None and month_stamp == "auto":
        edges = _decoded_bounds(bounds, stamps)
        return edges[:, 0] + (edges[:, 1] - edges[:, 0]) / 2, (
            f"months placed at the midpoint of their time bounds ({bounds.name})"
        )
    values = stamps.values
    if month_stamp == "auto":
        first_of_month = (
            (stamps.dt.day == 1) & (stamps.dt.hour == 0) & (stamps.dt.minute == 0)
        ).values.all()
        month_stamp = "end" if first_of_month else "middle"
    if month_stamp == "end":
        # A stamp at the first of a month closes the previous month: step back half a month.
        return values - _dt.timedelta(days=15), (
            "time stamps taken as CESM end-of-interval stamps; months re-stamped 15 days earlier"
        )
    if month_stamp == "start":
        return values + _dt.timedelta(days=15), "time stamps taken as month starts"
    return values, "time stamps taken as lying inside their month"
