"""One function per workflow step: read the inputs, call the science, write the outputs atomically.

The Snakemake rules call these through the command line (``python -m geoxai <step> ...``); tests and
notebooks can call them directly. Each takes plain paths and config sections (dicts).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from geoxai import provenance
from geoxai.errors import GeoxaiError


def anomalies(sst_path: str, output: str, sst_spec: dict[str, Any], settings: dict[str, Any],
              config: dict[str, Any] | None = None) -> None:
    """Monthly SST anomalies of a gridded file (lazy, block by block) to NetCDF."""
    from geoxai.anomalies import AnomalySettings, compute_anomalies, dask_config
    from geoxai.sources import SSTFileSpec, open_sst

    spec = SSTFileSpec.from_config(sst_spec)
    anomaly_settings = AnomalySettings.from_config(settings)
    sst = open_sst(sst_path, spec, lat_chunk=anomaly_settings.lat_chunk)
    dataset = compute_anomalies(sst, anomaly_settings, is_anomaly=spec.is_anomaly)
    with dask_config(anomaly_settings.dask_scheduler):
        provenance.write_netcdf_atomic(dataset, output, config=config, inputs={"sst": sst_path})


def labels(index_path: str, anomalies_path: str, output: str, counts_output: str,
           index_spec: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """Phase labels from the index for the months that have anomalies; the chronological split."""
    from geoxai.index import read_index
    from geoxai.labels import LabelSettings, check_both_classes, count_classes, phase_labels
    from geoxai.samples import open_anomalies

    label_settings = LabelSettings.from_config(settings)
    index = read_index(
        index_path, index_spec.get("format", "psl"),
        time_column=index_spec.get("csv_time_column", "time"),
        value_column=index_spec.get("csv_value_column", "nino34"),
    )
    months = open_anomalies(anomalies_path)["time_key"].values.astype(str)
    table = phase_labels(index, months, label_settings)
    check_both_classes(table, label_settings.class_names, index_path)
    counts = count_classes(table, label_settings.class_names)
    with provenance.atomic_output(output) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    provenance.write_json_atomic(counts_output, counts)
    return counts


def train(anomalies_path: str, labels_path: str, seed: int, model_output: str, metrics_output: str,
          model_config: dict[str, Any], training_config: dict[str, Any],
          class_names: Sequence[str]) -> dict[str, Any]:
    """Train one network for one seed; save it (HDF5) and its metrics (JSON)."""
    from geoxai.labels import check_both_classes
    from geoxai.models import ModelSettings, TrainingSettings, predict_probabilities, save_model, train_model
    from geoxai.samples import load_samples

    samples = load_samples(anomalies_path, labels_path)
    check_both_classes(
        pd.DataFrame({"label": samples.labels, "split": samples.split}), class_names, labels_path
    )
    training = TrainingSettings.from_config(training_config)
    train_set, validation_set = samples.in_split("train"), samples.in_split("validation")
    result = train_model(
        train_set.inputs, train_set.labels, validation_set.inputs, validation_set.labels, seed,
        ModelSettings.from_config(model_config), training, n_classes=len(class_names),
    )
    metrics: dict[str, Any] = {"seed": int(seed), "class_names": list(class_names),
                               "history": result.history, "accuracy": {}, "confusion": {}}
    for name, subset in (("train", train_set), ("validation", validation_set)):
        predicted = predict_probabilities(result.model, subset.inputs).argmax(axis=1)
        confusion = np.zeros((len(class_names),) * 2, dtype=int)
        np.add.at(confusion, (subset.labels, predicted), 1)
        metrics["accuracy"][name] = float((predicted == subset.labels).mean())
        metrics["confusion"][name] = confusion.tolist()
    metrics["n_parameters"] = int(result.model.count_params())
    save_model(result.model, model_output)
    provenance.write_json_atomic(metrics_output, metrics)
    return metrics


def evaluate(metrics_paths: Sequence[str], output: str) -> pd.DataFrame:
    """One table over seeds: accuracy per split, then the median and spread rows."""
    rows = []
    for path in metrics_paths:
        metrics = json.loads(Path(path).read_text())
        rows.append({"seed": metrics["seed"], **{f"{k}_accuracy": v for k, v in metrics["accuracy"].items()}})
    if not rows:
        raise GeoxaiError("no metrics to evaluate: the config key `seeds` is empty")
    table = pd.DataFrame(rows).sort_values("seed")
    numeric = table.drop(columns="seed")
    summary = pd.DataFrame(
        [numeric.median(), numeric.min(), numeric.max(), numeric.std(ddof=0)],
        index=["median", "min", "max", "std"],
    ).reset_index(names="seed")
    result = pd.concat([table.astype({"seed": str}), summary], ignore_index=True)
    with provenance.atomic_output(output) as tmp:
        result.to_csv(tmp, index=False, float_format="%.4f")
    return result


def relevance(model_path: str, anomalies_path: str, labels_path: str, output: str, rule: str,
              backend: str, seed: int, class_names: Sequence[str], epsilon: float = 1e-7,
              config: dict[str, Any] | None = None) -> None:
    """Raw LRP relevance of the winning logit for every labelled sample."""
    from geoxai.explain import explain
    from geoxai.models import load_model, predict_probabilities
    from geoxai.samples import load_samples

    samples = load_samples(anomalies_path, labels_path)
    model = load_model(model_path, samples.n_features)
    explanation = explain(model, samples.inputs, rule, backend=backend, epsilon=epsilon)
    predicted = predict_probabilities(model, samples.inputs).argmax(axis=1)
    maps = samples.to_maps(explanation.relevance) * samples.ocean_mask
    sample = ("sample",)
    dataset = xr.Dataset(
        {
            "relevance": (("sample", "lat", "lon"), maps.astype(np.float32), {
                "long_name": f"LRP relevance ({rule}) of the winning class logit",
                "units": "1", "comment": "raw, not normalized; land cells are exactly 0"}),
            "explained_logit": (sample, explanation.explained_logit.astype(np.float32), {
                "long_name": "value of the explained (winning) logit", "units": "1"}),
        },
        coords={
            **samples.map_coords(),
            "time": (sample, samples.time, {"long_name": "month of the sample (YYYY-MM)"}),
            "true_class": (sample, samples.labels, {"long_name": "true class",
                                                    "flag_meanings": " ".join(c.replace(" ", "_") for c in class_names),
                                                    "flag_values": np.arange(len(class_names))}),
            "predicted_class": (sample, predicted, {"long_name": "predicted class"}),
            "explained_class": (sample, explanation.explained_class, {"long_name": "class of the explained logit"}),
            "split": (sample, samples.split),
            "index": (sample, samples.index, {"long_name": "label index value"}),
        },
        attrs={"title": f"LRP relevance, rule {rule}, seed {seed}", "rule": rule, "backend": backend,
               "sign_convention": explanation.sign_convention, "seed": int(seed),
               "class_names": json.dumps(list(class_names))},
    )
    provenance.write_netcdf_atomic(
        dataset, output, config=config, inputs={"model": model_path, "anomalies": anomalies_path}
    )


def optimal_input(model_path: str, anomalies_path: str, labels_path: str, output: str,
                  class_index: int, seed: int, settings: dict[str, Any], class_names: Sequence[str],
                  config: dict[str, Any] | None = None) -> None:
    """Backwards optimization: the input that the network finds most typical of a class."""
    from geoxai.models import load_model
    from geoxai.optimal_input import optimal_input as optimize
    from geoxai.samples import load_samples

    samples = load_samples(anomalies_path, labels_path)
    if not 0 <= class_index < len(class_names):
        raise GeoxaiError(f"class {class_index} does not exist: classes are 0..{len(class_names) - 1}")
    model = load_model(model_path, samples.n_features)
    start = settings.get("start", "zeros")
    if start == "zeros":
        start_map = None
    elif start == "composite":
        start_map = samples.inputs[samples.labels == class_index].mean(axis=0)
    else:
        raise GeoxaiError(f"config key optimal_input.start={start!r}: use 'zeros' or 'composite'")
    result = optimize(
        model, class_index, steps=int(settings.get("steps", 50000)),
        step_size=float(settings.get("step_size", 0.01)),
        l2_penalty=float(settings.get("l2_penalty", 0.0)), start=start_map,
    )
    target = float(settings.get("target_probability", 0.9))
    reached = bool(result.probability >= target)
    field = samples.to_maps(result.input) * samples.ocean_mask
    scale = float(np.abs(field).max()) or 1.0
    dataset = xr.Dataset(
        {
            "optimal_input": (("lat", "lon"), field.astype(np.float32), {
                "long_name": f"optimal input (backwards optimization) for class {class_names[class_index]}",
                "units": "K"}),
            "optimal_input_normalized": (("lat", "lon"), (field / scale).astype(np.float32), {
                "long_name": "optimal input divided by its maximum absolute value", "units": "1"}),
            "probability_history": (("record",), np.asarray(result.probability_history, np.float32), {
                "long_name": "softmax probability of the target class during the optimization",
                "units": "1"}),
            "final_probability": ((), np.float32(result.probability), {"units": "1"}),
            "reached_target": ((), np.int8(reached), {
                "long_name": f"whether the final probability reached {target}", "units": "1",
                "flag_values": np.array([0, 1], np.int8), "flag_meanings": "flagged_not_reached reached"}),
        },
        coords=samples.map_coords(),
        attrs={"title": f"Optimal input, class {class_names[class_index]}, seed {seed}",
               "seed": int(seed), "class_index": int(class_index),
               "class_name": class_names[class_index], "steps": int(settings.get("steps", 50000)),
               "step_size": float(settings.get("step_size", 0.01)),
               "l2_penalty": float(settings.get("l2_penalty", 0.0)), "start": start,
               "target_probability": target,
               "flag": "ok" if reached else f"did not reach probability {target}"},
    )
    provenance.write_netcdf_atomic(dataset, output, config=config, inputs={"model": model_path})


def composite(relevance_paths: Sequence[str], optimal_input_paths: Sequence[str], anomalies_path: str,
              labels_path: str, output: str, class_names: Sequence[str], subset: str = "all",
              config: dict[str, Any] | None = None) -> xr.Dataset:
    """Composite relevance per class, per seed and over seeds, with the observed composites."""
    from geoxai.composites import composite_relevance
    from geoxai.samples import load_samples

    samples = load_samples(anomalies_path, labels_path)
    relevance_sets = [xr.load_dataset(path) for path in relevance_paths]
    optimal = {}
    for path in optimal_input_paths:
        with xr.open_dataset(path) as dataset:
            optimal[(int(dataset.attrs["seed"]), int(dataset.attrs["class_index"]))] = dataset[
                "optimal_input"].values
    result = composite_relevance(
        relevance_sets, samples.to_maps(samples.inputs), samples.time, optimal,
        samples.lat, samples.lon, samples.ocean_mask, class_names, subset,
    )
    first = relevance_sets[0].attrs
    result.attrs.update({"rule": first.get("rule", ""), "backend": first.get("backend", ""),
                         "sign_convention": first.get("sign_convention", "")})
    provenance.write_netcdf_atomic(result, output, config=config)
    return result


def case_study_month(case: str, truth_path: str | None) -> str:
    """A case study given as "YYYY-MM", or by name (strongest_eastern/central) from a truth file."""
    if case[:4].isdigit():
        return case
    if not truth_path:
        raise GeoxaiError(
            f"case study {case!r} names an event of the synthetic source, but this run has no truth "
            "file: give case studies as YYYY-MM months (config key enso.case_studies)"
        )
    with xr.open_dataset(truth_path) as truth:
        attribute = f"{case}_el_nino_month"
        if attribute not in truth.attrs:
            names = [a.removesuffix("_el_nino_month") for a in truth.attrs if a.endswith("_el_nino_month")]
            raise GeoxaiError(f"case study {case!r} is not in {truth_path}; it knows {names}")
        return str(truth.attrs[attribute])


def plot(kind: str, inputs: Sequence[str], outputs: Sequence[str], settings: dict[str, Any],
         class_index: int | None = None, case: str | None = None, truth: str | None = None,
         labels: dict[str, Any] | None = None) -> None:
    """Draw one figure of ``kind`` from ``inputs`` into every path of ``outputs``."""
    from geoxai import plotting

    dpi = settings.get("dpi", 150)
    central = settings.get("central_longitude", 225.0)
    if kind == "composites":
        plotting.plot_composites(inputs[0], class_index, outputs, central_longitude=central, dpi=dpi)
    elif kind == "seed-agreement":
        plotting.plot_seed_agreement(inputs[0], class_index, outputs, central_longitude=central, dpi=dpi)
    elif kind == "case-study":
        month = case_study_month(case, truth)
        plotting.plot_case_study(inputs[0], inputs[1:], month, outputs, central_longitude=central, dpi=dpi)
    elif kind == "training":
        plotting.plot_training(inputs, outputs, dpi=dpi)
    elif kind == "index":
        labels = labels or {}
        plotting.plot_index(
            inputs[0], outputs,
            thresholds=(labels.get("negative_threshold", -0.5), labels.get("positive_threshold", 0.5)),
            class_names=labels.get("class_names", ("La Nina", "El Nino")), dpi=dpi,
        )
    else:
        raise GeoxaiError(f"unknown figure kind {kind!r}")


def accuracy_table(evaluation_csv: str, output: str) -> None:
    """The accuracy table over seeds as an HTML fragment for the report."""
    table = pd.read_csv(evaluation_csv, dtype={"seed": str})
    html = table.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0)
    provenance.write_text_atomic(output, f"<h3>Accuracy per seed</h3>\n{html}\n")


def run_summary(config: dict[str, Any], inputs: Sequence[str], output: str) -> None:
    """An HTML page for the report: the config, where the data came from, and software versions."""
    import html

    rows = []
    for path in inputs:
        record = Path(f"{path}.provenance.json")
        if record.exists():
            entry = json.loads(record.read_text())
        else:
            entry = {"url": "generated by the workflow", "sha256": provenance.sha256_file(path)}
        rows.append(f"<tr><td>{html.escape(str(path))}</td><td>{html.escape(str(entry.get('url')))}</td>"
                    f"<td><code>{entry.get('sha256')}</code></td></tr>")
    versions = provenance.package_versions()
    text = (
        "<h3>Data</h3><table><tr><th>file</th><th>source</th><th>sha256</th></tr>"
        + "".join(rows) + "</table>"
        + "<h3>Software</h3><table>"
        + "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in sorted(versions.items()))
        + f"<tr><td>git commit</td><td>{provenance.git_commit()}</td></tr></table>"
        + "<h3>Configuration</h3><pre>" + html.escape(json.dumps(config, indent=2, sort_keys=True))
        + "</pre>"
    )
    provenance.write_text_atomic(output, text)
