"""The HTML report: its pages (accuracy, run summary, known answer) from their inputs, the summary
printed after a run, and the demo's report opened in a real browser (headless Chromium): offline,
title in view, every figure and table of the run there, no broken image, a filterable table."""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser import Browser, find_browser
from conftest import config_files, figure_stems, merged_config, run_snakemake

from geoxai import cli
from geoxai.core.errors import GeoxaiError
from geoxai.products import report


def label_table(train: list[int], validation: list[int], persistence: bool) -> pd.DataFrame:
    rows = [("train", label) for label in train] + [("validation", label) for label in validation]
    table = pd.DataFrame(rows, columns=["split", "label"])
    table["time"] = [f"{1900 + i // 12:04d}-{i % 12 + 1:02d}" for i in range(len(table))]
    table["index"] = np.where(table["label"] == 1, 1.0, -1.0)
    if persistence:
        table["persistence"] = table["label"].shift(1, fill_value=0)
    return table


def test_accuracy_page_has_readable_columns_baselines_counts_and_confusion(tmp_path):
    labels = label_table([0] * 30 + [1] * 10, [0] * 6 + [1] * 4, persistence=True)
    metrics = [
        {"seed": 0, "class_names": ["cold", "warm"],
         "confusion": {"validation": [[5, 1], [1, 3]]}, "accuracy": {}},
        {"seed": 1, "class_names": ["cold", "warm"],
         "confusion": {"validation": [[6, 0], [4, 0]]}, "accuracy": {}},
    ]
    evaluation = pd.DataFrame({"seed": ["0", "1", "median", "min", "max", "std"],
                               "train_accuracy": [0.9, 0.8, 0.85, 0.8, 0.9, 0.05],
                               "validation_accuracy": [0.8, 0.6, 0.7, 0.6, 0.8, 0.1]})
    path = tmp_path / "accuracy.html"
    headline = report.write_accuracy_page(evaluation, labels, metrics, path, "Accuracy: lst box")
    page = path.read_text()
    for header in ("Training accuracy", "Validation accuracy", "Validation balanced accuracy",
                   "Chance: always cold", "Persistence", "predicted warm", "Samples per class"):
        assert header in page, header
    assert "train_accuracy" not in page and "<style>" in page
    # balanced accuracy: seed 0 (5/6 + 3/4) / 2, seed 1 (1 + 0) / 2 = 0.5; chance 6/10 = 0.6
    assert "0.792" in page and "0.500" in page
    assert headline["chance"] == pytest.approx(0.6)
    persistence = (labels.query("split == 'validation'")["persistence"]
                   == labels.query("split == 'validation'")["label"]).mean()
    assert headline["persistence"] == pytest.approx(persistence)
    # class counts: cold 30 training + 6 validation
    assert re.search(r"<td class=\"text\">cold</td><td>30</td><td>6</td><td>36</td>", page)
    # ENSO's classes as the files name them (ASCII), shown with their proper spelling
    enso_metrics = [{**m, "class_names": ["La Nina", "El Nino"]} for m in metrics]
    enso = report.write_accuracy_page(evaluation, labels.drop(columns="persistence"), enso_metrics,
                                      tmp_path / "enso.html", "Accuracy: enso")
    page = (tmp_path / "enso.html").read_text()
    assert np.isnan(enso["persistence"]) and "not applicable" in page
    assert "Chance: always La Niña" in page and "predicted El Niño" in page
    assert re.search(r"<td class=\"text\">La Niña</td><td>30</td>", page)
    assert "El Nino" not in page and "La Nina" not in page


def test_run_summary_names_only_the_sources_the_run_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("resources/enso").mkdir(parents=True)
    Path("resources/enso/sst.nc").write_bytes(b"synthetic")
    Path("resources/lst").mkdir(parents=True)
    Path("resources/lst/sst.nc").write_bytes(b"read from a store")
    Path("resources/lst/sst.nc.provenance.json").write_text(json.dumps(
        {"url": "s3://ncar-cesm-lens/ocn/monthly/cesmLE-CTRL-SST.zarr", "retrieved": "2026-01-01"}))
    config = {
        "applications": ["enso", "lst"], "seeds": [0, 1],
        "enso": {"synthetic": {"seed": 42}, "sst": {"url": "https://downloads.psl.noaa.gov/x.nc",
                                                    "variable": "sst"}},
        "lst": {"synthetic": None, "sst": {"store": "s3://ncar-cesm-lens/ocn/monthly/x.zarr"}},
    }
    report.write_run_summary(config, ["resources/enso/sst.nc", "resources/lst/sst.nc"],
                             "summary.html", ["config/demo.yaml", "config/config.yaml"])
    page = Path("summary.html").read_text()
    assert "generated (synthetic, seed 42)" in page
    assert "downloads.psl.noaa.gov" not in page  # the synthetic source replaced the URL
    assert "ncar-cesm-lens" in page  # Application 2 did read the store
    # Snakemake lists --configfile files first; the page says which is merged over which
    assert "config/config.yaml, then config/demo.yaml over it" in page
    assert "snakemake --configfile config/demo.yaml (" in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", page)
    assert '"variable": "sst"' in page  # the rest of the section stays
    paper = report.used_config({**config, "applications": ["enso"],
                                "enso": {**config["enso"], "synthetic": None}})
    assert "lst" not in paper and paper["enso"]["sst"]["url"].startswith("https://")


def test_end_of_run_summary_says_what_is_missing(tmp_path):
    with pytest.raises(GeoxaiError, match="report.html.*missing.*make demo"):
        report.end_of_run_summary(str(tmp_path / "results"), str(tmp_path / "report.html"))
    assert "summary" in cli.TOOLS and "summary" not in cli.STEPS  # a command, not a rule
    assert cli.main(["summary", "--results", str(tmp_path), "--report", str(tmp_path / "r.html")]) == 2


def test_end_of_run_summary_of_the_demo_shows_report_scores_and_proper_names(demo_run,
                                                                             demo_report):
    """What `make demo` prints last: the report's path, both applications' accuracy, the known
    answer, in the names the figures use (El Niño, not the files' ASCII El Nino)."""
    text = report.end_of_run_summary(str(demo_run / "results"), str(demo_report))
    assert str(demo_report.resolve()) in text
    for part in ("ENSO (Niño3.4)", "Land temperature: best box", "Known answer, ENSO",
                 "El Niño optimal input", "Known answer, land temperature"):
        assert part in text, text
    assert "El Nino" not in text and "La Nina" not in text


def test_rule_graph_keeps_each_rule_once_with_every_link():
    """Snakemake's spec: one node per rule and level; train is reached at two depths."""
    rules = ["data", "labels", "train", "more", "train", "figure"]
    links = [(0, 1), (1, 2), (0, 3), (3, 4), (2, 5), (4, 5)]

    def link(s, t):
        return {"source": s, "target": t, "sourcerule": rules[s], "targetrule": rules[t], "value": 1}

    spec = {"data": [
        {"name": "node-data", "values": [{"rule": r, "fx": 10, "fy": 50 * i} for i, r in enumerate(rules)]},
        {"name": "link-data", "values": [link(s, t) for s, t in links if t - s != 1]},
        {"name": "link-data-direct", "values": [link(s, t) for s, t in links if t - s == 1]},
    ]}
    merged = report.merge_rule_graph(spec)
    nodes = [n["rule"] for n in merged["data"][0]["values"]]
    assert nodes == ["data", "labels", "train", "more", "figure"]
    edges = {(l["sourcerule"], l["targetrule"]) for d in merged["data"][1:] for l in d["values"]}
    assert edges == {("data", "labels"), ("labels", "train"), ("data", "more"), ("more", "train"),
                     ("train", "figure")}
    for entry in merged["data"][1:]:
        for l in entry["values"]:
            assert nodes[l["source"]] == l["sourcerule"] and nodes[l["target"]] == l["targetrule"]
            assert (abs(l["target"] - l["source"]) == 1) == (entry["name"] == "link-data-direct")


def test_known_answer_scores_a_composite_that_found_the_region(tmp_path):
    """Relevance only inside the region scores 1 / (its area share); an optimal input equal to
    the true pattern (or its negative, for the first class) correlates 1."""
    import xarray as xr

    from geoxai.products.known_answer import enso_scores

    lat, lon = np.arange(-60.0, 61, 20), np.arange(0.0, 360, 30)
    region = np.zeros((lat.size, lon.size))
    region[2:5, 5:9] = 1
    pattern = region * np.linspace(0.2, 1, lon.size)[None, :]
    ocean = np.ones_like(region)
    ocean[0, :3] = 0
    xr.Dataset({"driving_region_mask": (("lat", "lon"), region),
                "el_nino_pattern": (("lat", "lon"), pattern)},
               coords={"lat": lat, "lon": lon}).to_netcdf(tmp_path / "truth.nc")
    relevance = np.stack([region * 2.0, region * 0.5 + 0.0])
    xr.Dataset({"relevance_composite_mean": (("class", "lat", "lon"), relevance),
                "optimal_input_mean": (("class", "lat", "lon"), np.stack([-pattern, pattern])),
                "ocean_mask": (("lat", "lon"), ocean),
                "validation_accuracy_median": 0.9, "chance_accuracy": 0.6},
               coords={"lat": lat, "lon": lon, "class": ["La Nina", "El Nino"]}
               ).to_netcdf(tmp_path / "z.nc")
    scores = enso_scores(str(tmp_path / "truth.nc"), [str(tmp_path / "z.nc")])
    area = np.cos(np.deg2rad(lat))[:, None] * np.ones_like(region)
    expected = 1 / (area[region > 0].sum() / area[ocean > 0].sum())
    assert scores["region_share"]["z"] == pytest.approx([expected, expected])
    assert scores["optimal_input_correlation"] == pytest.approx({"La Nina": 1.0, "El Nino": 1.0})
    path = tmp_path / "known.html"
    report.write_known_answer_page({"enso": scores}, path)
    page = path.read_text()
    assert f"{expected:.3f}" in page
    assert "El Niño optimal input" in page and "La Niña: relevance share" in page
    assert "El Nino" not in page and "La Nina" not in page


# --- the demo's report in a browser -----------------------------------------------------------

@pytest.fixture(scope="session")
def demo_report(demo_run) -> Path:
    """The demo's report, made once (test_workflow's report test makes the same file), then
    tidied as `make report` does (each rule once in the rule graph; idempotent)."""
    path = demo_run / "report.html"
    if not path.is_file():
        run_snakemake(demo_run, "--cores", "1", "--configfile", *config_files("demo.yaml"),
                      "--report", str(path))
    assert cli.main(["tidy_report", "--report", str(path)]) == 0
    return path


def expected_results(demo_run: Path) -> set[str]:
    """Every figure and table the demo's report must hold, from the merged config."""
    config = merged_config("config.yaml", "demo.yaml")
    boxes = json.loads((demo_run / "results/lst/targets.json").read_text())["boxes"]
    expected = {"results/report/run_summary.html", "results/report/known_answer.html",
                "results/lst/figures/skill_map.png",
                "results/enso/figures/attribution_benchmark.png",
                "results/enso/report/attribution_benchmark.html"}
    explained = {"enso": ["nino34"], "lst": config["lst"]["explain_targets"]}
    cases = {app: config[app].get("case_studies") or [] for app in explained}
    for app, targets in explained.items():
        for target in targets:
            expected |= {f"results/{app}/figures/{target}/{stem}.png"
                         for stem in figure_stems(config, cases[app])}
            expected |= {f"results/{app}/report/{target}_{table}.html"
                         for table in ("sanity", "faithfulness", "seed_agreement")}
    expected |= {"results/enso/report/nino34_accuracy.html"}
    expected |= {f"results/lst/report/{box}_accuracy.html" for box in boxes}
    return expected


REPORT_STATE = """
const title = document.querySelector('h1.title');
if (!title || document.querySelector('#loading-screen').style.display !== 'none') return null;
const box = title.getBoundingClientRect();
const nodes = rulegraph_spec.data.find(d => d.name === 'node-data').values.map(n => n.rule);
return {top: box.top, bottom: box.bottom, left: box.left, width: innerWidth,
        height: innerHeight, title: title.textContent, rules: nodes,
        results: Object.fromEntries(Object.entries(results).map(([path, r]) =>
            [path, {labels: r.labels, mime: r.mime_type, size: r.data_uri.length}])),
        fetched: performance.getEntriesByType('resource').map(e => e.name)
                 .filter(name => !name.startsWith('data:'))};
"""

#: Decode every embedded image in the page; the paths whose image has no pixels.
BROKEN_IMAGES = """
const done = arguments[arguments.length - 1];
const images = Object.entries(results).filter(([p, r]) => r.mime_type.startsWith('image/'));
Promise.all(images.map(([path, r]) => new Promise(resolve => {
    const image = new Image();
    image.onload = () => resolve(image.naturalWidth > 0 ? null : path);
    image.onerror = () => resolve(path);
    image.src = r.data_uri;
}))).then(broken => done({checked: images.length, broken: broken.filter(p => p)}));
"""


@pytest.mark.workflow
def test_demo_report_opens_offline_in_a_browser_with_everything_in_it(demo_run, demo_report,
                                                                       tmp_path):
    chromium, driver = find_browser()
    if not (chromium and driver):
        if os.environ.get("GEOXAI_SKIP_BROWSER") == "1":
            pytest.skip("GEOXAI_SKIP_BROWSER=1 and no Chromium/chromedriver")
        pytest.fail("the report test needs Chromium and chromedriver: apt-get install chromium "
                    "chromium-driver (or set GEOXAI_CHROMIUM/GEOXAI_CHROMEDRIVER; "
                    "GEOXAI_SKIP_BROWSER=1 skips it)")
    with Browser(chromium, driver) as browser:
        for width, height in ((1366, 768), (1024, 768), (1920, 1080)):
            browser.viewport(width, height)
            browser.open(demo_report.resolve().as_uri())
            state = browser.wait_for(REPORT_STATE)
            browser.screenshot(tmp_path / f"report_{width}x{height}.png")
            print(f"{width}x{height}: title at {state['top']:.0f}-{state['bottom']:.0f} px")
            assert (state["width"], state["height"]) == (width, height)
            assert state["title"].startswith("geoxai")
            assert 0 <= state["top"] and state["bottom"] <= height, (width, height, state["top"])
            assert state["fetched"] == []  # everything is embedded: nothing loaded from anywhere
        assert len(state["rules"]) == len(set(state["rules"])), "a rule twice in the rule graph"
        found = {str(Path(path).relative_to(demo_run)) if Path(path).is_absolute() else path
                 for path in state["results"]}
        expected = expected_results(demo_run)
        missing = expected - found
        assert not missing, f"not in the report: {sorted(missing)}"
        for path, result in state["results"].items():
            assert set(result["labels"]) == {"application", "target", "method", "class", "kind"}
            assert result["size"] > 100, path
        images = browser.run_async(BROKEN_IMAGES)
        print(f"{images['checked']} images decoded")
        assert images["checked"] >= sum(p.endswith(".png") for p in expected)
        assert images["broken"] == []
    page = demo_report.read_text()
    known = re.search(r"results/report/known_answer.html.*?data:text/html;[^,]*base64,([^\"]+)",
                      page)
    if known:  # the page itself: both applications' scores
        text = base64.b64decode(known.group(1)).decode()
        assert "Application 1" in text and "Application 2" in text
