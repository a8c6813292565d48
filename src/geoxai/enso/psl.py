"""The NOAA PSL text format of monthly climate indices (e.g. ``nino34.long.anom.data``)::

      1870  2024                 <- first and last year
     1870   -1.00 ... (12)       <- one line per year: the year and 12 monthly values
     ...
     2024    1.20 ... -99.99
      -99.99                     <- the missing-value flag
      Nino 3.4 long ...          <- free-text notes, any number of lines
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import write_text_atomic

MONTH_KEY = re.compile(r"^(\d{4})-(\d{2})$")


def index_series(values: list[float], months: list[str]) -> pd.Series:
    """The series every index reader returns."""
    series = pd.Series(np.asarray(values, dtype=float), index=pd.Index(months), name="index")
    series.index.name = "month"
    return series


def _numbers(path: Path, line_number: int, line: str, expected: str) -> list[float]:
    try:
        return [float(token) for token in line.split()]
    except ValueError:
        raise GeoxaiError(
            f"{path}, line {line_number}: expected {expected}, found {line.strip()!r} "
            f"(not all numbers). Is this a NOAA PSL index text file?"
        ) from None


def read_psl_index(path: str | os.PathLike) -> pd.Series:
    """Read a NOAA PSL monthly index text file; values equal to its missing flag are dropped."""
    path = Path(path)
    lines = _read_lines(path)
    if not lines:
        raise GeoxaiError(f"{path} is empty; expected a NOAA PSL index text file.")
    header = _numbers(path, 1, lines[0], "the first and last year, e.g. '  1870  2024'")
    if len(header) != 2 or not all(value.is_integer() for value in header):
        raise GeoxaiError(
            f"{path}, line 1: expected the first and last year (two integers), found "
            f"{lines[0].strip()!r}."
        )
    first, last = (int(value) for value in header)
    if last < first:
        raise GeoxaiError(f"{path}, line 1: the last year {last} is before the first {first}.")
    n_years = last - first + 1
    rows: list[list[float]] = []
    for offset in range(n_years):
        line_number = 2 + offset
        year = first + offset
        expected = f"the line of year {year}: the year and 12 monthly values"
        if line_number > len(lines):
            raise GeoxaiError(
                f"{path}, line {line_number}: expected {expected}, but the file ends (the header "
                f"promises {n_years} years, {first}-{last})."
            )
        fields = _numbers(path, line_number, lines[line_number - 1], expected)
        if len(fields) != 13 or fields[0] != year:
            found = f"{len(fields)} value(s)" if len(fields) != 13 else f"year {fields[0]:g}"
            raise GeoxaiError(
                f"{path}, line {line_number}: expected {expected}, found {found}: "
                f"{lines[line_number - 1].strip()!r} (the header promises {n_years} consecutive "
                f"years, {first}-{last})."
            )
        rows.append(fields[1:])
    flag_number = 2 + n_years
    expected = "the missing-value flag (one number, e.g. -99.99) after the last year"
    if flag_number > len(lines):
        raise GeoxaiError(f"{path}, line {flag_number}: expected {expected}, but the file ends.")
    flag = _numbers(path, flag_number, lines[flag_number - 1], expected)
    if len(flag) != 1:
        raise GeoxaiError(
            f"{path}, line {flag_number}: expected {expected}, found {len(flag)} values: "
            f"{lines[flag_number - 1].strip()!r} (more year lines than the header's "
            f"{first}-{last}?)."
        )
    return _series_from_table(first, np.asarray(rows), flag[0])


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        raise GeoxaiError(f"The index file {path} does not exist; check the index path.") from None
    except UnicodeDecodeError:
        raise GeoxaiError(f"{path} is not a text file; expected a NOAA PSL index.") from None


def _series_from_table(first_year: int, table: np.ndarray, missing: float) -> pd.Series:
    months = [f"{first_year + row:04d}-{month:02d}"
              for row in range(table.shape[0]) for month in range(1, 13)]
    values = table.reshape(-1)
    present = ~(np.isclose(values, missing, rtol=0, atol=1e-9) | np.isnan(values))
    kept = [month for month, keep in zip(months, present, strict=True) if keep]
    return index_series(values[present].tolist(), kept)


def _format_value(value: float) -> str:
    """Fixed-point text with at least 2 decimals that reads back as exactly ``value``."""
    for decimals in range(2, 18):
        text = f"{value:.{decimals}f}"
        if float(text) == value:
            return text
    return repr(value)


def format_psl_index(series: pd.Series, missing: float = -99.99, notes: str = "") -> str:
    """The PSL text of ``series`` (month keys ``YYYY-MM``) over whole years; see the module doc."""
    months = [str(key) for key in series.index]
    bad = [key for key in months if not MONTH_KEY.match(key) or not 1 <= int(key[5:]) <= 12]
    if bad:
        raise GeoxaiError(f"Cannot write a PSL index: {bad[0]!r} is not a month key 'YYYY-MM'.")
    if len(set(months)) != len(months):
        raise GeoxaiError("Cannot write a PSL index: a month appears more than once.")
    if not months:
        raise GeoxaiError("Cannot write a PSL index: the series is empty.")
    values = np.asarray(series, dtype=float)
    if np.any(np.isclose(values, missing, rtol=0, atol=1e-9)):
        raise GeoxaiError(
            f"Cannot write a PSL index: a value equals the missing flag {missing}; choose another."
        )
    by_month = dict(zip(months, values, strict=True))
    years = [int(key[:4]) for key in months]
    first, last = min(years), max(years)
    lines = [f"{first:6d}{last:6d}"]
    for year in range(first, last + 1):
        row = [by_month.get(f"{year:04d}-{month:02d}", math.nan) for month in range(1, 13)]
        cells = [_format_value(missing if math.isnan(v) else float(v)) for v in row]
        lines.append(f"{year:5d}" + "".join(f" {cell:>7s}" for cell in cells))
    lines.append(f"{_format_value(float(missing)):>8s}")
    lines.extend(notes.splitlines())
    return "\n".join(lines) + "\n"


def write_psl_index(
    series: pd.Series, path: str | os.PathLike, missing: float = -99.99, notes: str = "",
) -> None:
    """Write ``series`` as a PSL text file (atomically); the exact inverse of read_psl_index."""
    write_text_atomic(path, format_psl_index(series, missing=missing, notes=notes))
