"""The HTML pages of the Snakemake report: the tables, the accuracy page, the run summary and the
known-answer page. Each is a whole small document (the report shows it in a frame) with one shared
inline style, so it reads the same offline as on a server."""

from __future__ import annotations

import datetime as _dt
import html
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geoxai.core import provenance
from geoxai.core.names import display_name

#: One style for every page: the report's frame shows the page as it is, without the report's CSS.
STYLE = """<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; font-size: 14px;
       color: #1e293b; margin: 1em 1.5em; line-height: 1.4; }
h2 { font-size: 1.3em; margin: 0.2em 0 0.6em; }
h3 { font-size: 1.05em; margin: 1.4em 0 0.4em; }
table { border-collapse: collapse; margin: 0.3em 0 1em; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #cbd5e1; text-align: right;
         vertical-align: top; overflow-wrap: anywhere; }
th { background: #f1f5f9; font-weight: 600; }
th:first-child, td:first-child { text-align: left; }
tr.summary td { background: #f8fafc; font-style: italic; }
td.text, th.text { text-align: left; }
code, pre { font-size: 12px; }
pre { background: #f8fafc; padding: 0.6em; border: 1px solid #e2e8f0; overflow-x: auto; }
p.note { color: #475569; max-width: 60em; }
</style>"""


def html_page(title: str, body: str) -> str:
    title = display_name(title)
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title>\n{STYLE}</head>\n<body>\n"
            f"<h2>{html.escape(title)}</h2>\n{body}\n</body></html>\n")


def format_value(value: Any) -> str:
    """A table cell as shown: numbers to three decimals, names with their proper spelling (the
    files' "El Nino" as El Niño, :func:`geoxai.core.names.display_name`)."""
    if isinstance(value, (float, np.floating)):
        return "–" if not np.isfinite(value) else f"{value:.3f}"
    return html.escape(display_name(str(value)))


def table_html(table: pd.DataFrame, summary_rows: Sequence[int] = ()) -> str:
    """``table`` as HTML with its column names as headers; rows in ``summary_rows`` set apart.
    Columns of words are aligned left, numbers right."""
    words = [not pd.api.types.is_numeric_dtype(table[c]) for c in table.columns]
    cell = ['<td class="text">' if w else "<td>" for w in words]
    opening = ['<th class="text">' if w else "<th>" for w in words]
    header = "".join(f"{o}{html.escape(display_name(str(c)))}</th>"
                     for o, c in zip(opening, table.columns, strict=True))
    rows = []
    for i, row in enumerate(table.itertuples(index=False)):
        css = ' class="summary"' if i in summary_rows else ""
        rows.append(f"<tr{css}>" + "".join(f"{c}{format_value(v)}</td>"
                                           for c, v in zip(cell, row, strict=True)) + "</tr>")
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def write_html_table(table: pd.DataFrame, path: str | os.PathLike, title: str) -> None:
    provenance.write_text_atomic(path, html_page(title, table_html(table)))


# --- accuracy -------------------------------------------------------------------------------

def write_accuracy_page(evaluation: pd.DataFrame, labels: pd.DataFrame,
                        metrics: Sequence[Mapping[str, Any]], path: str | os.PathLike,
                        title: str) -> dict[str, Any]:
    """Accuracy per seed (training, validation, balanced validation), the baselines (chance:
    the best constant forecast on the validation split; persistence where the labels have it),
    the class counts per split, and each network's validation confusion matrix. Returns the
    headline numbers."""
    from geoxai.learn.metrics import balanced_accuracy, persistence_accuracy, skill_against_chance

    class_names = list(metrics[0]["class_names"]) if metrics else []
    by_seed = {str(m["seed"]): m for m in metrics}
    table = evaluation.copy()
    balanced = [balanced_accuracy(by_seed[s]["confusion"]["validation"]) if s in by_seed
                else np.nan for s in table["seed"]]
    per_seed = table["seed"].str.fullmatch(r"\d+")
    values = pd.Series(balanced)[per_seed.to_numpy()]
    summary = {"median": values.median(), "min": values.min(), "max": values.max(),
               "std": values.std(ddof=0)}
    table["balanced"] = [summary.get(s, b) for s, b in zip(table["seed"], balanced, strict=True)]
    readable = pd.DataFrame({
        "Seed": table["seed"],
        "Training accuracy": table["train_accuracy"],
        "Validation accuracy": table["validation_accuracy"],
        "Validation balanced accuracy": table["balanced"],
    })
    parts = [table_html(readable, summary_rows=[i for i, s in enumerate(per_seed) if not s])]

    seed_accuracy = table.loc[per_seed, "validation_accuracy"].astype(float).to_numpy()
    skill = skill_against_chance(seed_accuracy, labels)
    validation = labels[labels["split"] == "validation"]
    majority = int(validation["label"].value_counts().idxmax()) if len(validation) else -1
    majority_name = class_names[majority] if 0 <= majority < len(class_names) else str(majority)
    has_persistence = "persistence" in labels.columns
    persistence = persistence_accuracy(labels) if has_persistence else float("nan")
    baselines = pd.DataFrame([
        ("Networks (median over seeds)", skill["median_accuracy"],
         f"one-sided binomial p = {skill['p_value']:.2g} against chance"),
        (f"Chance: always {majority_name}", skill["chance"],
         "the best constant forecast on the validation split"),
        ("Persistence", persistence,
         "this season's sign carried forward" if has_persistence else
         "not applicable: each sample is classified in its own month"),
    ], columns=["Forecast", "Validation accuracy", "Note"])
    parts.append("<h3>Against the baselines</h3>" + table_html(baselines))

    counts = pd.DataFrame({
        "Class": class_names or sorted(labels["label"].unique()),
    })
    for split, name in (("train", "Training"), ("validation", "Validation")):
        rows = labels[labels["split"] == split]["label"].astype(int)
        counts[name] = [int((rows == c).sum()) for c in range(len(counts))]
    counts["All"] = counts["Training"] + counts["Validation"]
    parts.append("<h3>Samples per class</h3>" + table_html(counts))

    matrices = []
    for seed in sorted(by_seed, key=int):
        confusion = np.asarray(by_seed[seed]["confusion"]["validation"], dtype=int)
        frame = pd.DataFrame(confusion, columns=[f"predicted {c}" for c in class_names])
        frame.insert(0, f"seed {seed}: true class", class_names)
        matrices.append(table_html(frame))
    parts.append("<h3>Confusion matrices (validation; rows the true class)</h3>"
                 + "".join(matrices))
    provenance.write_text_atomic(path, html_page(title, "\n".join(parts)))
    return {"median_accuracy": skill["median_accuracy"], "chance": skill["chance"],
            "persistence": persistence, "p_value": skill["p_value"]}


# --- run summary ----------------------------------------------------------------------------

#: The Snakefile's ``configfile:``, which every other config file is merged over.
SNAKEFILE_CONFIG = "config/config.yaml"

#: Config keys that say where an application's data come from: not used when it is synthetic.
SOURCE_KEYS = ("url", "sha256", "store", "grid_store")


def synthetic_application(path: str, config: Mapping[str, Any]) -> str | None:
    """The application whose synthetic source generated ``path`` (resources/<app>/...), if any."""
    parts = Path(path).parts
    app = parts[1] if len(parts) > 2 and parts[0] == "resources" else None
    if app and (config.get(app) or {}).get("synthetic"):
        return app
    return None


def source_description(path: str, config: Mapping[str, Any]) -> tuple[str, str]:
    """Where an input came from, in words, and its sha256 (the fetch rules leave
    ``<path>.provenance.json``; a local file is linked)."""
    record_path = Path(f"{path}.provenance.json")
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    checksum = record.get("sha256") or provenance.sha256_file(path)
    app = synthetic_application(path, config)
    if app:
        seed = config[app]["synthetic"].get("seed", "?")
        where = f", read from the generated store {record['url']}" if record.get("url") else ""
        return f"generated (synthetic, seed {seed}){where}", checksum
    if Path(path).is_symlink():
        return f"your file {os.readlink(path)}", checksum
    if record.get("url"):
        retrieved = f" (retrieved {record['retrieved']})" if record.get("retrieved") else ""
        return f"{record['url']}{retrieved}", checksum
    return "computed by the workflow", checksum


def used_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration as this run used it: the sections of applications it did not run are
    left out, and so are the data locations of an application whose data are synthetic."""
    applications = list(config.get("applications", []))
    known = {"enso", "lst"}
    used = {k: v for k, v in config.items() if k not in known or k in applications}
    for app in applications:
        section = used.get(app)
        if not isinstance(section, dict) or not section.get("synthetic"):
            continue
        used[app] = {
            key: ({k: v for k, v in value.items() if k not in SOURCE_KEYS}
                  if isinstance(value, dict) and key != "synthetic" else value)
            for key, value in section.items()
        }
    return used


def readable_path(path: str) -> str:
    """``path`` relative to the working directory when it lies inside it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def write_run_summary(config: Mapping[str, Any], inputs: Sequence[str], path: str | os.PathLike,
                      configfiles: Sequence[str] = ()) -> None:
    now = _dt.datetime.now(_dt.UTC)
    # Snakemake lists the files given with --configfile before the Snakefile's own configfile:,
    # which they are merged over
    given = [readable_path(f) for f in configfiles]
    configfiles = ([f for f in given if f == SNAKEFILE_CONFIG]
                   + [f for f in given if f != SNAKEFILE_CONFIG])
    run = pd.DataFrame([
        ("Applications", ", ".join(config.get("applications", []))),
        ("Seeds", ", ".join(str(s) for s in config.get("seeds", []))),
        ("Config files", ", then ".join(configfiles) + (" over it" if len(configfiles) > 1
                                                          else "") if configfiles else "–"),
        ("Command (as recorded)", "snakemake "
         + " ".join(f"--configfile {f}" for f in configfiles if f != SNAKEFILE_CONFIG)
         + " (other options, from the command line or a profile, are not recorded)"),
        ("Date", f"{now:%Y-%m-%d %H:%M} UTC (when the run's data were ready)"),
        ("git commit", provenance.git_commit()),
    ], columns=["Run", ""])
    rows = []
    for name in inputs:
        source, checksum = source_description(name, config)
        rows.append((name, source, checksum))
    data = pd.DataFrame(rows, columns=["File", "Source", "sha256"])
    software = pd.DataFrame(sorted(provenance.package_versions().items()),
                            columns=["Package", "Version"])
    body = (
        table_html(run)
        + "<h3>Data</h3>" + table_html(data)
        + "<h3>Software</h3>" + table_html(software)
        + "<h3>Configuration as used</h3><p class=\"note\">Sections of applications the run did not "
          "include, and the data locations of a synthetic source, are left out.</p><pre>"
        + html.escape(json.dumps(used_config(config), indent=2, sort_keys=True), quote=False) + "</pre>"
    )
    provenance.write_text_atomic(path, html_page("Run summary", body))


# --- known answer ---------------------------------------------------------------------------

def write_known_answer_page(scores: Mapping[str, Any], path: str | os.PathLike) -> None:
    """The known-answer scores of :func:`geoxai.products.known_answer.known_answer_scores` as
    tables, one per application."""
    parts = []
    enso = scores.get("enso")
    if enso:
        parts.append("<h3>Application 1 (ENSO): the signal lives only in the driving region</h3>")
        first, *others = enso["class_names"]
        correlation = enso["optimal_input_correlation"]
        parts.append(table_html(pd.DataFrame([
            ("Median validation accuracy", enso["median_accuracy"],
             f"chance {enso['chance']:.3f}"),
            *[(f"{name} optimal input: pattern correlation with the true pattern",
               correlation[name], "1 = the true pattern") for name in others],
            (f"{first} optimal input: pattern correlation with minus the true pattern",
             correlation[first], "1 = the true pattern, reversed"),
        ], columns=["Measure", "Value", "Reference"])))
        parts.append(region_share_table(enso["region_share"], enso["class_names"]))
    lst = scores.get("lst")
    if lst:
        parts.append(f"<h3>Application 2 (land temperature): only box {html.escape(lst['driven_box'])}"
                     " is driven, by SST in the driver region</h3>")
        boxes = pd.DataFrame([
            (box, value, "driven" if box == lst["driven_box"] else "noise")
            for box, value in lst["box_accuracy"].items()
        ], columns=["Box", "Median validation accuracy", "Truth"])
        parts.append(table_html(boxes))
        parts.append(f'<p class="note">Best possible accuracy of the driven box '
                     f'{lst["best_possible_accuracy"]:.3f}; the others 0.5.</p>')
        if lst.get("region_share"):
            parts.append(region_share_table(lst["region_share"], lst["class_names"]))
    provenance.write_text_atomic(path, html_page("Known answer", "\n".join(parts)))


def region_share_table(shares: Mapping[str, Sequence[float]], class_names: Sequence[str]) -> str:
    """Per method and class: the share of |relevance| in the region over its share of ocean area."""
    frame = pd.DataFrame(
        [(method, *values) for method, values in shares.items()],
        columns=["Method", *[f"{c}: relevance share / area share" for c in class_names]],
    )
    return ('<p class="note">Composite relevance inside the region, as a share of all relevance, '
            "divided by the region's share of the ocean area: 1 is relevance spread evenly, "
            "higher is concentrated on the region.</p>" + table_html(frame))


# --- end of a run ---------------------------------------------------------------------------

def end_of_run_summary(results: str = "results", report: str = "results/report.html") -> str:
    """A few lines for the console after a run and its report: where the report is, the
    headline accuracy of each application, and the known-answer scores (synthetic runs)."""
    from geoxai.core.errors import GeoxaiError
    from geoxai.learn.metrics import skill_against_chance
    from geoxai.products.labels import read_label_table
    from geoxai.products.metrics import read_seed_accuracies

    root = Path(results)
    missing = [path for path in (Path(report),) if not path.is_file()]
    enso = (root / "enso/evaluation/nino34.csv", root / "enso/labels/nino34.csv")
    lst = root / "lst/skill.nc"
    if not any(path.is_file() for path in (enso[0], lst)):
        missing.append(f"{enso[0]} or {lst}")
    if missing:
        raise GeoxaiError(
            f"no finished run to summarise: {', '.join(str(m) for m in missing)} missing. Run the "
            "workflow and its report first (make demo, or snakemake ... then snakemake --report "
            f"{report})")
    lines = [f"Report: {Path(report).resolve()}"]
    if enso[0].is_file():
        skill = skill_against_chance(read_seed_accuracies(enso[0])["validation_accuracy"],
                                     read_label_table(enso[1]))
        lines.append(f"ENSO ({display_name('Nino3.4')}): median validation accuracy {skill['median_accuracy']:.3f} "
                     f"against chance {skill['chance']:.3f} (p = {skill['p_value']:.1e})")
    if lst.is_file():
        with provenance.open_product(lst) as dataset:
            medians = dataset["validation_accuracy_median"].to_series()
            chance = dataset["chance_accuracy"].to_series()
            significant = int(dataset["significant"].sum())
        best = medians.idxmax()
        others = medians.drop(best)
        spread = (f"; the other {len(others)} {others.min():.3f}-{others.max():.3f}"
                  if len(others) else "")
        lines.append(f"Land temperature: best box {best} {medians[best]:.3f} (chance "
                     f"{chance[best]:.3f}){spread}; {significant} of {len(medians)} significant")
    known = root / "report/known_answer.json"
    if known.is_file():
        scores = json.loads(known.read_text())
        if "enso" in scores:
            part = scores["enso"]
            best = max(part["region_share"], key=lambda m: min(part["region_share"][m]))
            paper = part["region_share"].get("alpha_1_beta_0")
            warm = part["class_names"][-1]
            correlation = part["optimal_input_correlation"].get(warm)
            lines.append(
                "Known answer, ENSO: relevance in the driving region "
                + (f"{min(paper):.1f}x its area share (alpha_1_beta_0), " if paper else "")
                + f"{min(part['region_share'][best]):.1f}x ({best}, the best); "
                f"{display_name(warm)} optimal input vs the true pattern r = {correlation:.2f}")
        if "lst" in scores:
            part = scores["lst"]
            shares = part.get("region_share") or {}
            method = "alpha_1_beta_0" if "alpha_1_beta_0" in shares else next(iter(shares), None)
            share = (f"; its relevance in the driver region {min(shares[method]):.1f}x its area "
                     f"share ({method})" if method else "")
            lines.append(
                f"Known answer, land temperature: driven box {part['driven_box']} "
                f"{part['driven_accuracy']:.3f} (best possible {part['best_possible_accuracy']:.3f}),"
                f" the other boxes' median {part['other_boxes_median_accuracy']:.3f}" + share)
    return "\n".join(lines)


# --- the rule graph of the Snakemake report -------------------------------------------------

#: Pixels between the rule graph's rows (Snakemake: 50, which makes 30 rules 1,500 px tall).
RULE_SPACING = 28
RULE_GRAPH = re.compile(r"^(\s*var rulegraph_spec = )(\{.*\});\s*$", re.MULTILINE)


def merge_rule_graph(spec: dict[str, Any]) -> dict[str, Any]:
    """One node per rule in the report's rule graph (a vega spec).

    Snakemake (9.x, ``report/rulegraph_spec.py``) keeps one job per rule per level of the job
    graph's topological order; the two applications reach ``train`` after different numbers of
    steps, so ``train`` and everything after it would appear twice. The nodes keep their first
    place, and every link of a dropped copy moves to the node kept."""
    data = {entry["name"]: entry for entry in spec["data"]}
    nodes = data["node-data"]["values"]
    kept: list[str] = []
    for node in nodes:
        if node["rule"] not in kept:
            kept.append(node["rule"])
    position = {rule: i for i, rule in enumerate(kept)}
    pairs: list[tuple[int, int]] = []
    for link in data["link-data"]["values"] + data["link-data-direct"]["values"]:
        pair = (position[link["sourcerule"]], position[link["targetrule"]])
        if pair[0] != pair[1] and pair not in pairs:
            pairs.append(pair)
    x = nodes[0]["fx"] if nodes else 10
    data["node-data"]["values"] = [{"rule": rule, "fx": x, "fy": i * RULE_SPACING}
                                   for i, rule in enumerate(kept)]

    def link(source: int, target: int) -> dict[str, Any]:
        return {"source": source, "target": target, "sourcerule": kept[source],
                "targetrule": kept[target], "value": 1}

    # Snakemake draws links between neighbours straight and the others as arcs
    data["link-data"]["values"] = [link(s, t) for s, t in pairs if abs(t - s) != 1]
    data["link-data-direct"]["values"] = [link(s, t) for s, t in pairs if abs(t - s) == 1]
    return spec


def tidy_report(report: str = "results/report.html") -> str:
    """Rewrite the rule graph of a Snakemake report so that each rule appears once (see
    :func:`merge_rule_graph`); run after ``snakemake --report`` (``make report`` does)."""
    from geoxai.core.errors import GeoxaiError

    path = Path(report)
    if not path.is_file():
        raise GeoxaiError(f"{report} does not exist: make it with snakemake --report {report}")
    text = path.read_text(encoding="utf-8")
    match = RULE_GRAPH.search(text)
    if not match:
        raise GeoxaiError(f"{report} has no rule graph (var rulegraph_spec = ...): is it a "
                          "Snakemake 9 HTML report?")
    spec = merge_rule_graph(json.loads(match.group(2)))
    before = match.group(2).count('"rule":')
    text = text[:match.start(2)] + json.dumps(spec) + text[match.end(2):]
    provenance.write_text_atomic(path, text)
    rules = len(spec["data"][0]["values"])
    return f"{report}: rule graph of {rules} rules (Snakemake drew {before} nodes)"
