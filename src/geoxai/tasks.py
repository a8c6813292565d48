"""One function per workflow step: read the inputs, call the science, write the outputs atomically.

The Snakemake rules call these through the command line (``python -m geoxai <step> ...``); tests and
notebooks can call them directly. Each takes plain paths and config sections (dicts).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from geoxai import provenance
from geoxai.cesm import open_fetched_field
from geoxai.errors import GeoxaiError


def anomalies(sst_path: str, output: str, sst_spec: dict[str, Any], settings: dict[str, Any],
              config: dict[str, Any] | None = None) -> None:
    """SST anomalies of a gridded file of monthly, seasonal or annual means (lazy, block by block)
    to NetCDF; the months each sample covers, when known, go along for the labels."""
    from geoxai.anomalies import AnomalySettings, compute_anomalies, dask_config
    from geoxai.sources import SECTION, SSTFileSpec, open_sst

    spec = SSTFileSpec.from_config(sst_spec)
    anomaly_settings = AnomalySettings.from_config(settings)
    sst = open_sst(sst_path, spec, lat_chunk=anomaly_settings.lat_chunk)
    dataset = compute_anomalies(sst, anomaly_settings, is_anomaly=spec.is_anomaly,
                                source=provenance.describe_input(sst_path, f"{SECTION}.url"))
    with dask_config(anomaly_settings.dask_scheduler):
        provenance.write_netcdf_atomic(dataset, output, config=config, inputs={"sst": sst_path})


def labels(index_path: str, anomalies_path: str, output: str, counts_output: str,
           index_spec: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """Phase labels from the index for the samples that have anomalies; the chronological split.

    With ``index_months: sample`` the index is averaged over the months each sample covers, which
    the anomaly file records (``covered_months``); samples the index does not fully cover are
    dropped, and counted under ``dropped`` in the counts.
    """
    import sys

    from geoxai.index import read_index
    from geoxai.labels import LabelSettings, check_both_classes, count_classes, phase_labels
    from geoxai.samples import open_anomalies
    from geoxai.sources import COVERED

    label_settings = LabelSettings.from_config(settings)
    index = read_index(index_path, index_spec)
    index_source = provenance.describe_input(index_path, "enso.index.url")
    with open_anomalies(anomalies_path) as anomaly_file:
        months = anomaly_file["time_key"].values.astype(str)
        covered = anomaly_file[COVERED].values.astype(str) if COVERED in anomaly_file.coords else None
        sst_input = anomaly_file.attrs.get("input_sst")
    samples_source = str(anomalies_path)
    if sst_input:
        samples_source += f" (from {provenance.describe_input(sst_input, 'enso.sst.url')})"
    table = phase_labels(index, months, label_settings, covered=covered, source=index_source,
                         samples_source=samples_source)
    check_both_classes(table, label_settings.class_names, index_source)
    counts = count_classes(table, label_settings.class_names)
    counts["index_months"] = label_settings.index_months
    counts["samples"] = len(months)
    counts["dropped"] = dict(table.attrs.get("dropped", {}))
    if counts["dropped"].get("index_missing"):
        what = ("does not have every month they cover" if label_settings.index_months == "sample"
                else "has no value at their stamp month")
        print(
            f"labels: {counts['dropped']['index_missing']} of {len(months)} SST samples dropped because "
            f"the index ({index_source}) {what}; first: {table.attrs['first_index_missing']}",
            file=sys.stderr,
        )
    with provenance.atomic_output(output) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    provenance.write_json_atomic(counts_output, counts)
    return counts


def train(anomalies_path: str, labels_path: str, seed: int, model_output: str, metrics_output: str,
          model_config: dict[str, Any], training_config: dict[str, Any],
          class_names: Sequence[str]) -> dict[str, Any]:
    """Train one network for one seed; save it (HDF5) and its metrics (JSON)."""
    from geoxai.labels import check_both_classes
    from geoxai.models import (
        ModelSettings,
        TrainingSettings,
        predict_probabilities,
        save_model,
        train_model,
    )
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
        plotting.plot_case_study(inputs[0], inputs[1:], month, outputs, central_longitude=central, dpi=dpi,
                                 case_study_box=settings.get("case_study_box"))
    elif kind == "training":
        plotting.plot_training(inputs, outputs, dpi=dpi)
    elif kind == "index":
        labels = labels or {}
        plotting.plot_index(
            inputs[0], outputs,
            thresholds=(labels.get("negative_threshold", -0.5), labels.get("positive_threshold", 0.5)),
            class_names=labels.get("class_names", ("La Nina", "El Nino")),
            index_name=labels.get("index_name", "Niño3.4 index"),
            sample_name=labels.get("sample_name", "months"), dpi=dpi,
        )
    elif kind == "skill-map":
        plotting.plot_skill_map(inputs[0], outputs, dpi=dpi)
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
            if not entry.get("sha256"):  # a store read (CESM) records where, not a checksum
                entry["sha256"] = provenance.sha256_file(path)
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


# --------------------------------------------------------------------------- Application 2 (lst)


def synthesize_lst(settings: dict[str, Any] | None, out_dir: str, truth_dir: str) -> dict[str, str]:
    """CESM-like Zarr stores with a known answer under ``out_dir``; truth.nc/.json in
    ``truth_dir``."""
    from geoxai.synthetic_cesm import generate_cesm_like

    return generate_cesm_like(settings or {}, out_dir, truth_dir=truth_dir)


def fetch_cesm(
    store: str,
    variable: str,
    output: str,
    years: Sequence[int] | None = None,
    grid_store: str | None = None,
    month_stamp: str = "auto",
    static: bool = False,
    config: dict[str, Any] | None = None,
) -> None:
    """One CESM variable from a store (S3 Zarr, local Zarr or NetCDF) into a local NetCDF file.

    Monthly fields keep only ``years`` (inclusive); a ``static`` field (e.g. LANDFRAC) is written
    whole. Both leave ``<output>.provenance.json`` naming the store. Errors name the config keys
    of the field's section, found in ``config`` (the sections the rule passes for provenance).
    """
    from geoxai.cesm import fetch_cesm_variable, field_config_keys, open_cesm_static

    section = _field_section(config, variable)
    keys = field_config_keys(section) if section else {"years": "lst.years"}
    if section and (config or {}).get("lst.synthetic"):
        keys["store"] = "lst.synthetic"  # the store is the generated one, not the section's
    if not static:
        if not years or len(years) != 2:
            raise GeoxaiError(
                f"config key {keys['years']}: give [first, last] model years, e.g. [400, 2200] "
                f"(for {variable} from {store})"
            )
        fetch_cesm_variable(
            store,
            variable,
            (int(years[0]), int(years[1])),
            output,
            config=config,
            grid_store=grid_store or None,
            month_stamp=month_stamp,
            config_keys=keys,
        )
        return
    field = open_cesm_static(store, variable, config_keys=keys)
    dataset = field.to_dataset(name=variable)
    dataset.attrs = {"title": f"CESM {variable} (time-invariant)", "source": str(store)}
    provenance.write_netcdf_atomic(
        dataset, output, config=config, source_store=str(store), source_variable=variable
    )
    provenance.write_json_atomic(
        f"{output}.provenance.json", {"url": str(store), "variable": variable}
    )


def _field_section(config: dict[str, Any] | None, variable: str) -> str | None:
    """The config section (``lst.sst``, ``lst.trefht``, ...) whose ``variable`` is ``variable``.

    The fetch rules pass the sections they read, keyed by their full path, as the provenance
    config; one rule serves several fields, so the section is found there rather than passed.
    """
    sections = [key for key, value in (config or {}).items()
                if isinstance(value, dict) and value.get("variable") == variable]
    return sections[0] if len(sections) == 1 else None


def _season_length(seasons: Sequence[str]) -> int:
    """Months per season; the lead is counted in seasons, so all seasons must be equally long."""
    from geoxai.seasonal import parse_season

    lengths = {parse_season(season)[1] for season in seasons}
    if len(lengths) != 1:
        raise GeoxaiError(
            f"config key lst.anomalies.seasons={list(seasons)}: all seasons must have the same "
            "number of months (the lead is counted in seasons)"
        )
    return lengths.pop()


def lst_anomalies(
    sst_path: str,
    output: str,
    variable: str,
    settings: dict[str, Any],
    config: dict[str, Any] | None = None,
) -> None:
    """Seasonal SST anomalies of the CESM run on a regular grid, land 0 (the ENSO file layout)."""
    from geoxai.anomalies import dask_config
    from geoxai.seasonal import STANDARD_SEASONS, prepare_sst_anomalies, write_sst_anomalies

    sst = open_fetched_field(sst_path, variable, "lst.sst.variable", settings.get("time_chunk", 120))
    seasons = tuple(settings.get("seasons", STANDARD_SEASONS))
    _season_length(seasons)
    lat2d = lon2d = None
    if "TLAT" not in sst.coords and {"lat", "lon"} <= set(sst.dims):
        # A field already on a regular grid (e.g. the atm TS store) is binned like POP cells.
        lat2d, lon2d = xr.broadcast(sst["lat"], sst["lon"])
        sst = sst.transpose(..., "lat", "lon")
    with dask_config(settings.get("dask_scheduler", "threads")):
        dataset = prepare_sst_anomalies(
            sst,
            degrees=float(settings.get("grid_degrees", 2.0)),
            seasons=seasons,
            drift=settings.get("drift", "linear"),
            window_years=int(settings.get("window_years", 30)),
            lat2d=lat2d,
            lon2d=lon2d,
        )
    write_sst_anomalies(dataset, output, config=config, inputs={"sst": sst_path})


def _box_widths(edges: Sequence[float], wrap: bool) -> dict[float, float]:
    """Width of each box along one axis, keyed by its lower edge (longitudes wrapped to 0..360)."""
    values = [float(e) for e in edges]
    return {
        float(np.mod(low, 360.0)) if wrap else low: high - low
        for low, high in itertools.pairwise(values)
    }


def lst_targets(
    trefht_path: str,
    landfrac_path: str,
    output: str,
    boxes_output: str,
    targets_settings: dict[str, Any],
    anomaly_settings: dict[str, Any],
    trefht_variable: str = "TREFHT",
    landfrac_variable: str = "LANDFRAC",
    config: dict[str, Any] | None = None,
) -> list[str]:
    """Seasonal 2-m temperature anomaly per land box ``(time, box)``, and the list of kept boxes.

    Which boxes are kept depends on the land fraction, so the workflow learns the box list from
    ``boxes_output`` (JSON) after this step has run.
    """
    from geoxai.seasonal import (
        DEFAULT_BOX_LATS,
        DEFAULT_BOX_LONS,
        STANDARD_SEASONS,
        prepare_land_targets,
    )

    seasons = tuple(anomaly_settings.get("seasons", STANDARD_SEASONS))
    _season_length(seasons)
    lat_edges = targets_settings.get("lat_edges", DEFAULT_BOX_LATS)
    lon_edges = targets_settings.get("lon_edges", DEFAULT_BOX_LONS)
    trefht = open_fetched_field(trefht_path, trefht_variable, "lst.trefht.variable",
                         anomaly_settings.get("time_chunk", 120))
    land = open_fetched_field(landfrac_path, landfrac_variable, "lst.landfrac.variable").load()
    with xr.set_options(keep_attrs=True):
        targets = prepare_land_targets(
            trefht,
            land,
            lat_edges,
            lon_edges,
            float(targets_settings.get("land_threshold", 0.5)),
            seasons,
            anomaly_settings.get("drift", "linear"),
            int(anomaly_settings.get("window_years", 30)),
        )
    lat_width, lon_width = _box_widths(lat_edges, wrap=False), _box_widths(lon_edges, wrap=True)
    box_lat, box_lon = targets["box_lat"].values, targets["box_lon"].values
    targets = targets.assign_coords(
        box_lat_max=(
            "box",
            [v + lat_width[float(v)] for v in box_lat],
            {"long_name": "northern edge of the box", "units": "degrees_north"},
        ),
        box_lon_max=(
            "box",
            [v + lon_width[float(v)] for v in box_lon],
            {"long_name": "eastern edge of the box (may exceed 360)", "units": "degrees_east"},
        ),
    )
    targets["box_lat"].attrs = {"long_name": "southern edge of the box", "units": "degrees_north"}
    targets["box_lon"].attrs = {"long_name": "western edge of the box", "units": "degrees_east"}
    targets["box_land_fraction"].attrs = {"long_name": "land area / box area", "units": "1"}
    dataset = targets.to_dataset()
    dataset.attrs = {
        "title": "Seasonal 2-m air temperature anomalies of the target land boxes",
        "seasons": ",".join(s.upper() for s in seasons),
    }
    provenance.write_netcdf_atomic(
        dataset, output, config=config, inputs={"trefht": trefht_path, "landfrac": landfrac_path}
    )
    boxes = [str(box) for box in targets["box"].values]
    provenance.write_json_atomic(
        boxes_output,
        {
            "boxes": boxes,
            "land_threshold": float(targets_settings.get("land_threshold", 0.5)),
            "land_fraction": {
                box: round(float(f), 4)
                for box, f in zip(boxes, targets["box_land_fraction"].values, strict=True)
            },
        },
    )
    return boxes


def lst_labels(
    targets_path: str,
    anomalies_path: str,
    box: str,
    output: str,
    lead: int,
    settings: dict[str, Any],
) -> pd.DataFrame:
    """The label table of one box: sign of its 2-m temperature anomaly ``lead`` seasons after
    each SST season that has anomalies, the chronological split, and the persistence forecast."""
    from geoxai.labels import check_both_classes, chronological_split
    from geoxai.samples import open_anomalies
    from geoxai.seasonal import lead_labels

    with xr.open_dataset(targets_path) as dataset:
        targets = dataset["trefht_box_anomaly"].load()
        seasons = dataset.attrs.get("seasons", "DJF,MAM,JJA,SON").split(",")
    known = [str(b) for b in targets["box"].values]
    if box not in known:
        raise GeoxaiError(
            f"target box {box!r} is not among the land boxes of {targets_path} "
            f"({', '.join(known)}): choose lst.explain_targets from these, or change lst.targets"
        )
    train_fraction = float(settings.get("train_fraction", 0.8))
    table = lead_labels(
        targets.sel(box=[box]),
        lead=int(lead),
        train_fraction=train_fraction,
        season_months=_season_length(seasons),
    )[box]
    with open_anomalies(anomalies_path) as anomalies:
        sst_seasons = set(anomalies["time_key"].values.astype(str))
    table = table[table["time"].isin(sst_seasons)].reset_index(drop=True)
    if table.empty:
        raise GeoxaiError(
            f"no season of {targets_path} has SST anomalies in {anomalies_path}: both must come "
            "from the same run, years and seasons"
        )
    table["split"] = chronological_split(len(table), train_fraction)
    class_names = settings.get("class_names", ["cold", "warm"])
    check_both_classes(table, class_names, f"{output} (box {box})")
    with provenance.atomic_output(output) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    return table


def _seed_accuracies(evaluation_csv: str) -> pd.DataFrame:
    table = pd.read_csv(evaluation_csv, dtype={"seed": str})
    per_seed = table[table["seed"].str.fullmatch(r"\d+")]
    if per_seed.empty or "validation_accuracy" not in per_seed:
        raise GeoxaiError(
            f"{evaluation_csv} has no per-seed validation accuracy: rerun the evaluate rule"
        )
    return per_seed.astype({"seed": int})


def persistence_accuracy(labels: pd.DataFrame, split: str = "validation") -> float:
    """Accuracy on ``split`` of carrying this season's sign forward (the ``persistence`` column)."""
    rows = labels[labels["split"] == split]
    return float((rows["persistence"] == rows["label"]).mean()) if len(rows) else float("nan")


#: How a per-seed value is summarised over seeds: variable suffix, reduction, words, CF method.
SEED_STATISTICS = {
    "median": ("median", np.nanmedian, "median", "median"),
    "min": ("min", np.nanmin, "lowest", "minimum"),
    "max": ("max", np.nanmax, "highest", "maximum"),
}


def skill(
    evaluation_paths: Sequence[str],
    label_paths: Sequence[str],
    targets_path: str,
    output: str,
    config: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Validation accuracy of every box's networks beside its persistence baseline and chance."""
    from geoxai.labels import read_label_table

    evaluations = {Path(p).stem: _seed_accuracies(p) for p in evaluation_paths}
    tables = {Path(p).stem: read_label_table(p) for p in label_paths}
    if set(evaluations) != set(tables):
        raise GeoxaiError("skill: the evaluation and label files name different boxes")
    with xr.open_dataset(targets_path) as targets:
        boxes = [str(b) for b in targets["box"].values if str(b) in evaluations]
        edges = targets[["box_lat", "box_lat_max", "box_lon", "box_lon_max", "box_land_fraction"]]
        edges = edges.reset_coords()[list(edges.coords)].sel(box=boxes).load()
    if not boxes:
        raise GeoxaiError(f"skill: none of the evaluated boxes is in {targets_path}")
    seeds = sorted({int(s) for table in evaluations.values() for s in table["seed"]})
    accuracy = np.full((len(boxes), len(seeds)), np.nan)
    train = np.full_like(accuracy, np.nan)
    for i, box in enumerate(boxes):
        for _, row in evaluations[box].iterrows():
            accuracy[i, seeds.index(int(row["seed"]))] = row["validation_accuracy"]
            train[i, seeds.index(int(row["seed"]))] = row.get("train_accuracy", np.nan)
    one = {"units": "1"}
    box_dim, grid = ("box",), ("box", "seed")
    dataset = xr.Dataset(
        {
            "validation_accuracy": (
                grid,
                accuracy.astype(np.float32),
                {**one, "long_name": "validation accuracy of each network (seed)"},
            ),
            **{
                f"{name}_{label}": (
                    box_dim,
                    reduce(values, 1).astype(np.float32),
                    {**one, "long_name": f"{word} {name.replace('_', ' ')} over seeds",
                     "cell_methods": f"seed: {method}"},
                )
                for name, values, statistics in (
                    ("validation_accuracy", accuracy, ("median", "min", "max")),
                    ("train_accuracy", train, ("median",)),
                )
                for label, reduce, word, method in (
                    SEED_STATISTICS[statistic] for statistic in statistics
                )
            },
            "persistence_accuracy": (
                box_dim,
                np.array([persistence_accuracy(tables[b]) for b in boxes], np.float32),
                {
                    **one,
                    "long_name": "validation accuracy of persistence (this season's sign carried "
                    "forward)",
                },
            ),
            "validation_samples": (
                box_dim,
                np.array(
                    [int((tables[b]["split"] == "validation").sum()) for b in boxes], np.int32
                ),
                {**one, "long_name": "number of validation samples"},
            ),
            "warm_fraction_validation": (
                box_dim,
                np.array(
                    [
                        float(tables[b].loc[tables[b]["split"] == "validation", "label"].mean())
                        for b in boxes
                    ],
                    np.float32,
                ),
                {**one, "long_name": "fraction of validation samples labelled warm (class 1)"},
            ),
            "chance_accuracy": (
                (),
                np.float32(0.5),
                {**one, "long_name": "accuracy of a random guess between two classes"},
            ),
        },
        coords={
            "box": ("box", boxes, {"long_name": "target box (lower-left corner)"}),
            "seed": ("seed", np.array(seeds, np.int32), {"long_name": "random seed"}),
            "lat": (
                "box",
                0.5 * (edges["box_lat"].values + edges["box_lat_max"].values),
                {
                    "units": "degrees_north",
                    "standard_name": "latitude",
                    "long_name": "box centre latitude",
                },
            ),
            "lon": (
                "box",
                0.5 * (edges["box_lon"].values + edges["box_lon_max"].values),
                {
                    "units": "degrees_east",
                    "standard_name": "longitude",
                    "long_name": "box centre longitude",
                },
            ),
            **{
                name: (
                    "box",
                    edges[name].values,
                    {
                        "units": "degrees_north"
                        if "lat" in name
                        else ("degrees_east" if "lon" in name else "1")
                    },
                )
                for name in (
                    "box_lat",
                    "box_lat_max",
                    "box_lon",
                    "box_lon_max",
                    "box_land_fraction",
                )
            },
        },
        attrs={
            "title": "Skill of next-season 2-m temperature sign per land box",
            "comment": "validation = the last part of the record (chronological split)",
        },
    )
    provenance.write_netcdf_atomic(dataset, output, config=config, inputs={"targets": targets_path})
    return dataset
