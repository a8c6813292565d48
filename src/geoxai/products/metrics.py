"""The metrics of one network (JSON: seed, accuracy, confusion, history) and the evaluation table
over seeds (CSV: one row per seed, then median/min/max/std)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import atomic_output, write_json_atomic

#: Keys the figures and the evaluation read, with the keys they need inside.
REQUIRED = (("seed", ()), ("accuracy", ("train", "validation")),
            ("history", ("loss", "accuracy", "val_loss", "val_accuracy")))


def write_metrics(path: str | os.PathLike, metrics: dict[str, Any]) -> None:
    write_json_atomic(path, metrics)


def read_metrics(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise GeoxaiError(f"Training metrics {path} do not exist: run the train rule first.")
    metrics = json.loads(path.read_text())
    for key, inner in REQUIRED:
        if key not in metrics or any(k not in metrics[key] for k in inner):
            raise GeoxaiError(
                f"Training metrics {path} lack the key {key!r} (with {', '.join(inner)}): "
                "delete the file and re-run the train rule."
            )
    return metrics


def write_evaluation(table: pd.DataFrame, path: str | os.PathLike) -> None:
    with atomic_output(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")


def read_evaluation(path: str | os.PathLike) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"seed": str})


def read_seed_accuracies(path: str | os.PathLike) -> pd.DataFrame:
    """The per-seed rows of an evaluation table (not its summary rows)."""
    table = read_evaluation(path)
    per_seed = table[table["seed"].str.fullmatch(r"\d+")]
    if per_seed.empty or "validation_accuracy" not in per_seed:
        raise GeoxaiError(f"{path} has no per-seed validation accuracy: rerun the evaluate rule")
    return per_seed.astype({"seed": int})


def read_validation_confusion(path: str | os.PathLike) -> tuple[int, np.ndarray]:
    """The seed of one network and its confusion matrix on the validation split (rows the true
    class, columns the predicted one)."""
    metrics = read_metrics(path)
    confusion = metrics.get("confusion")
    if not isinstance(confusion, dict) or "validation" not in confusion:
        raise GeoxaiError(
            f"Training metrics {path} lack the key 'confusion' (with validation): delete the "
            "file and re-run the train rule."
        )
    return int(metrics["seed"]), np.asarray(confusion["validation"], dtype=int)
