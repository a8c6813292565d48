"""Monthly climate indices from tables: a header line naming the columns, then one line per month,
e.g. CPC's ``sstoi.indices`` (``format: table``; see :class:`geoxai.enso.index.IndexSpec` for
picking the columns)::

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
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from geoxai.core.errors import GeoxaiError
from geoxai.enso.psl import index_series

if TYPE_CHECKING:
    from geoxai.enso.index import IndexSpec

# An empty cell is the usual gap in a spreadsheet's CSV, so these stay missing whatever the flags.
_EMPTY_CELLS = frozenset({"", "nan", "na", "n/a", "null"})
_CSV_TIME = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:-(\d{1,2})(?:[ T].*)?)?\s*$")


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
    return index_series(values, months).sort_index()


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
