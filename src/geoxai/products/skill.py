"""Application 2's ``skill.nc``: validation accuracy and balanced accuracy per box and seed beside
persistence and the chance level of each box, with a binomial test per box and the false
discovery rate held over the boxes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from geoxai.core.grid import LAT_ATTRS, LON_ATTRS
from geoxai.learn.metrics import SEED_STATISTICS
from geoxai.products.targets import EDGE_ATTRS

ONE = {"units": "1"}

#: What ``chance_accuracy`` is, in words (the attrs of skill.nc say so).
CHANCE = ("validation accuracy of the best constant forecast: always the class most frequent "
          "in the validation split; not 0.5, since the classes need not be balanced, and not "
          "the training majority, which scores lower where class frequencies drift")


def _over_seeds(name: str, values: np.ndarray, statistics: Sequence[str]) -> dict:
    variables = {}
    for statistic in statistics:
        label, reduce, word, method = SEED_STATISTICS[statistic]
        variables[f"{name}_{label}"] = (
            ("box",), reduce(values, 1).astype(np.float32),
            # Not a cell_methods "seed: ...": CF names a dimension of the variable there, and
            # the reduced seed dimension is not one.
            {**ONE, "long_name": f"{word} {name.replace('_', ' ')} over seeds",
             "comment": f"{method} over the seed dimension of {name}"},
        )
    return variables


def _test_variables(per_box: Mapping[str, np.ndarray], fdr_q: float) -> dict:
    """The chance level and the test of the median seed's accuracy against it."""
    box_dim = ("box",)
    tested = ("H0: the median seed's validation accuracy is no better than chance_accuracy; "
              "one-sided binomial test of round(validation_accuracy_median x "
              "validation_samples) successes in validation_samples trials with success "
              "probability chance_accuracy")
    return {
        "chance_accuracy": (box_dim, per_box["chance_accuracy"].astype(np.float32), {
            **ONE, "long_name": "chance level: validation accuracy of the best constant forecast",
            "comment": CHANCE}),
        "majority_class": (box_dim, per_box["majority_class"].astype(np.int8), {
            "long_name": "class most frequent in the validation split (0 cold, 1 warm)",
            "flag_values": np.array([0, 1], np.int8), "flag_meanings": "cold warm"}),
        "p_value": (box_dim, per_box["p_value"].astype(np.float64), {
            **ONE, "long_name": "p-value of the median seed's validation accuracy against chance",
            "comment": tested}),
        "significant": (box_dim, per_box["significant"].astype(np.int8), {
            "long_name": "median seed beats chance with the false discovery rate over boxes held "
            f"at q = {fdr_q:g}",
            "flag_values": np.array([0, 1], np.int8),
            "flag_meanings": "not_significant significant",
            "comment": f"Benjamini-Hochberg over the {int(np.isfinite(per_box['p_value']).sum())} "
            f"boxes' p_value at q = {fdr_q:g} (lst.skill.fdr_q)",
            "fdr_q": float(fdr_q)}),
        "accuracy_minus_chance": (
            box_dim, (per_box["median"] - per_box["chance_accuracy"]).astype(np.float32),
            {**ONE, "long_name": "median validation accuracy over seeds minus chance_accuracy"}),
    }


def skill_dataset(boxes: Sequence[str], seeds: Sequence[int], accuracy: np.ndarray,
                  train: np.ndarray, balanced: np.ndarray, per_box: Mapping[str, np.ndarray],
                  edges: xr.Dataset, fdr_q: float) -> xr.Dataset:
    """``accuracy``, ``train``, ``balanced``: (box, seed). ``per_box``: persistence_accuracy,
    validation_samples, warm_fraction_validation, chance_accuracy, majority_class, p_value,
    significant."""
    box_dim = ("box",)
    median = SEED_STATISTICS["median"][1](accuracy, 1)
    return xr.Dataset(
        {
            "validation_accuracy": (("box", "seed"), accuracy.astype(np.float32),
                                    {**ONE, "long_name": "validation accuracy of each network (seed)"}),
            **_over_seeds("validation_accuracy", accuracy, ("median", "min", "max")),
            **_over_seeds("train_accuracy", train, ("median",)),
            "balanced_accuracy": (("box", "seed"), balanced.astype(np.float32), {
                **ONE, "long_name": "validation balanced accuracy of each network (seed)",
                "comment": "mean recall over the classes, from the validation confusion matrix; "
                "0.5 for any constant forecast"}),
            **_over_seeds("balanced_accuracy", balanced, ("median",)),
            "persistence_accuracy": (box_dim, per_box["persistence_accuracy"].astype(np.float32), {
                **ONE, "long_name": "validation accuracy of persistence (this season's sign carried "
                "forward)"}),
            "validation_samples": (box_dim, per_box["validation_samples"].astype(np.int32),
                                   {**ONE, "long_name": "number of validation samples"}),
            "warm_fraction_validation": (
                box_dim, per_box["warm_fraction_validation"].astype(np.float32),
                {**ONE, "long_name": "fraction of validation samples labelled warm (class 1)"}),
            **_test_variables({**per_box, "median": median}, fdr_q),
        },
        coords={
            "box": ("box", list(boxes), {"long_name": "target box (lower-left corner)"}),
            "seed": ("seed", np.array(seeds, np.int32), {"long_name": "random seed"}),
            "lat": ("box", 0.5 * (edges["box_lat"].values + edges["box_lat_max"].values),
                    {**LAT_ATTRS, "long_name": "box centre latitude"}),
            "lon": ("box", 0.5 * (edges["box_lon"].values + edges["box_lon_max"].values),
                    {**LON_ATTRS, "long_name": "box centre longitude"}),
            **{name: ("box", edges[name].values, dict(attrs))
               for name, attrs in EDGE_ATTRS.items()},
        },
        attrs={
            "title": "Skill of next-season 2-m temperature sign per land box",
            "comment": "validation = the last part of the record (chronological split); "
            f"chance_accuracy = {CHANCE}; each box's median-seed accuracy is tested against it "
            "(one-sided binomial test, p_value) and `significant` holds the false discovery rate "
            f"over boxes at q = {fdr_q:g} (Benjamini-Hochberg)",
            "chance": "the best constant forecast on the validation split",
            "fdr_q": float(fdr_q),
        },
    )
