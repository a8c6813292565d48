"""Stage 1: monthly anomalies (``geoxai.steps.anomalies.enso_anomalies``, NetCDF in, NetCDF out).

Three ways through the same file, each in its own process so that its peak memory is its own:

* the I/O floor: read the SST variable once, write an array of the output's shape once with the
  output's encoding (storage chunks of ``(time, lat_chunk, lon)``, stored plainly as the default
  ``compress: false`` writes it; with zlib level 1 for ``compress: true``);
* a plain in-memory numpy implementation (read all, climatology + detrend in place, write);
* the package's task (dask blocks of latitudes, each holding the whole record).

Inputs are the synthetic source's files (COBE-SST2 layout, 1880-01..2018-12 = 1,668 months),
generated once per grid into ``benchmarks/output/data`` and reused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from measure import (
    MIB,
    OUTPUT,
    Figure,
    best_child,
    command_line,
    load_average,
    now,
    phase,
    run_child,
)

START, END = "1880-01", "2018-12"
#: Start of the twice-as-long record used for the run under a memory cap.
LONG_START = "1741-01"
CLIMATOLOGY = ("1961-01", "1990-12")
#: Latitude rows per block: the paper config's value.
LAT_CHUNK = 30


def input_file(degrees: float, start: str = START, storage_rows: int | None = None) -> Path:
    """The synthetic SST file at ``degrees`` from ``start`` to 2018-12 (generated on first use).

    ``storage_rows`` rewrites it with on-disk chunks of that many latitude rows: the package reads
    whole storage chunks (``aligned_rows``), so a block can only be as small as they are."""
    from geoxai.enso.synthetic import generate_enso

    folder = OUTPUT / "data"
    stem = f"{degrees:g}deg" + ("" if start == START else f"_from{start[:4]}")
    stem += f"_rows{storage_rows}" if storage_rows else ""
    path = folder / f"sst_{stem}.nc"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        if storage_rows:
            import xarray as xr

            with xr.open_dataset(input_file(degrees, start)) as dataset:
                sst = dataset["sst"]
                chunks = (sst.sizes["time"], storage_rows, sst.sizes["lon"])
                dataset.to_netcdf(path, encoding={"sst": {"zlib": True, "complevel": 1, "chunksizes": chunks}})
            return path
        generate_enso({"grid_degrees": degrees, "start": start, "end": END}, path,
                      folder / f"index_{stem}.txt", folder / f"truth_{stem}.nc")
    return path


def grid_label(degrees: float) -> str:
    rows, columns = round(180 / degrees), round(360 / degrees)
    megabytes = 1668 * rows * columns * 4 / 1e6
    return f"{degrees:g} deg (1668 x {rows} x {columns}, {megabytes:.0f} MB float32)"


# --- child tasks -----------------------------------------------------------------------------


def _read_raw(path: str) -> np.ndarray:
    import netCDF4

    with netCDF4.Dataset(path) as dataset:
        variable = dataset["sst"]
        variable.set_auto_maskandscale(False)
        values = variable[:]
        fill = getattr(variable, "_FillValue", None)
    if fill is not None:
        values[values == fill] = np.nan
    return values


def _write_like_geoxai(values: np.ndarray, path: str, lat_chunk: int, compress: bool = False) -> None:
    """Write ``values`` with the encoding that ``provenance.write_netcdf_atomic`` gives a block."""
    import xarray as xr

    dataset = xr.Dataset({"sst_anomaly": (("time", "lat", "lon"), values)})
    chunks = (values.shape[0], min(lat_chunk, values.shape[1]), values.shape[2])
    encoding = {"chunksizes": chunks, **({"zlib": True, "complevel": 1} if compress else {})}
    dataset.to_netcdf(path, engine="netcdf4", encoding={"sst_anomaly": encoding})


def io_floor(sst_path: str, output_path: str, lat_chunk: int = LAT_CHUNK) -> dict[str, Any]:
    """Child task: read the input once, write the output once as geoxai does by default
    (uncompressed); also the compressed write of ``compress: true``."""
    result: dict[str, Any] = {}
    with phase(result, "read"):
        values = _read_raw(sst_path)
    with phase(result, "write"):
        _write_like_geoxai(values, output_path, lat_chunk)
    result["output_mb"] = os.path.getsize(output_path) / 1e6
    with phase(result, "write_compressed"):
        _write_like_geoxai(values, output_path, lat_chunk, compress=True)
    os.unlink(output_path)
    result["floor_s"] = result["read_s"] + result["write_s"]
    result["floor_compressed_s"] = result["read_s"] + result["write_compressed_s"]
    result["input_mb"] = os.path.getsize(sst_path) / 1e6
    result["array_mib"] = values.nbytes / MIB
    return result


def plain_anomalies(sst: np.ndarray, first_month: int, base: slice) -> np.ndarray:
    """In-memory anomalies of a contiguous monthly record ``(time, lat, lon)``, in place.

    ``first_month`` is the calendar month (1..12) of the first record; ``base`` the climatology
    months. Monthly climatology removed, then each complete cell's least-squares line; NaN → 0.
    Strided views instead of masks: no copy of the record.
    """
    months = sst.shape[0]
    base_record = sst[base]
    base_offset = (first_month - 1 + base.start) % 12
    for month in range(12):
        climatology = base_record[(month - base_offset) % 12::12].mean(axis=0)
        sst[(month - first_month + 1) % 12::12] -= climatology
    series = sst.reshape(months, -1)
    steps = np.arange(months, dtype=np.float32)
    steps -= steps.mean()
    slope = (steps @ series) / np.float32(steps @ steps)  # land cells (NaN) get a NaN slope
    intercept = series.mean(axis=0)
    for start in range(0, months, 120):  # small temporaries
        block = slice(start, start + 120)
        series[block] -= intercept
        series[block] -= steps[block, None] * slope
    np.nan_to_num(sst, copy=False, nan=0.0)
    return sst


def numpy_in_memory(sst_path: str, output_path: str, compare_with: str | None = None) -> dict[str, Any]:
    """Child task: read everything, compute with :func:`plain_anomalies`, write (as geoxai)."""
    import pandas as pd
    import xarray as xr

    result: dict[str, Any] = {}
    with phase(result, "read"):
        with xr.open_dataset(sst_path) as dataset:
            time = pd.DatetimeIndex(dataset["time"].values)
        sst = _read_raw(sst_path)
    keys = np.array([f"{t.year:04d}-{t.month:02d}" for t in time])
    in_period = np.flatnonzero((keys >= START) & (keys <= END))
    in_base = np.flatnonzero((keys[in_period] >= CLIMATOLOGY[0]) & (keys[in_period] <= CLIMATOLOGY[1]))
    sst = sst[in_period[0]:in_period[-1] + 1]
    with phase(result, "compute"):
        anomalies = plain_anomalies(sst, int(time[in_period[0]].month), slice(in_base[0], in_base[-1] + 1))
    with phase(result, "write"):
        _write_like_geoxai(anomalies, output_path, LAT_CHUNK)
    os.unlink(output_path)
    result["total_s"] = result["read_s"] + result["compute_s"] + result["write_s"]
    if compare_with and os.path.exists(compare_with):
        # The same computation as the package (its output has latitude ascending): check a band.
        with xr.open_dataset(compare_with) as theirs:
            band = slice(0, min(20, anomalies.shape[1]))
            ours = anomalies[:, ::-1][:, band]
            result["max_difference_vs_geoxai_k"] = float(
                np.abs(theirs["sst_anomaly"].isel(lat=band).values - ours).max())
    return result


def geoxai_task(sst_path: str, output_path: str, lat_chunk: int = LAT_CHUNK,
                scheduler: str = "threads", keep: bool = False, start: str = START,
                compress: bool = False) -> dict[str, Any]:
    """Child task: the package's anomaly step, exactly as the workflow calls it."""
    from geoxai.steps import anomalies as anomaly_steps

    settings = {"period": [start, END], "climatology": list(CLIMATOLOGY), "lat_chunk": lat_chunk,
                "dask_scheduler": scheduler, "compress": compress}
    result: dict[str, Any] = {}
    with phase(result, "task"):
        anomaly_steps.enso_anomalies(sst_path, output_path, {}, settings)
    result["output_mb"] = os.path.getsize(output_path) / 1e6
    if not keep:
        os.unlink(output_path)
    return result


# --- the stage -------------------------------------------------------------------------------


def run(quick: bool, repeats: int) -> list[Figure]:
    grids = [4.0, 2.0] if quick else [4.0, 2.0, 1.0]
    figures: list[Figure] = []
    command = command_line("anomalies")
    scratch = OUTPUT / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    for degrees in grids:
        path = str(input_file(degrees))
        size = grid_label(degrees)
        out = str(scratch / f"anomalies_{degrees:g}deg.nc")
        theirs, theirs_load = best_child("bench_anomalies:geoxai_task",
                                         {"sst_path": path, "output_path": out, "keep": True},
                                         repeats, "task_s")
        zipped, zipped_load = best_child("bench_anomalies:geoxai_task",
                                         {"sst_path": path, "output_path": out + ".zlib", "compress": True},
                                         repeats, "task_s")
        floor, floor_load = best_child("bench_anomalies:io_floor",
                                       {"sst_path": path, "output_path": out + ".floor"}, repeats, "floor_s")
        plain, plain_load = best_child("bench_anomalies:numpy_in_memory",
                                       {"sst_path": path, "output_path": out + ".numpy", "compare_with": out},
                                       repeats, "total_s")
        os.unlink(out)
        ratio = theirs["task_s"] / floor["floor_s"]
        array_mib = floor["array_mib"]
        figures += [
            Figure("anomalies", "geoxai.steps.anomalies.enso_anomalies, wall time", size, round(theirs["task_s"], 2), "s",
                   reference=f"{ratio:.2f}x the I/O floor (goal <= 2x)",
                   note=f"lat_chunk {LAT_CHUNK}, threads scheduler, compress: false (the default); "
                   f"output {theirs['output_mb']:.0f} MB",
                   load=theirs_load, repeats=repeats, date=now(), command=command),
            Figure("anomalies", "the same with compress: true, wall time", size, round(zipped["task_s"], 2), "s",
                   reference=f"{zipped['task_s'] / floor['floor_compressed_s']:.2f}x the compressed I/O floor "
                   f"({floor['floor_compressed_s']:.2f} s)",
                   note=f"output {zipped['output_mb']:.0f} MB (zlib level 1)",
                   load=zipped_load, repeats=repeats, date=now(), command=command),
            Figure("anomalies", "geoxai.steps.anomalies.enso_anomalies, peak RSS", size, round(theirs["task_peak_rss_mib"]),
                   "MiB", reference=f"record array {array_mib:.0f} MiB; "
                   f"{theirs['task_peak_rss_mib'] / array_mib:.2f}x it",
                   note=f"from {theirs['task_rss_before_mib']:.0f} MiB after imports",
                   load=theirs_load, repeats=repeats, date=now(), command=command),
            Figure("anomalies", "I/O floor: read once + write once", size, round(floor["floor_s"], 2), "s",
                   reference=f"read {floor['read_s']:.2f} s + write {floor['write_s']:.2f} s",
                   note=f"write with zlib level 1: {floor['write_compressed_s']:.2f} s; input "
                   f"{floor['input_mb']:.0f} MB on disk", load=floor_load, repeats=repeats, date=now(),
                   command=command),
            Figure("anomalies", "plain numpy in memory: climatology + detrend", size,
                   round(plain["compute_s"], 2), "s",
                   reference=f"with read + write {plain['total_s']:.2f} s; "
                   f"geoxai task {theirs['task_s'] / plain['total_s']:.2f}x that",
                   note=f"peak RSS {plain['compute_peak_rss_mib']:.0f} MiB in the compute, "
                   f"{plain['read_peak_rss_mib']:.0f} MiB in the read; max |difference| vs geoxai "
                   f"{plain.get('max_difference_vs_geoxai_k', float('nan')):.1e} K",
                   load=plain_load, repeats=repeats, date=now(), command=command),
        ]
    figures += memory_bound(grids[-1], scratch, command, quick)
    return figures


def _block_rows(path: str, lat_chunk: int) -> int:
    """Latitude rows per block the package reads from ``path`` with ``lat_chunk``."""
    import netCDF4

    from geoxai.enso.sources import aligned_rows

    with netCDF4.Dataset(path) as dataset:
        chunking = dataset["sst"].chunking()
    return aligned_rows(lat_chunk, None if chunking == "contiguous" else chunking[1])


def memory_bound(degrees: float, scratch: Path, command: str, quick: bool) -> list[Figure]:
    """Peak RSS against the block size at the largest grid, and a run under a memory cap."""
    path = str(input_file(degrees))
    size = grid_label(degrees)
    out = str(scratch / "anomalies_capped.nc")
    rows = round(180 / degrees)
    record_mib = 1668 * rows * (2 * rows) * 4 / MIB
    figures = []
    for lat_chunk, scheduler in ((10, "threads"), (10, "synchronous")):
        before = load_average()
        answer = run_child("bench_anomalies:geoxai_task",
                           {"sst_path": path, "output_path": out, "lat_chunk": lat_chunk,
                            "scheduler": scheduler})
        block_rows = _block_rows(path, lat_chunk)
        block_mib = record_mib * block_rows / rows
        figures.append(Figure(
            "anomalies", f"peak RSS, lat_chunk {lat_chunk}, {scheduler} scheduler", size,
            round(answer["task_peak_rss_mib"]), "MiB",
            reference=f"block {block_rows} rows ({block_mib:.0f} MiB: lat_chunk rounded up to whole "
            f"storage chunks of the input); record {record_mib:.0f} MiB",
            note=f"wall {answer['task_s']:.1f} s; peak virtual {answer['task_peak_virtual_mib']:.0f} MiB",
            load=(before, load_average()), date=now(), command=command))
    if quick:
        return figures
    # A hard cap on the address space below the size of the record: finishing proves it fits.
    # The interpreter and its libraries alone reserve about 0.5 GiB of address space, so the
    # record is made twice as long (1741-2018, 3,336 months) to have room below it.
    long_path = str(input_file(degrees, start=LONG_START, storage_rows=10))
    long_record_mib = 2 * record_mib
    cap = 0.8 * long_record_mib
    before = load_average()
    answer = run_child("bench_anomalies:geoxai_task",
                       {"sst_path": long_path, "output_path": out, "lat_chunk": 10,
                        "scheduler": "synchronous", "start": LONG_START},
                       address_space_mib=cap,
                       environment={"OPENBLAS_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "1"})
    finished = not answer.get("failed")
    figures.append(Figure(
        "anomalies", f"run under RLIMIT_AS = {cap:.0f} MiB", f"{degrees:g} deg, 3336 months "
        f"({long_record_mib:.0f} MiB record)",
        round(answer["task_peak_rss_mib"]) if finished else float("nan"), "MiB peak RSS",
        reference=(f"finished in {answer['task_s']:.1f} s, peak virtual "
                   f"{answer['task_peak_virtual_mib']:.0f} MiB") if finished else
        "FAILED: " + answer["error"].strip().splitlines()[-1][:160],
        note="address space capped at 0.8x the record; lat_chunk 10 (input stored in 10-row chunks), "
        "synchronous scheduler, "
        "OPENBLAS_NUM_THREADS=1, MALLOC_ARENA_MAX=1",
        load=(before, load_average()), date=now(), command=command))
    return figures
