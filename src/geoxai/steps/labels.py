"""Rules of labels.smk: each front end's label tables (and Application 2's target boxes)."""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd
import xarray as xr

from geoxai.core import provenance
from geoxai.core.errors import GeoxaiError
from geoxai.products.anomalies import open_anomalies
from geoxai.products.labels import write_counts, write_label_table


def labels(index_path: str, anomalies_path: str, output: str, counts_output: str,
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
    write_label_table(table, output)
    write_counts(counts_output, counts)
    return counts


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
    from geoxai.lst.boxes import prepare_land_targets, upper_edges
    from geoxai.lst.cesm import open_fetched_field
    from geoxai.lst.seasonal import season_length
    from geoxai.lst.settings import LstAnomalySettings, LstTargetSettings
    from geoxai.products.targets import targets_dataset, write_targets

    chosen = LstTargetSettings.from_config(targets_settings)
    anomaly_chosen = LstAnomalySettings.from_config(anomaly_settings)
    seasons = tuple(anomaly_chosen.seasons)
    season_length(seasons)
    lat_edges, lon_edges = list(chosen.lat_edges), list(chosen.lon_edges)
    land_threshold = float(chosen.land_threshold)
    trefht = open_fetched_field(trefht_path, trefht_variable, "lst.trefht.variable",
                          anomaly_chosen.time_chunk)
    land = open_fetched_field(landfrac_path, landfrac_variable, "lst.landfrac.variable").load()
    with xr.set_options(keep_attrs=True):
        targets = prepare_land_targets(
            trefht,
            land,
            lat_edges,
            lon_edges,
            land_threshold,
            seasons,
            anomaly_chosen.drift,
            int(anomaly_chosen.window_years),
        )
    dataset = targets_dataset(
        targets,
        upper_edges(targets["box_lat"].values, lat_edges, wrap=False),
        upper_edges(targets["box_lon"].values, lon_edges, wrap=True),
        seasons,
    )
    return write_targets(dataset, output, boxes_output, land_threshold, config,
                         {"trefht": trefht_path, "landfrac": landfrac_path})


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
    from geoxai.learn.labels import check_both_classes, chronological_split
    from geoxai.lst.boxes import lead_labels
    from geoxai.lst.seasonal import season_length
    from geoxai.lst.settings import LstLabelSettings
    from geoxai.products.targets import read_box_targets

    chosen = LstLabelSettings.from_config(settings)
    targets, seasons = read_box_targets(targets_path, box)
    train_fraction = float(chosen.train_fraction)
    table = lead_labels(
        targets,
        lead=int(lead),
        train_fraction=train_fraction,
        season_months=season_length(seasons),
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
    check_both_classes(table, list(chosen.class_names), f"{output} (box {box})")
    write_label_table(table, output)
    return table
