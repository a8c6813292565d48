"""The known answer of a run on synthetic data, measured on its outputs: where the composite
relevance falls (the region's share of |relevance| over its share of ocean area), how much the
optimal inputs look like the true pattern, and which networks have skill. The same measures as the
demo's acceptance tests, from the same functions of :mod:`geoxai.xai.composites`; written as
``results/report/known_answer.json`` (read by the end-of-run summary) beside the report's page."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import open_product


def _region_shares(composite: xr.Dataset, region) -> list[float]:
    from geoxai.xai.composites import relevance_share_in_region

    return [relevance_share_in_region(
        composite["relevance_composite_mean"].values[c], region,
        composite["ocean_mask"].values, lat=composite["lat"].values,
    ) for c in range(composite.sizes["class"])]


def _method(path: str | os.PathLike) -> str:
    return Path(path).stem


def enso_scores(truth_path: str, composites: Sequence[str]) -> dict[str, Any]:
    """ENSO: per method and class the relevance share in the driving region; the optimal input of
    each class against the true El Niño pattern (the first class, La Niña, against minus it);
    the networks' median validation accuracy against chance."""
    from geoxai.xai.composites import area_weights, pattern_correlation

    if not composites:
        raise GeoxaiError("known answer: no ENSO composite files given (results/enso/composites/…)")
    with open_product(truth_path) as truth:
        region = truth["driving_region_mask"].values
        pattern = truth["el_nino_pattern"].values
    shares = {}
    for path in composites:
        with open_product(path) as composite:
            shares[_method(path)] = _region_shares(composite, region)
    # the optimal inputs do not depend on the explanation method: every composite holds the same
    with open_product(composites[0]) as composite:
        names = [str(c) for c in composite["class"].values]
        weights = area_weights(composite["lat"].values, composite["ocean_mask"].values)
        signs = [-1.0] + [1.0] * (len(names) - 1)
        correlation = {
            name: pattern_correlation(composite["optimal_input_mean"].values[c],
                                      sign * pattern, weights)
            for c, (name, sign) in enumerate(zip(names, signs, strict=True))
        }
        accuracy = float(composite["validation_accuracy_median"])
        chance = float(composite["chance_accuracy"])
    return {"class_names": names, "region_share": shares, "optimal_input_correlation": correlation,
            "median_accuracy": accuracy, "chance": chance}


def lst_scores(truth_json: str, truth_mask: str, skill_path: str,
               composites: Sequence[str]) -> dict[str, Any]:
    """Application 2: every box's median validation accuracy (only the driven box has skill to
    find) and, where the driven box is explained, its relevance share in the driver region."""
    truth = json.loads(Path(truth_json).read_text())
    driven = truth["driven_box"]
    with open_product(skill_path) as skill:
        accuracy = {str(box): float(value) for box, value in zip(
            skill["box"].values, skill["validation_accuracy_median"].values, strict=True)}
    if driven not in accuracy:
        raise GeoxaiError(f"known answer: the driven box {driven} of {truth_json} is not a box "
                          f"of {skill_path} ({', '.join(accuracy)}): check lst.targets")
    others = [v for box, v in accuracy.items() if box != driven]
    shares, names = {}, []
    with open_product(truth_mask) as mask_file:
        region = mask_file["driver_mask"].values
    for path in composites:
        if Path(path).parent.name != driven:
            continue
        with open_product(path) as composite:
            names = [str(c) for c in composite["class"].values]
            shares[_method(path)] = _region_shares(composite, region)
    return {"driven_box": driven, "box_accuracy": accuracy,
            "driven_accuracy": accuracy[driven],
            "other_boxes_median_accuracy": float(np.median(others)) if others else float("nan"),
            "best_possible_accuracy": float(truth["best_possible_accuracy_driven_box"]),
            "class_names": names, "region_share": shares}
