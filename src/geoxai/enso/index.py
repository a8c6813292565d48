"""Monthly climate indices (Niño3.4) from NOAA PSL text files or tables (CSV, or CPC-style text).

Every reader returns the same thing: a float :class:`pandas.Series` named ``"index"`` whose index
holds month keys ``"YYYY-MM"`` in time order, with missing months left out.

The PSL text format (e.g. ``nino34.long.anom.data``)::

      1870  2024                 <- first and last year
     1870   -1.00 ... (12)       <- one line per year: the year and 12 monthly values
     ...
     2024    1.20 ... -99.99
      -99.99                     <- the missing-value flag
      Nino 3.4 long ...          <- free-text notes, any number of lines

Tables have a header line naming the columns, then one line per month, e.g. CPC's
``sstoi.indices`` (``format: table``; see :class:`IndexSpec` for picking the columns)::

     YR   MON  NINO1+2  ANOM   NINO3    ANOM   NINO4    ANOM NINO3.4    ANOM
    1982   1   24.29   -0.17   25.87    0.24   28.30    0.00   26.72    0.15
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import write_text_atomic

INDEX_FORMATS = ("psl", "csv", "table")
# Flags no index or SST value takes, as NOAA and CPC files write them.
DEFAULT_MISSING_VALUES = (-99.99, -99.9, -999.0, -9999.0)
# An empty cell is the usual gap in a spreadsheet's CSV, so these stay missing whatever the flags.
_EMPTY_CELLS = frozenset({"", "nan", "na", "n/a", "null"})
# enso.index also says where the file comes from; those keys are the download's.
_SOURCE_KEYS = ("url", "sha256")
_RENAMED_KEYS = {"csv_time_column": "time_column", "csv_value_column": "value_column"}
_COLUMN_KEYS = ("time_column", "year_column", "month_column", "value_column")
MONTH_KEY = re.compile(r"^(\d{4})-(\d{2})$")
_CSV_TIME = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:-(\d{1,2})(?:[ T].*)?)?\s*$")


def _index_series(values: list[float], months: list[str]) -> pd.Series:
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
    return _index_series(values[present].tolist(), kept)


@dataclass(frozen=True)
class IndexSpec:
    """How to read the label index: the keys of the config section ``enso.index``.

    ``format`` is ``psl`` (the layout above), ``csv`` (comma-separated) or ``table`` (separated by
    whitespace, as CPC's ``sstoi.indices``); both tables start with a header line naming the
    columns. A table's dates come from ``time_column`` (``YYYY-MM`` or ``YYYY-MM-DD``) or from
    ``year_column`` and ``month_column`` (1-12); its values from ``value_column``. A column is
    given by its header name, by ``NAME.k`` for a name the header repeats (``k`` counts its
    occurrences from 0, so the repeats carry pandas' names: ``ANOM.3`` is the fourth ``ANOM``; a
    bare repeated name is refused, as picking the first silently is a likely mistake), or by its
    position (1 = the first column). Values equal to one of ``missing_values`` (numbers, or text
    such as ``"***"``) and empty or ``NaN`` cells are missing months.
    """

    format: str = "psl"
    time_column: str | int | None = None
    year_column: str | int | None = None
    month_column: str | int | None = None
    value_column: str | int | None = None
    missing_values: tuple[float | str, ...] = DEFAULT_MISSING_VALUES

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None, where: str = "enso.index") -> IndexSpec:
        """The spec of a config section (which may also hold the download's url and sha256)."""
        section = dict(section or {})
        known = [spec_field.name for spec_field in fields(cls)]
        for key in section:
            if key in _RENAMED_KEYS:
                raise GeoxaiError(
                    f"config key {where}.{key} was renamed: write {where}.{_RENAMED_KEYS[key]} "
                    f"instead (see config/README.md)."
                )
            if key not in known and key not in _SOURCE_KEYS:
                raise GeoxaiError(
                    f"unknown config key {where}.{key}; the keys there are "
                    f"{sorted([*_SOURCE_KEYS, *known])}."
                )
        values = {key: section[key] for key in known if section.get(key) is not None}
        if "missing_values" in values:
            flags = values["missing_values"]
            values["missing_values"] = tuple(flags) if isinstance(flags, list | tuple) else (flags,)
        spec = cls(**values)
        spec.check(where, given=set(values))
        return spec

    def check(self, where: str = "enso.index", given: set[str] | None = None) -> None:
        """Raise a GeoxaiError naming the key unless the keys make sense together."""
        if self.format not in INDEX_FORMATS:
            raise GeoxaiError(
                f"Unknown index format {self.format!r} in config key {where}.format; use one of "
                f"{', '.join(INDEX_FORMATS)} (NOAA PSL text, a comma-separated table, or a table "
                f"separated by spaces, each table with a header line)."
            )
        for key in _COLUMN_KEYS:
            column = getattr(self, key)
            if column is None or (isinstance(column, str) and column.strip()):
                continue
            if isinstance(column, int) and not isinstance(column, bool) and column >= 1:
                continue
            raise GeoxaiError(
                f"config key {where}.{key} = {column!r}: give a column name from the file's header "
                f"line, or the column's position (1 = the first column)."
            )
        for flag in self.missing_values:
            if isinstance(flag, bool) or not isinstance(flag, int | float | str):
                raise GeoxaiError(
                    f"config key {where}.missing_values holds {flag!r}: give a list of numbers "
                    f"(e.g. [-99.99, -999]) or texts that mark a missing month."
                )
        set_keys = [key for key in _COLUMN_KEYS if getattr(self, key) is not None]
        if given is not None and "missing_values" in given:
            set_keys.append("missing_values")
        if self.format == "psl":
            if set_keys:
                raise GeoxaiError(
                    f"config key(s) {', '.join(f'{where}.{key}' for key in set_keys)} apply to "
                    f"tables only, but {where}.format is 'psl', whose layout (and missing-value "
                    f"flag) the file fixes. Remove them, or set {where}.format to csv or table."
                )
            return
        if self.value_column is None:
            raise GeoxaiError(
                f"config key {where}.value_column is not set: name the column of index values "
                f"(with {where}.format: {self.format} the file is a table)."
            )
        has_year, has_month = self.year_column is not None, self.month_column is not None
        if self.time_column is not None and (has_year or has_month):
            raise GeoxaiError(
                f"config keys {where}.time_column and {where}.year_column/month_column are both "
                f"set: give either one column of dates or the year and month columns, not both."
            )
        if self.time_column is None and not (has_year and has_month):
            missing = "month_column" if has_year else "year_column"
            raise GeoxaiError(
                f"config key {where}.{missing} is not set: with {where}.format: {self.format} "
                f"the table needs {where}.time_column (one column of dates, YYYY-MM or "
                f"YYYY-MM-DD) or both {where}.year_column and {where}.month_column."
            )

    def date_keys(self) -> tuple[str, ...]:
        return ("time_column",) if self.time_column is not None else ("year_column", "month_column")


def read_csv_index(
    path: str | os.PathLike, time_column: str | int = "time", value_column: str | int = "nino34",
) -> pd.Series:
    """Read a monthly index from a CSV table with a date column (YYYY-MM or YYYY-MM-DD)."""
    spec = IndexSpec(format="csv", time_column=time_column, value_column=value_column)
    return read_table_index(path, spec)


def read_table_index(
    path: str | os.PathLike, spec: IndexSpec, where: str = "enso.index",
) -> pd.Series:
    """Read a monthly index from a CSV or whitespace table with a header line, as ``spec`` says."""
    spec.check(where)
    path = Path(path)
    header_line, header, rows = _table_rows(path, spec.format, where)
    keys = (*spec.date_keys(), "value_column")
    columns = {key: _column_position(path, header_line, header, key, getattr(spec, key), where,
                                     spec.format)
               for key in keys}
    for first, second in itertools.combinations(keys, 2):
        if columns[first] == columns[second]:
            raise GeoxaiError(
                f"{path}, line {header_line}: config keys {where}.{first} and {where}.{second} "
                f"both pick column {columns[first] + 1} ({header[columns[first]]!r}); point "
                f"them at different columns."
            )
    numeric_flags = [float(flag) for flag in spec.missing_values if not isinstance(flag, str)]
    text_flags = set()
    for flag in spec.missing_values:
        if isinstance(flag, str):
            try:
                numeric_flags.append(float(flag))
            except ValueError:
                text_flags.add(flag.strip().lower())
    date_keys = " and ".join(f"{where}.{key}" for key in spec.date_keys())
    first_line: dict[str, int] = {}
    months: list[str] = []
    values: list[float] = []
    for line_number, cells in rows:
        if len(cells) != len(header):
            separated = "commas" if spec.format == "csv" else "spaces or tabs"
            raise GeoxaiError(
                f"{path}, line {line_number}: {len(cells)} fields, but the header (line "
                f"{header_line}) names {len(header)} columns. With {where}.format: {spec.format} "
                f"fields are separated by {separated}: give every line one value per column "
                f"(a missing value as a flag from {where}.missing_values)."
            )
        month = _row_month(path, line_number, cells, columns, spec, where)
        if month in first_line:
            raise GeoxaiError(
                f"{path}, line {line_number}: month {month} appears more than once (lines "
                f"{first_line[month]} and {line_number}, dates from {date_keys}). Keep one line "
                f"per month, or check that {date_keys} name the date columns."
            )
        first_line[month] = line_number
        column = columns["value_column"]
        text = cells[column].strip()
        if text.lower() in _EMPTY_CELLS or text.lower() in text_flags:
            continue
        try:
            value = float(text)
        except ValueError:
            raise GeoxaiError(
                f"{path}, line {line_number}: the value {text!r} (column {column + 1}, "
                f"{header[column]!r}, from {where}.value_column) is not a number. Fix the line, "
                f"or, if it marks a missing month, add it to {where}.missing_values."
            ) from None
        if math.isnan(value) or any(abs(value - flag) <= 1e-9 for flag in numeric_flags):
            continue
        if math.isinf(value):
            raise GeoxaiError(
                f"{path}, line {line_number}: the value {text!r} (column {column + 1}, from "
                f"{where}.value_column) is not a finite number. Fix the line, or add it to "
                f"{where}.missing_values."
            )
        months.append(month)
        values.append(value)
    return _index_series(values, months).sort_index()


def _table_rows(
    path: Path, format: str, where: str,
) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    """The header's line number, its names, and (line number, fields) of every non-blank line."""
    try:
        # utf-8-sig: spreadsheet programs put a byte-order mark before the first column's name.
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise GeoxaiError(f"The index file {path} does not exist; check the index path.") from None
    except UnicodeDecodeError:
        raise GeoxaiError(
            f"{path} is not a text file; {where}.format is {format!r}, a table with a header line."
        ) from None
    rows: list[tuple[int, list[str]]] = []
    if format == "csv":
        reader = csv.reader(io.StringIO(text), skipinitialspace=True)
        try:
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    rows.append((reader.line_num, [cell.strip() for cell in cells]))
        except csv.Error as problem:
            raise GeoxaiError(
                f"{path}, line {reader.line_num}: not readable as CSV ({problem}). Fix the line, "
                f"or set {where}.format to match the file (psl, csv or table)."
            ) from None
    else:
        rows = [(number, line.split()) for number, line in enumerate(text.splitlines(), 1)
                if line.strip()]
    if not rows:
        raise GeoxaiError(
            f"{path} is empty; with {where}.format: {format} it should hold a header line, then "
            f"one line per month."
        )
    (header_line, header), data = rows[0], rows[1:]
    if not data:
        raise GeoxaiError(
            f"{path}, line {header_line}: the header line is followed by no data lines; expected "
            f"one line per month."
        )
    return header_line, header, data


def _column_position(
    path: Path, header_line: int, header: list[str], key: str, wanted: str | int, where: str,
    format: str,
) -> int:
    """The 0-based position of the column ``wanted`` names; see :class:`IndexSpec`."""
    setting = f"config key {where}.{key} = {wanted!r}"
    if isinstance(wanted, int):
        if wanted > len(header):
            raise GeoxaiError(
                f"{path}, line {header_line}: {setting} asks for column {wanted}, but the header "
                f"names {len(header)} columns {header}. Give a position 1-{len(header)} or a name."
            )
        return wanted - 1
    exact = [i for i, name in enumerate(header) if name == wanted]
    if len(exact) > 1:
        raise GeoxaiError(
            f"{path}, line {header_line}: {setting} is ambiguous: the header names {len(exact)} "
            f"columns {wanted!r}. Pick one as {_occurrences(header, wanted)}, or by its position "
            f"(1 = the first column)."
        )
    picks = set(exact)
    occurrence = re.fullmatch(r"(.+)\.(\d+)", wanted)
    if occurrence:
        same = [i for i, name in enumerate(header) if name == occurrence.group(1)]
        if int(occurrence.group(2)) < len(same):
            picks.add(same[int(occurrence.group(2))])
    if len(picks) > 1:
        first, second = sorted(picks)
        raise GeoxaiError(
            f"{path}, line {header_line}: {setting} could mean column {first + 1} or column "
            f"{second + 1}; give the position (1 = the first column) instead."
        )
    if picks:
        return picks.pop()
    hints = []
    near = [name for name in header if name.lower() == wanted.lower()]
    repeated = sorted({name for name in header if header.count(name) > 1}, key=header.index)
    other = {"csv": ("table", "spaces"), "table": ("csv", "commas")}[format]
    if len(header) == 1 and len(header[0].replace(",", " ").split()) > 1:
        hints.append(f"The header line is one column: if the file is separated by {other[1]}, "
                     f"set {where}.format: {other[0]}.")
    elif near:
        hints.append(f"Did you mean {near[0]!r}? Names are case-sensitive.")
    elif repeated:
        hints.append("Repeated names are picked as " + "; ".join(
            _occurrences(header, name) for name in repeated) + ".")
    raise GeoxaiError(
        f"{path}, line {header_line}: no column {wanted!r} ({where}.{key}); its columns are "
        f"{header}. Set {where}.{key} to one of them (NAME.k for a repeated name) or to a "
        f"position (1 = the first column)." + "".join(f" {hint}" for hint in hints)
    )


def _occurrences(header: list[str], name: str) -> str:
    """``'ANOM.0' (column 4, after 'NINO1+2'), ...``: how to address each column called ``name``."""
    positions = [i for i, column in enumerate(header) if column == name]
    return ", ".join(
        f"{name + '.' + str(k)!r} (column {i + 1}" + (f", after {header[i - 1]!r})" if i else ")")
        for k, i in enumerate(positions)
    )


def _row_month(
    path: Path, line_number: int, cells: list[str], columns: dict[str, int], spec: IndexSpec,
    where: str,
) -> str:
    if spec.time_column is not None:
        column = columns["time_column"]
        stamp = cells[column]
        match = _CSV_TIME.match(stamp)
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise GeoxaiError(
                f"{path}, line {line_number}: the time {stamp!r} (column {column + 1}, from "
                f"{where}.time_column) is not a month; expected YYYY-MM or YYYY-MM-DD. Fix the "
                f"line, or point {where}.time_column at the column of dates."
            )
        return f"{match.group(1)}-{int(match.group(2)):02d}"
    parts = []
    for key, what, low, high in (("year_column", "year", 1, 9999),
                                 ("month_column", "month", 1, 12)):
        column = columns[key]
        number = _whole_number(cells[column])
        if number is None or not low <= number <= high:
            raise GeoxaiError(
                f"{path}, line {line_number}: the {what} {cells[column]!r} (column {column + 1}, "
                f"from {where}.{key}) is not a {what} number {low}-{high}. Fix the line, or point "
                f"{where}.{key} at the column of {what}s."
            )
        parts.append(number)
    return f"{parts[0]:04d}-{parts[1]:02d}"


def _whole_number(text: str) -> int | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and number.is_integer() else None


def read_index(
    path: str | os.PathLike, spec: Mapping[str, Any] | IndexSpec | None = None,
    where: str = "enso.index",
) -> pd.Series:
    """Read the monthly index at ``path`` as the config section ``spec`` (at ``where``) says."""
    if not isinstance(spec, IndexSpec):
        spec = IndexSpec.from_config(spec, where)
    spec.check(where)
    if spec.format != "psl":
        return read_table_index(path, spec, where)
    try:
        return read_psl_index(path)
    except GeoxaiError as problem:
        if not Path(path).is_file():
            raise
        raise GeoxaiError(
            f"{problem} (read as {where}.format: psl; for a table with a header line set "
            f"{where}.format to csv or table.)"
        ) from None


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
