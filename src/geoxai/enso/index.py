"""Monthly climate indices (Niño3.4) from NOAA PSL text files or tables (CSV, or CPC-style text).

Every reader returns the same thing: a float :class:`pandas.Series` named ``"index"`` whose index
holds month keys ``"YYYY-MM"`` in time order, with missing months left out. The formats are read
by :mod:`geoxai.enso.psl` and :mod:`geoxai.enso.tables`; this module holds the config section that
chooses between them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from geoxai.core.errors import GeoxaiError
from geoxai.enso.psl import read_psl_index
from geoxai.enso.tables import read_table_index

INDEX_FORMATS = ("psl", "csv", "table")
# Flags no index or SST value takes, as NOAA and CPC files write them.
DEFAULT_MISSING_VALUES = (-99.99, -99.9, -999.0, -9999.0)
# enso.index also says where the file comes from; those keys are the download's.
_SOURCE_KEYS = ("url", "sha256")
# and which box the index is the mean of, for the maps to outline (geoxai.figures.regions)
_FIGURE_KEYS = ("region",)
_RENAMED_KEYS = {"csv_time_column": "time_column", "csv_value_column": "value_column"}
_COLUMN_KEYS = ("time_column", "year_column", "month_column", "value_column")


@dataclass(frozen=True)
class IndexSpec:
    """How to read the label index: the keys of the config section ``enso.index``.

    ``format`` is ``psl`` (the layout of :mod:`geoxai.enso.psl`), ``csv`` (comma-separated) or
    ``table`` (separated by whitespace, as CPC's ``sstoi.indices``); both tables start with a header line naming the
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
            if key not in known and key not in (*_SOURCE_KEYS, *_FIGURE_KEYS):
                raise GeoxaiError(
                    f"unknown config key {where}.{key}; the keys there are "
                    f"{sorted([*_SOURCE_KEYS, *_FIGURE_KEYS, *known])}."
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
