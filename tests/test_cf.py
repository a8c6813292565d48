"""Every NetCDF file the workflow writes follows the CF conventions of its ``Conventions``
attribute: IOOS compliance-checker's CF suite (with the CF standard-name table it carries) plus
the checks it lacks, on small files the product writers make here, and on every NetCDF output of
the demo run (both applications, resources/ included)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from geoxai.core.provenance import (
    CONVENTIONS,
    PAPER_REFERENCE,
    load_product,
    open_product,
    write_netcdf_atomic,
)

#: compliance-checker's suite for the version the files declare ("CF-1.8" -> "cf:1.8").
SUITE = "cf:" + CONVENTIONS.removeprefix("CF-")
#: compliance-checker's priorities: 3 is a "must" of the conventions, 2 a "should".
FAILING_PRIORITIES = (2, 3)
#: POP's curvilinear grid: its index dimensions have no axis type, so compliance-checker cannot
#: tell whether (time, nlat, nlon) is in T, Y, X order and says so.
CURVILINEAR_DIMENSIONS = {"nlat", "nlon"}
#: Inputs written in a data provider's layout, which has no time bounds: the synthetic SST
#: mimics COBE-SST2 (time stamps with an ``avg_period``), so that the reader of the real
#: product is what the demo exercises.
PROVIDER_LAYOUTS = ("resources/enso/sst.nc",)
#: Variables that hold classes or a mask: CF flags must say what each value means.
FLAG_VARIABLES = ("true_class", "predicted_class", "explained_class", "ocean_mask")
PAPER_DOI = "doi:10.1029/2019MS002002"


def checker_problems(path: Path) -> list[str]:
    """compliance-checker's failed "must" and "should" checks, and any check that stopped."""
    from compliance_checker.suite import CheckSuite

    CheckSuite.load_all_available_checkers()
    suite = CheckSuite()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = suite.load_dataset(str(path))
        try:
            results, errors = suite.run_all(dataset, [SUITE], skip_checks=[])[SUITE]
        finally:
            dataset.close()
    with xr.open_dataset(path, decode_times=False) as opened:
        curvilinear = CURVILINEAR_DIMENSIONS <= set(opened.dims)
    problems = []
    for result in results:
        passed, total = result.value if isinstance(result.value, tuple) else (result.value, True)
        if passed == total or result.weight not in FAILING_PRIORITIES:
            continue
        messages = list(result.msgs)
        if curvilinear and result.name.startswith("§2.4"):
            messages = [m for m in messages if "not in the recommended order" not in m]
        problems += [f"{result.name}: {message}" for message in messages]
    for check, (error, _) in errors.items():
        problems.append(f"compliance-checker's {check} stopped: {error!r}")
    return problems


def own_problems(path: Path, provider_layout: bool = False) -> list[str]:
    """What compliance-checker does not check: names on every variable, a numeric CF time, the
    flags of classes and masks, the strict form of cell_methods' parentheses, numeric and
    monotonic coordinate variables (string labels are auxiliary coordinates, CF 6.1), bounds on
    every time mean's time, and the global attributes."""
    problems = []
    with xr.open_dataset(path, decode_times=False) as dataset:
        bounds = {str(v.attrs["bounds"]) for v in dataset.variables.values() if "bounds" in v.attrs}
        for name, variable in dataset.variables.items():
            attrs = variable.attrs
            # bounds share their coordinate's names (CF 7.1)
            if not (attrs.get("long_name") or attrs.get("standard_name") or name in bounds):
                problems.append(f"{name} has neither long_name nor standard_name")
            is_time = name == "time" or attrs.get("standard_name") == "time"
            if is_time and (variable.dtype.kind not in "iuf"
                            or " since " not in str(attrs.get("units", ""))):
                problems.append(f"{name} is not a CF time (numeric, units '<unit> since <date>')")
            if name in FLAG_VARIABLES:
                values, meanings = attrs.get("flag_values"), str(attrs.get("flag_meanings", "")).split()
                if values is None or len(np.atleast_1d(values)) != len(meanings) or not meanings:
                    problems.append(f"{name} lacks matching flag_values and flag_meanings")
            time_mean = "time: mean" in str(attrs.get("cell_methods", "")) and "time" in variable.dims
            if time_mean and not provider_layout:
                time_bounds = dataset["time"].attrs.get("bounds")
                if time_bounds not in dataset.variables or dataset[time_bounds].dims != ("time", "nv"):
                    problems.append(f"{name} is a time mean but time has no bounds (CF 7.1)")
            for note in re.findall(r"\(([^)]*)\)", str(attrs.get("cell_methods", ""))):
                if not re.match(r"(interval|comment): ", note):
                    problems.append(f"{name}: cell_methods note ({note}) starts with neither "
                                    "interval: nor comment: (CF 7.3.2)")
            if name in dataset.dims and variable.ndim == 1:
                if variable.dtype.kind in "OSU":
                    problems.append(f"coordinate variable {name} holds strings")
                elif variable.size > 1:
                    steps = np.diff(variable.values.astype(float))
                    if not ((steps > 0).all() or (steps < 0).all()):
                        problems.append(f"coordinate variable {name} is not strictly monotonic")
        attrs = dataset.attrs
        if attrs.get("Conventions") != CONVENTIONS:
            problems.append(f"Conventions is {attrs.get('Conventions')!r}, not {CONVENTIONS!r}")
        if PAPER_DOI not in str(attrs.get("references", "")):
            problems.append(f"references lack the paper ({PAPER_DOI})")
        if "institution" in attrs and not str(attrs["institution"]).strip():
            problems.append("institution is empty")
    return problems


def cf_problems(path: Path, provider_layout: bool = False) -> list[str]:
    return [f"{path}: {p}" for p in checker_problems(path) + own_problems(path, provider_layout)]


def small_products(folder: Path) -> dict[str, Path]:
    """Anomalies, relevance, optimal input, composite and seed-agreement files of a 4 x 6 grid and
    six monthly samples, each written by its product's own function."""
    from geoxai.learn.samples import Samples
    from geoxai.products.anomalies import anomaly_dataset, write_anomalies
    from geoxai.products.evaluation import agreement_dataset
    from geoxai.products.relevance import optimal_input_dataset, relevance_dataset
    from geoxai.xai.composites import composite_relevance
    from geoxai.xai.evaluation import seed_agreement
    from geoxai.xai.explain import Explanation
    from geoxai.xai.optimal_input import OptimalInput

    rng = np.random.default_rng(0)
    lat, lon = np.array([-15.0, -5.0, 5.0, 15.0]), np.arange(0.0, 360.0, 60.0)
    time = xr.date_range("2000-01-01", periods=6, freq="MS", use_cftime=False) + np.timedelta64(14, "D")
    ocean = xr.DataArray(np.ones((4, 6), np.int8), dims=("lat", "lon"), coords={"lat": lat, "lon": lon})
    ocean[0, 0] = 0
    field = xr.DataArray(rng.normal(size=(6, 4, 6)).astype(np.float32), dims=("time", "lat", "lon"),
                         coords={"time": time, "lat": lat, "lon": lon})
    keys = np.array([f"2000-{m:02d}" for m in range(1, 7)])
    anomalies = anomaly_dataset(field, ocean, long_name="sea surface temperature anomaly",
                                cell_methods="time: mean", comment="monthly means", title="SST anomalies",
                                coords={"time_key": ("time", keys)}, time_span=(keys, keys))
    paths = {name: folder / f"{name}.nc" for name in ("anomalies", "relevance", "optimal_input",
                                                       "composite", "agreement")}
    config = {"netcdf": {"institution": "a test", "references": "a data source"}}
    write_anomalies(anomalies, paths["anomalies"], config=config)

    labels = np.array([0, 1, 0, 1, 1, 0])
    samples = Samples(inputs=field.values.reshape(6, -1), labels=labels,
                      split=np.array(["train"] * 4 + ["validation"] * 2), time=keys,
                      dates=time.values, index=rng.normal(size=6), lat=lat, lon=lon,
                      ocean_mask=ocean.values)
    maps = rng.normal(size=(6, 4, 6)).astype(np.float32) * ocean.values
    explanation = Explanation(maps.reshape(6, -1), labels, rng.normal(size=6).astype(np.float32),
                              "gradient", "numpy", "positive: raises the explained logit")
    relevance = relevance_dataset(samples, maps, explanation, labels, "gradient", "numpy", 0,
                                  ["cold", "warm"])
    write_netcdf_atomic(relevance, paths["relevance"], config=config)

    result = OptimalInput(input=rng.normal(size=24).astype(np.float32), target_class=1,
                          probability=0.95, probability_history=np.array([0.5, 0.95]), steps=2,
                          step_size=0.1, l2_penalty=0.0, record_every=1)
    optimal = optimal_input_dataset(samples, result.input.reshape(4, 6), result, 1, "warm", 0, {
        "steps": 2, "step_size": 0.1, "l2_penalty": 0.0, "start": "zeros", "target_probability": 0.9})
    write_netcdf_atomic(optimal, paths["optimal_input"], config=config)

    reread = [load_product(paths["relevance"])]
    composite = composite_relevance(reread, field.values, keys, {}, lat, lon, ocean.values,
                                    ["cold", "warm"])
    write_netcdf_atomic(composite, paths["composite"], config=config)

    agreement = seed_agreement(rng.normal(size=(2, 6, 23)), 0.25)
    both = np.full(24, np.nan)
    both[1:] = agreement.both_top
    agree = agreement_dataset("gradient", [0, 1], agreement, labels, keys, ["cold", "warm"],
                              both.reshape(4, 6), lat, lon, 0.25, {}, dates=time.values)
    write_netcdf_atomic(agree, paths["agreement"], config=config)
    return paths


def test_small_products_pass_the_cf_checks(tmp_path):
    paths = small_products(tmp_path)
    problems = [p for path in paths.values() for p in cf_problems(path)]
    assert not problems, "\n".join(problems)
    with xr.open_dataset(paths["relevance"]) as relevance:
        # The samples' time is a CF time again on reading; readers match samples by time_key.
        assert relevance["time"].dtype.kind == "M"
        assert list(relevance["time_key"].values) == [f"2000-{m:02d}" for m in range(1, 7)]
        assert relevance["predicted_class"].attrs["flag_meanings"] == "cold warm"
    with open_product(paths["anomalies"]) as anomalies:
        # monthly means: from each month's start to the next month's
        assert anomalies["time_bnds"].dims == ("time", "nv")
        assert str(anomalies["time_bnds"].values[0, 0])[:10] == "2000-01-01"
        assert str(anomalies["time_bnds"].values[-1, 1])[:10] == "2000-07-01"
        assert list(anomalies.data_vars) == ["sst_anomaly", "ocean_mask"]
        assert anomalies["ocean_mask"].attrs["standard_name"] == "sea_binary_mask"
        assert anomalies["lat"].encoding.get("_FillValue") is None
        assert anomalies.attrs["institution"] == "a test"
        assert anomalies.attrs["references"].split("; ") == [PAPER_REFERENCE, "a data source"]


def test_string_labels_are_cf_labels_on_disk_and_the_index_again_on_reading(tmp_path):
    """The composite's classes: on disk an auxiliary ``class_label(class)`` listed in the data
    variables' coordinates and no string coordinate variable; read back, the index they were."""
    import netCDF4

    paths = small_products(tmp_path)
    with netCDF4.Dataset(paths["composite"]) as raw:
        assert "class" not in raw.variables
        label = raw.variables["class_label"]
        assert label.dimensions == ("class",) and label.long_name
        labelled = [v for v in raw.variables.values() if "class" in v.dimensions and v.name != "class_label"]
        assert labelled and all("class_label" in v.coordinates.split() for v in labelled)
        strings = [name for name, v in raw.variables.items()
                   if name in raw.dimensions and v.dtype == str]
        assert not strings
    composite = load_product(paths["composite"])
    assert list(composite.indexes["class"]) == ["cold", "warm"]
    assert "class_label" not in composite.variables
    np.testing.assert_array_equal(composite["relevance_composite"].sel({"class": "warm"}).values,
                                  composite["relevance_composite"].isel({"class": 1}).values)
    # A file written before the labels were auxiliary (strings as the coordinate) reads the same.
    old = tmp_path / "old.nc"
    composite.to_netcdf(old)
    with netCDF4.Dataset(old) as raw:
        assert raw.variables["class"].dtype == str
    assert list(load_product(old).indexes["class"]) == ["cold", "warm"]


def test_the_checks_find_what_the_issue_named(tmp_path):
    """The checks fail on each defect the files used to have: a coordinate _FillValue, a string
    time, an unflagged class, a free-text cell_methods note, a placeholder-free but empty
    institution and a time mean without time bounds."""
    lat = np.array([-5.0, 5.0])
    bad = xr.Dataset(
        {"relevance": (("sample", "lat"), np.zeros((2, 2), np.float32), {
            "long_name": "relevance", "units": "1", "cell_methods": "time: mean (monthly)"})},
        coords={"lat": ("lat", lat, {"standard_name": "latitude", "units": "degrees_north"}),
                "time": ("sample", ["2000-01", "2000-02"], {"long_name": "month"}),
                "predicted_class": ("sample", [0, 1], {"long_name": "predicted class"})},
        attrs={"title": "defects", "Conventions": CONVENTIONS, "institution": " "},
    )
    path = tmp_path / "bad.nc"
    bad.to_netcdf(path)  # xarray's defaults: lat gets _FillValue NaN
    problems = "\n".join(cf_problems(path))
    for expected in ("'lat' must not have the _FillValue", "time is not a CF time",
                     "predicted_class lacks matching flag_values", "cell_methods note (monthly)",
                     "institution is empty", "references lack the paper"):
        assert expected in problems, problems
    unbounded = xr.Dataset(
        {"sst": ("time", np.zeros(2, np.float32), {"long_name": "sst", "units": "K",
                                                   "cell_methods": "time: mean"})},
        coords={"time": ("time", [0.0, 31.0], {"standard_name": "time",
                                               "units": "days since 2000-01-01"})})
    unbounded.to_netcdf(tmp_path / "unbounded.nc")
    assert "sst is a time mean but time has no bounds" in "\n".join(own_problems(tmp_path / "unbounded.nc"))


def test_every_netcdf_output_of_the_demo_passes_the_cf_checks(demo_run):
    paths = sorted(p for folder in ("results", "resources") for p in (demo_run / folder).rglob("*.nc"))
    apps = {p.relative_to(demo_run).parts[1] for p in paths}
    assert {"enso", "lst"} <= apps and len(paths) > 50, paths
    problems = [p for path in paths for p in cf_problems(
        path, path.relative_to(demo_run).as_posix() in PROVIDER_LAYOUTS)]
    assert not problems, f"{len(problems)} CF problems:\n" + "\n".join(problems[:80])
    with open_product(demo_run / "results" / "lst" / "targets.nc") as targets:
        assert targets["trefht_box_anomaly"].attrs["standard_name"] == "air_temperature_anomaly"
        # DJF 0401 is stamped in January and averages December 0400 .. February 0401
        djf = targets.isel(time=list(targets["season"].values).index("DJF"))
        assert [(t.year, t.month, t.day) for t in djf["time_bnds"].values] == [
            (int(djf["time_key"].item()[:4]) - 1, 12, 1), (int(djf["time_key"].item()[:4]), 3, 1)]
        assert "time_bnds" not in targets.data_vars


if __name__ == "__main__":  # pragma: no cover - check files by hand: python tests/test_cf.py FILE...
    import sys

    found = [p for path in sys.argv[1:] for p in cf_problems(Path(path))]
    print("\n".join(found) or "no CF problems")
    sys.exit(bool(found))
