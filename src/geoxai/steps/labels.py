"""Rules of labels.smk: each front end's label tables (and Application 2's target boxes)."""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd
import xarray as xr

from geoxai.core import provenance
from geoxai.core.errors import GeoxaiError
from geoxai.lst.settings import LstLabelSettings
from geoxai.products.anomalies import open_anomalies
from geoxai.products.labels import write_counts, write_label_table


def enso_labels(index: str, anomalies: str, table: str, counts: str,
                index_spec: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """Phase labels from the index for the samples that have anomalies; the chronological split.

    With ``index_months: sample`` the index is averaged over the months each sample covers, which
    the anomaly file records (``covered_months``); samples the index does not fully cover are
    dropped, and counted under ``dropped`` in the counts.
    """

    from geoxai.core.months import COVERED
    from geoxai.enso.index import read_index
    from geoxai.learn.labels import LabelSettings, check_both_classes, count_classes, phase_labels

    label_settings = LabelSettings.from_config(settings)
    index_series = read_index(index, index_spec)
    index_source = provenance.describe_input(index, "enso.index.url")
    with open_anomalies(anomalies) as anomaly_file:
        months = anomaly_file["time_key"].values.astype(str)
        covered = anomaly_file[COVERED].values.astype(str) if COVERED in anomaly_file.coords else None
        sst_input = anomaly_file.attrs.get("input_sst")
    samples_source = str(anomalies)
    if sst_input:
        samples_source += f" (from {provenance.describe_input(sst_input, 'enso.sst.url')})"
    labelled = phase_labels(index_series, months, label_settings, covered=covered,
                            source=index_source, samples_source=samples_source)
    check_both_classes(labelled, label_settings.class_names, index_source)
    class_counts = count_classes(labelled, label_settings.class_names)
    class_counts["index_months"] = label_settings.index_months
    class_counts["samples"] = len(months)
    class_counts["dropped"] = dict(labelled.attrs.get("dropped", {}))
    if class_counts["dropped"].get("index_missing"):
        what = ("does not have every month they cover" if label_settings.index_months == "sample"
                else "has no value at their stamp month")
        print(
            f"enso_labels: {class_counts['dropped']['index_missing']} of {len(months)} SST samples dropped because "
            f"the index ({index_source}) {what}; first: {labelled.attrs['first_index_missing']}",
            file=sys.stderr,
        )
    write_label_table(labelled, table)
    write_counts(counts, class_counts)
    return class_counts


def lst_targets(
    trefht: str,
    landfrac: str,
    targets: str,
    boxes: str,
    settings: dict[str, Any],
    anomaly_settings: dict[str, Any],
    train_fraction: float = LstLabelSettings.train_fraction,
    trefht_variable: str = "TREFHT",
    landfrac_variable: str = "LANDFRAC",
    config: dict[str, Any] | None = None,
) -> list[str]:
    """Seasonal 2-m temperature anomaly per land box ``(time, box)``, and the list of kept boxes.

    Which boxes are kept depends on the land fraction, so the workflow learns the box list from
    ``boxes`` (JSON) after this step has run. Climatology and drift are fitted on the first
    ``train_fraction`` of the seasons (lst.labels.train_fraction), the
    training period that lst_anomalies fits the SST on too.
    """
    from geoxai.lst.boxes import prepare_land_targets, upper_edges
    from geoxai.lst.cesm import open_fetched_field
    from geoxai.lst.seasonal import season_length
    from geoxai.lst.settings import LstAnomalySettings, LstTargetSettings
    from geoxai.products.targets import targets_dataset, write_targets

    chosen = LstTargetSettings.from_config(settings)
    anomaly_chosen = LstAnomalySettings.from_config(anomaly_settings)
    seasons = tuple(anomaly_chosen.seasons)
    season_length(seasons)
    lat_edges, lon_edges = list(chosen.lat_edges), list(chosen.lon_edges)
    land_threshold = float(chosen.land_threshold)
    temperature = open_fetched_field(trefht, trefht_variable, "lst.trefht.variable",
                                     anomaly_chosen.time_chunk)
    land = open_fetched_field(landfrac, landfrac_variable, "lst.landfrac.variable").load()
    with xr.set_options(keep_attrs=True):
        box_targets = prepare_land_targets(
            temperature,
            land,
            lat_edges,
            lon_edges,
            land_threshold,
            seasons,
            anomaly_chosen.drift,
            int(anomaly_chosen.window_years),
            float(train_fraction),
        )
    dataset = targets_dataset(
        box_targets,
        upper_edges(box_targets["box_lat"].values, lat_edges, wrap=False),
        upper_edges(box_targets["box_lon"].values, lon_edges, wrap=True),
        seasons,
    )
    return write_targets(dataset, targets, boxes, land_threshold, config,
                         {"trefht": trefht, "landfrac": landfrac})


def lst_labels(
    targets: str,
    anomalies: str,
    target: str,
    table: str,
    lead: int,
    settings: dict[str, Any],
) -> pd.DataFrame:
    """The label table of one box: sign of its 2-m temperature anomaly ``lead`` seasons after
    each SST season that has anomalies, the chronological split, and the persistence forecast."""
    from geoxai.learn.labels import check_both_classes, chronological_split
    from geoxai.lst.boxes import lead_labels
    from geoxai.lst.seasonal import season_length
    from geoxai.products.targets import read_box_targets

    chosen = LstLabelSettings.from_config(settings)
    box_targets, seasons = read_box_targets(targets, target)
    train_fraction = float(chosen.train_fraction)
    labelled = lead_labels(
        box_targets,
        lead=int(lead),
        train_fraction=train_fraction,
        season_months=season_length(seasons),
    )[target]
    with open_anomalies(anomalies) as anomaly_file:
        sst_seasons = set(anomaly_file["time_key"].values.astype(str))
    labelled = labelled[labelled["time"].isin(sst_seasons)].reset_index(drop=True)
    if labelled.empty:
        raise GeoxaiError(
            f"no season of {targets} has SST anomalies in {anomalies}: both must come "
            "from the same run, years and seasons"
        )
    labelled["split"] = chronological_split(len(labelled), train_fraction)
    _check_fitting_periods(targets, anomalies)
    check_both_classes(labelled, list(chosen.class_names), f"{table} (box {target})")
    write_label_table(labelled, table)
    return labelled


def _check_fitting_periods(targets: str, anomalies: str) -> None:
    """Warn when SST and TREFHT anomalies were fitted on different training periods (they are
    the same when both come from the same lst.years)."""
    periods = {}
    for path in (targets, anomalies):
        with provenance.open_product(path) as dataset:
            periods[path] = dataset.attrs.get("climatology_period")
    if None not in periods.values() and len(set(periods.values())) > 1:
        print("lst_labels: the climatology of " + " and of ".join(
            f"{path} was fitted on {period}" for path, period in periods.items())
            + ": give both the same years (lst.years)", file=sys.stderr)
