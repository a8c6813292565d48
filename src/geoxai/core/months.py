"""Months as "YYYY-MM" keys, the one time axis both applications and every product share.

Keys rather than datetimes because CESM's model years (e.g. 0401) and its noleap calendar do not
fit numpy's datetimes, and because a key compares equal across files however each stored time.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

#: Coordinate of ``anomalies.nc`` with the months each sample averages, "YYYY-MM/YYYY-MM".
COVERED = "covered_months"


def month_index(key: str) -> int:
    """Months since year 0 of a "YYYY-MM" key."""
    year, month = str(key).split("-")[:2]
    return int(year) * 12 + int(month) - 1


def month_key(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def add_months(key: str, months: int) -> str:
    return month_key(month_index(key) + months)


def covered_keys(span: str) -> list[str]:
    """Every month key of a ``covered_months`` value "YYYY-MM/YYYY-MM" (inclusive)."""
    first, _, last = str(span).partition("/")
    return [month_key(i) for i in range(month_index(first), month_index(last or first) + 1)]


def month_keys(time: xr.DataArray | np.ndarray) -> np.ndarray:
    """"YYYY-MM" for every time stamp: numpy datetimes, cftime (e.g. year 0401), or strings that
    already start with the key (the sample coordinate of relevance files)."""
    if not isinstance(time, xr.DataArray):
        time = xr.DataArray(np.asarray(time), dims="time")
    values = np.asarray(time.values)
    if values.size and isinstance(values.flat[0], str | bytes):
        return np.array([(v.decode() if isinstance(v, bytes) else str(v))[:7] for v in values])
    years = time.dt.year.values
    months = time.dt.month.values
    return np.array([f"{int(y):04d}-{int(m):02d}" for y, m in zip(years, months)])


def month_starts(time: xr.DataArray, indices: np.ndarray) -> np.ndarray:
    """The first instant of each month (``indices``: months since year 0) as values of ``time``'s
    kind: numpy datetimes, or cftime dates of ``time``'s calendar (CESM's noleap years 0401...)."""
    indices = np.asarray(indices, dtype=np.int64)
    if np.issubdtype(time.dtype, np.datetime64):
        return np.array([f"{month_key(i)}-01" for i in indices.ravel()],
                        dtype="datetime64[ns]").reshape(indices.shape)
    like = time.values.flat[0]
    starts = [like.replace(year=int(i // 12), month=int(i % 12 + 1), day=1, hour=0, minute=0,
                           second=0, microsecond=0) for i in indices.ravel()]
    return np.array(starts, dtype=object).reshape(indices.shape)
