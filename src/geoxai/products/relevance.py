"""Relevance (or attribution) of one network and rule (``relevance(sample, lat, lon)``) and the optimal input of
one network and class (``optimal_input(lat, lon)``), as the explain rules write them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core.months import month_keys
from geoxai.core.provenance import load_product, open_product
from geoxai.xai.rules import rule_label, rule_quantity

#: Relevance and attribution have no CF standard name; their variables carry a long_name only.
NO_STANDARD_NAME = "no CF standard name exists for relevance or attribution"
SPLIT_ATTRS = {"long_name": "part of the chronological split the sample is in",
               "comment": "train: the networks learn it; validation: held out"}
TIME_KEY_ATTRS = {"long_name": "year and month of the sample's time stamp (YYYY-MM)"}


def class_flags(class_names: Sequence[str]) -> dict[str, Any]:
    return {"flag_meanings": " ".join(c.replace(" ", "_") for c in class_names),
            "flag_values": np.arange(len(class_names), dtype=np.int64)}


def sample_time_coords(keys: np.ndarray, dates: np.ndarray | None) -> dict[str, tuple]:
    """The CF time of each sample (``time(sample)``, from the anomaly file, encoded with units
    and calendar on writing) and its "YYYY-MM" key (``time_key(sample)``), which readers match
    samples by (:func:`sample_keys`)."""
    coords = {"time_key": ("sample", np.asarray(keys, dtype=str), dict(TIME_KEY_ATTRS))}
    if dates is not None:
        coords["time"] = ("sample", np.asarray(dates), {"standard_name": "time",
                                                         "long_name": "time of the sample"})
    return coords


def sample_keys(dataset: xr.Dataset) -> np.ndarray:
    """The "YYYY-MM" key of each sample of a relevance (or evaluation) file; files written before
    ``time_key`` held the key in a string ``time``."""
    if "time_key" in dataset.coords:
        return dataset["time_key"].values.astype(str)
    return month_keys(dataset["time"])


def parameters_json(parameters: Mapping[str, Any]) -> str:
    """A method's parameters as JSON; an array (a baseline) as its length, mean and digest."""
    def plain(value):
        if isinstance(value, np.ndarray):
            digest = hashlib.sha256(np.ascontiguousarray(value, np.float32).tobytes()).hexdigest()
            return {"array_of": int(value.size), "mean": float(value.mean()) if value.size else 0.0,
                    "sha256": digest}
        return value.item() if isinstance(value, np.generic) else value
    return json.dumps({key: plain(value) for key, value in parameters.items()}, sort_keys=True)


def relevance_dataset(samples, maps: np.ndarray, explanation, predicted: np.ndarray, rule: str,
                      backend: str, seed: int, class_names: Sequence[str]) -> xr.Dataset:
    """``backend`` is the one asked for; the attrs record the one that computed (they differ
    where a method iNNvestigate lacks fell back to numpy). The wording ("LRP relevance" or
    "attribution"), the conservation and the bias treatment come from the rule's registry entry
    via ``explanation``."""
    sample = ("sample",)
    quantity = getattr(explanation, "quantity", "") or rule_quantity(rule)
    label = getattr(explanation, "label", "") or rule_label(rule)
    used = getattr(explanation, "backend", "") or backend
    conserves = getattr(explanation, "conserves_relevance", "no")
    conserved = getattr(explanation, "conserved_quantity", "")
    attrs = {"title": f"{quantity[0].upper()}{quantity[1:]}, rule {rule}, seed {seed}",
             "rule": rule, "rule_label": label, "backend": used,
             "sign_convention": explanation.sign_convention, "seed": int(seed),
             "class_names": json.dumps(list(class_names)),
             "conserves_relevance": conserves,
             "bias_treatment": getattr(explanation, "bias_treatment", ""),
             "parameters": parameters_json(getattr(explanation, "parameters", {}) or {})}
    if conserves != "no" and conserved:
        attrs["conserved_quantity"] = conserved
    if used != backend:
        attrs["requested_backend"] = backend
    if getattr(explanation, "note", ""):
        attrs["comment"] = explanation.note
    return xr.Dataset(
        {
            "relevance": (("sample", "lat", "lon"), np.asarray(maps, dtype=np.float32), {
                "long_name": f"{quantity} ({label}) of the winning class logit",
                "units": "1",
                "comment": f"raw, not normalized; land cells are exactly 0; {NO_STANDARD_NAME}"}),
            "explained_logit": (sample, explanation.explained_logit.astype(np.float32), {
                "long_name": "value of the explained (winning) logit", "units": "1"}),
        },
        coords={
            **samples.map_coords(),
            **sample_time_coords(samples.time, getattr(samples, "dates", None)),
            "true_class": (sample, np.asarray(samples.labels, np.int64), {
                "long_name": "true class", **class_flags(class_names)}),
            "predicted_class": (sample, np.asarray(predicted, np.int64), {
                "long_name": "predicted class", **class_flags(class_names)}),
            "explained_class": (sample, np.asarray(explanation.explained_class, np.int64), {
                "long_name": "class of the explained logit", **class_flags(class_names)}),
            "split": (sample, samples.split, dict(SPLIT_ATTRS)),
            "index": (sample, samples.index, {"long_name": "label index value"}),
        },
        attrs=attrs,
    )


def read_relevance(paths: Sequence[str]) -> list[xr.Dataset]:
    return [load_product(path) for path in paths]


def optimal_input_dataset(samples, field: np.ndarray, result, class_index: int, class_name: str,
                          seed: int, settings: Mapping[str, Any]) -> xr.Dataset:
    """``settings``: the optimization's steps, step_size, l2_penalty, start, target_probability."""
    target = float(settings["target_probability"])
    reached = bool(result.probability >= target)
    scale = float(np.abs(field).max()) or 1.0
    return xr.Dataset(
        {
            "optimal_input": (("lat", "lon"), field.astype(np.float32), {
                "long_name": f"optimal input (backwards optimization) for class {class_name}",
                "units": "K"}),
            "optimal_input_normalized": (("lat", "lon"), (field / scale).astype(np.float32), {
                "long_name": "optimal input divided by its maximum absolute value", "units": "1"}),
            "probability_history": (("record",), np.asarray(result.probability_history, np.float32), {
                "long_name": "softmax probability of the target class during the optimization",
                "units": "1"}),
            "final_probability": ((), np.float32(result.probability), {
                "long_name": "softmax probability of the target class at the end", "units": "1"}),
            "reached_target": ((), np.int8(reached), {
                "long_name": f"whether the final probability reached {target}", "units": "1",
                "flag_values": np.array([0, 1], np.int8), "flag_meanings": "flagged_not_reached reached"}),
        },
        coords=samples.map_coords(),
        attrs={"title": f"Optimal input, class {class_name}, seed {seed}",
               "seed": int(seed), "class_index": int(class_index),
               "class_name": class_name, "steps": int(settings["steps"]),
               "step_size": float(settings["step_size"]),
               "l2_penalty": float(settings["l2_penalty"]), "start": settings["start"],
               "target_probability": target,
               "flag": "ok" if reached else f"did not reach probability {target}"},
    )


def read_optimal_inputs(paths: Sequence[str]) -> dict[tuple[int, int], np.ndarray]:
    """Each file's optimal input, keyed by (seed, class index)."""
    optimal = {}
    for path in paths:
        with open_product(path) as dataset:
            optimal[(int(dataset.attrs["seed"]), int(dataset.attrs["class_index"]))] = dataset[
                "optimal_input"].values
    return optimal


def read_optimal_input_reached(paths: Sequence[str]) -> dict[tuple[int, int], bool]:
    """Whether each file's optimization reached its target probability, keyed by (seed, class)."""
    reached = {}
    for path in paths:
        with open_product(path) as dataset:
            key = (int(dataset.attrs["seed"]), int(dataset.attrs["class_index"]))
            reached[key] = bool(int(dataset["reached_target"].values)) \
                if "reached_target" in dataset else True
    return reached
