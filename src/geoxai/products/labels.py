"""Label tables (``time, index, label, split`` and, for Application 2, ``persistence``) and the
class counts beside them; both applications write them, training and the figures read them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import atomic_output, write_json_atomic

COLUMNS = ("time", "index", "label", "split")


def write_label_table(table: pd.DataFrame, path: str | os.PathLike) -> None:
    with atomic_output(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")


def write_counts(path: str | os.PathLike, counts: dict[str, Any]) -> None:
    write_json_atomic(path, counts)


def read_label_table(path) -> pd.DataFrame:
    """Read a label table written by a labels rule, checking its columns."""
    if not Path(path).is_file():
        raise GeoxaiError(f"label table {path} does not exist: run the labels rule first")
    try:
        table = pd.read_csv(path, dtype={"time": str, "split": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise GeoxaiError(f"label table {path} cannot be read ({error}): rerun the labels rule") from error
    required = set(COLUMNS)
    if not required <= set(table.columns):
        raise GeoxaiError(
            f"label table {path} lacks column(s) {sorted(required - set(table.columns))}; it has "
            f"{list(table.columns)}: rerun the labels rule"
        )
    return table
