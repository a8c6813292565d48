"""CESM output from the cloud (anonymous S3 Zarr), a local Zarr store, or local NetCDF files.

The CESM1 Large Ensemble pre-industrial control lives on AWS Open Data as one Zarr store per
variable (``s3://ncar-cesm-lens/ocn/monthly/cesmLE-CTRL-SST.zarr``, ``.../atm/monthly/
cesmLE-CTRL-TREFHT.zarr``); CESM2/CMIP6 piControl output comes as NetCDF files. Everything is
opened lazily (dask) and only the model years asked for are selected, so only their chunks are
ever read.

Each month is re-stamped at the middle of its averaging interval first (see
:mod:`geoxai.lst.stamps`); the returned series carries the re-stamped ``time`` and a
``time_key`` coordinate ("YYYY-MM"). Store access and retries are :mod:`geoxai.lst.store`.

Errors name the store, and, when the caller says which config keys the settings came from
(``config_keys``, see :func:`field_config_keys`), the full key to change, e.g. ``lst.sst.variable``.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.grid import LAT_ATTRS, LON_ATTRS
from geoxai.core.months import month_keys
from geoxai.core.progress import Throttle, human_bytes, human_seconds, report
from geoxai.core.provenance import write_json_atomic, write_netcdf_atomic
from geoxai.lst.stamps import MONTH_STAMPS, month_midpoints
from geoxai.lst.store import key_head, open_store, with_retries

POP_GRID_VARIABLES = ("TLAT", "TLONG", "TAREA")
FIELD_SETTINGS = ("store", "variable", "grid_store", "month_stamp")
#: Progress lines while a fetched field is written: every tenth of its chunks, and at least
#: every PROGRESS_SECONDS.
PROGRESS_PARTS = 10
PROGRESS_SECONDS = 30.0


def field_config_keys(section: str, years_key: str | None = None) -> dict[str, str]:
    """Full config keys of one field's settings: ``lst.sst`` -> ``lst.sst.store``,
    ``lst.sst.variable``, ``lst.sst.grid_store``, ``lst.sst.month_stamp``, and under ``years``
    the key of the model years, by default the section's sibling (``lst.years``)."""
    parent = section.rpartition(".")[0]
    years = years_key or (f"{parent}.years" if parent else "years")
    return {**{name: f"{section}.{name}" for name in FIELD_SETTINGS}, "years": years}


def _key(config_keys: Mapping[str, str] | None, setting: str) -> str:
    return key_head((config_keys or {}).get(setting))


def _squeeze_extra_dims(field: xr.DataArray, store: str, member: Any | None) -> xr.DataArray:
    if "member_id" in field.dims:
        if member is not None:
            if member not in field["member_id"].values:
                raise GeoxaiError(
                    f"{store} has no member_id {member!r}; it has "
                    f"{field['member_id'].values.tolist()}"
                )
            field = field.sel(member_id=member)
        elif field.sizes["member_id"] == 1:
            field = field.isel(member_id=0)
        else:
            raise GeoxaiError(
                f"{store} holds {field.sizes['member_id']} ensemble members "
                f"({field['member_id'].values.tolist()[:5]}...): choose one with member="
            )
    singletons = [dim for dim in field.dims if field.sizes[dim] == 1 and dim != "time"]
    return field.isel({dim: 0 for dim in singletons}, drop=True) if singletons else field


def open_cesm_variable(
    store: str,
    variable: str,
    years: tuple[int, int],
    storage_options: dict[str, Any] | None = None,
    *,
    member: Any | None = None,
    month_stamp: str = "auto",
    retries: int = 3,
    backoff_s: float = 1.0,
    config_keys: Mapping[str, str] | None = None,
) -> xr.DataArray:
    """``variable`` for model years ``years[0]..years[1]`` (inclusive), lazily, months re-stamped.

    ``store``: ``s3://...zarr`` (read anonymously unless ``storage_options`` say otherwise), a local
    ``.zarr`` folder, or NetCDF file(s) (path or glob). Size-1 dimensions (``member_id`` of the
    control run, POP's one-level ``z_t``) are dropped; a store with several members needs
    ``member``. The result has ``time`` at mid-month and a ``time_key`` ("YYYY-MM") coordinate;
    2-D grid coordinates (POP ``TLAT``/``TLONG``/``TAREA``) stay attached. ``config_keys``
    (:func:`field_config_keys`) name the config keys of these settings in the errors.
    """
    first, last = int(years[0]), int(years[1])
    if first > last:
        raise GeoxaiError(
            f"{_key(config_keys, 'years')}years=({first}, {last}) for {variable} from {store}: "
            "the first year must not come after the last"
        )
    if month_stamp not in MONTH_STAMPS:  # before the store is opened, which may take a while
        raise GeoxaiError(
            f"{_key(config_keys, 'month_stamp')}month_stamp={month_stamp!r} for {store}: "
            f"use one of {', '.join(MONTH_STAMPS)}"
        )
    dataset, field = variable_in_store(
        store, variable, storage_options, retries, backoff_s, config_keys
    )
    if "time" not in field.dims:
        raise GeoxaiError(
            f"{_key(config_keys, 'variable')}{variable!r} in {store} has no time dimension "
            f"(dims {field.dims}): open time-invariant fields with open_cesm_static"
        )
    try:
        midpoints, note = month_midpoints(dataset, "time", month_stamp)
    except GeoxaiError as error:
        raise GeoxaiError(f"{_key(config_keys, 'month_stamp')}{store}: {error}") from error
    keys = month_keys(midpoints)
    wanted = (keys >= f"{first:04d}-01") & (keys <= f"{last:04d}-12")
    if wanted.sum() != 12 * (last - first + 1):
        # A year cut short by one month at either end is the mark of misplaced time stamps.
        stamp_key = (config_keys or {}).get("month_stamp", "month_stamp")
        raise GeoxaiError(
            f"{_key(config_keys, 'years')}{store} covers {keys[0]} .. {keys[-1]} ({variable}); "
            f"the years {first:04d}..{last:04d} asked for are not all inside it: choose years "
            f"within that range (if only one month is missing at an end, check {stamp_key}, "
            f"which places the months: {note})"
        )
    index = np.flatnonzero(wanted)
    # A contiguous slice keeps the selection a plain chunk-aligned read.
    selection = slice(index[0], index[-1] + 1) if index[-1] - index[0] + 1 == index.size else index
    field = field.isel(time=selection)
    field = field.assign_coords(
        time=("time", midpoints[selection], field["time"].attrs),
        time_key=("time", keys[selection]),
    )
    field["time"].attrs.pop("bounds", None)
    field = _squeeze_extra_dims(field, store, member)
    field.attrs = {**field.attrs, "source_store": str(store), "time_stamps": note}
    return field


def variable_in_store(
    store: str,
    variable: str,
    storage_options: dict[str, Any] | None,
    retries: int,
    backoff_s: float,
    config_keys: Mapping[str, str] | None = None,
) -> tuple[xr.Dataset, xr.DataArray]:
    """The store (lazily) and its ``variable``, or one error listing the variables it has."""
    dataset = open_store(
        store, storage_options, retries, backoff_s, (config_keys or {}).get("store")
    )
    if variable not in dataset.variables:
        raise GeoxaiError(
            f"{_key(config_keys, 'variable')}{store} has no variable {variable!r}; it has: "
            f"{', '.join(sorted(map(str, dataset.data_vars))) or 'none'}"
        )
    return dataset, dataset[variable]


def open_cesm_static(
    store: str,
    variable: str,
    storage_options: dict[str, Any] | None = None,
    *,
    retries: int = 3,
    backoff_s: float = 1.0,
    config_keys: Mapping[str, str] | None = None,
) -> xr.DataArray:
    """A time-invariant field (e.g. ``LANDFRAC``, ``TAREA``) from a store, loaded into memory."""
    _, field = variable_in_store(store, variable, storage_options, retries, backoff_s, config_keys)
    if "time" in field.dims:
        field = field.isel(time=0, drop=True)
    field = _squeeze_extra_dims(field, store, None)
    return with_retries(field.load, store, retries, backoff_s, (config_keys or {}).get("store"))


def attach_pop_grid(
    field: xr.DataArray,
    grid: xr.Dataset | None,
    store: str,
    config_keys: Mapping[str, str] | None = None,
    grid_store: str | None = None,
) -> xr.DataArray:
    """Make sure a POP field carries TLAT/TLONG (and TAREA when known), from ``grid`` if needed."""
    missing = [name for name in POP_GRID_VARIABLES if name not in field.coords]
    for name in missing:
        if grid is not None and name in grid.variables:
            field = field.assign_coords({name: grid[name].load()})
    if "TLAT" not in field.coords or "TLONG" not in field.coords:
        where = f"neither has the grid store {grid_store}" if grid_store else "no grid store is set"
        setting = (config_keys or {}).get("grid_store", "grid_store")
        raise GeoxaiError(
            f"{_key(config_keys, 'grid_store')}{store}: the ocean field has no TLAT/TLONG cell "
            f"centres, which regridding needs, and {where}: set {setting} to a store that has "
            "them (CESM on AWS: s3://ncar-cesm-lens/ocn/static/grid.zarr)"
        )
    return field


#: CF standard names of the CESM variables the workflow reads (CF standard-name table v93);
#: a variable not named here keeps the store's attributes.
CESM_STANDARD_NAMES = {
    "SST": "sea_surface_temperature",
    "TREFHT": "air_temperature",  # at the reference height, 2 m
    "TS": "surface_temperature",
    "LANDFRAC": "land_area_fraction",
}


def with_cf_attributes(dataset: xr.Dataset) -> xr.Dataset:
    """A copy of a CESM field ready to write as CF: the variables' standard names
    (:data:`CESM_STANDARD_NAMES`; CAM's unit "fraction" becomes "1"), ``lat``/``lon`` (and POP's
    ``TLAT``/``TLONG``) as latitude/longitude, ``time`` as time with the CF bounds of its
    monthly means (``time_bnds``, from ``time_key``), and long names on the coordinates the
    stores leave bare (``member_id``, ``time_key``)."""
    from geoxai.products.anomalies import TIME_KEY_ATTRS, with_time_bounds

    out = dataset.copy()
    for name, standard_name in CESM_STANDARD_NAMES.items():
        if name in out.data_vars:
            attrs = {**out[name].attrs, "standard_name": standard_name}
            if attrs.get("units") == "fraction":
                attrs["units"] = "1"
            out[name].attrs = attrs
    for name, cf in (("lat", LAT_ATTRS), ("lon", LON_ATTRS)):
        if name in out.coords and out[name].ndim == 1:
            out[name].attrs = {**out[name].attrs, **cf}
    for name, standard_name in (("TLAT", "latitude"), ("TLONG", "longitude")):
        if name in out.coords:
            out[name].attrs = {**out[name].attrs, "standard_name": standard_name}
    if "time" in out.coords:
        out["time"].attrs = {**out["time"].attrs, "standard_name": "time"}
    if "time_key" in out.coords:
        out["time_key"].attrs = {**TIME_KEY_ATTRS, **out["time_key"].attrs}
        if "time" in out.dims:
            keys = out["time_key"].values.astype(str)
            out = with_time_bounds(out, keys, keys)
    if "member_id" in out.coords:
        out["member_id"].attrs = {"long_name": "ensemble member of the source",
                                  **out["member_id"].attrs}
    return out


def fetch_cesm_variable(
    store: str,
    variable: str,
    years: tuple[int, int],
    destination_nc: str | os.PathLike,
    config: dict[str, Any] | None = None,
    storage_options: dict[str, Any] | None = None,
    *,
    grid_store: str | None = None,
    member: Any | None = None,
    month_stamp: str = "auto",
    retries: int = 3,
    backoff_s: float = 1.0,
    config_keys: Mapping[str, str] | None = None,
) -> Path:
    """Write ``variable`` for ``years`` from ``store`` to ``destination_nc`` (atomically).

    The NetCDF keeps ``time`` (mid-month), ``time_key`` and, for POP fields on ``nlat``/``nlon``,
    ``TLAT``/``TLONG``/``TAREA`` (from ``grid_store`` when the store itself lacks them). The
    provenance (store, variable, years) goes into the global attributes and into
    ``<destination>.provenance.json``.
    """
    field = open_cesm_variable(
        store,
        variable,
        years,
        storage_options,
        member=member,
        month_stamp=month_stamp,
        retries=retries,
        backoff_s=backoff_s,
        config_keys=config_keys,
    )
    if {"nlat", "nlon"} <= set(field.dims):
        grid_key = (config_keys or {}).get("grid_store")
        grid = (
            open_store(grid_store, storage_options, retries, backoff_s, grid_key)
            if grid_store
            else None
        )
        field = attach_pop_grid(field, grid, store, config_keys, grid_store)
    dataset = with_cf_attributes(field.to_dataset(name=variable))
    dataset.attrs = {
        "title": f"CESM {variable}, model years {int(years[0]):04d}-{int(years[1]):04d}",
        "source": str(store),
    }
    destination = Path(destination_nc)
    what = f"cesm {variable}"
    span = f"years {int(years[0]):04d}-{int(years[1]):04d}"
    shape = ", ".join(f"{dim}={size}" for dim, size in field.sizes.items())
    report(what, f"opened {store}: shape ({shape}), {span} ({field.sizes['time']} months), "
                 f"about {human_bytes(field.nbytes)} ({field.dtype})")
    watcher = _WriteProgress(what, field)
    started = time.monotonic()
    provenance = {
        "source_store": str(store),
        "source_variable": variable,
        "source_years": f"{int(years[0]):04d}-{int(years[1]):04d}",
        **({"source_grid_store": str(grid_store)} if grid_store else {}),
    }
    def write() -> None:
        with watcher:
            write_netcdf_atomic(dataset, destination, config=config, **provenance)

    with_retries(write, store, retries, backoff_s, (config_keys or {}).get("store"))
    report(what, f"wrote {destination.name}: {field.sizes['time']} months ({span}), "
                 f"{human_bytes(field.nbytes)} in {human_seconds(time.monotonic() - started)}")
    write_json_atomic(
        f"{destination}.provenance.json",
        {
            "url": str(store),
            "variable": variable,
            "years": [int(years[0]), int(years[1])],
            "grid_store": grid_store,
            "retrieved": _dt.datetime.now(_dt.UTC).isoformat(),
        },
    )
    return destination


def _write_progress_base():
    try:
        from dask.diagnostics import Callback
    except ImportError:  # pragma: no cover - dask comes with the analysis environment
        return object
    return Callback


class _WriteProgress(_write_progress_base()):
    """A dask callback counting the chunks of ``field`` written (dask's ``store-map`` tasks,
    one per chunk): a line every tenth of them and at least every PROGRESS_SECONDS, with the
    months whose chunks are all written. Observes only; the computation is unchanged."""

    def __init__(self, what: str, field: xr.DataArray) -> None:
        super().__init__()
        self.what = what
        self.nbytes = field.nbytes
        self.months = field.sizes["time"]
        self.time_axis = field.dims.index("time")
        chunks = field.chunks or tuple((size,) for size in field.shape)
        self.time_chunks = chunks[self.time_axis]
        self.per_time_block = int(np.prod([len(c) for c in chunks])) // len(self.time_chunks)
        self.ndim = field.ndim
        self.total = 0
        self.done = 0
        self.counted = lambda key: True
        self.throttle = Throttle(None)

    @staticmethod
    def _is_chunk_write(key: Any) -> bool:
        return isinstance(key, tuple) and str(key[0]).startswith("store-map")

    def _start_state(self, dsk, state) -> None:
        writes = [key for key in dsk if self._is_chunk_write(key)]
        if not writes and self.total:
            self.counted = lambda key: False  # a small side computation after the writes
            return
        self.counted = self._is_chunk_write if writes else (lambda key: True)
        self.total = len(writes) or len(dsk)
        self.done = 0
        self.blocks: dict[int, int] = {}
        self.months_done = 0
        self.throttle = Throttle(self.total, PROGRESS_PARTS, PROGRESS_SECONDS)

    def _posttask(self, key, result, dsk, state, id) -> None:
        if not self.counted(key):
            return
        self.done += 1
        if self._is_chunk_write(key) and len(key) == self.ndim + 1:
            block = int(key[1 + self.time_axis])
            self.blocks[block] = self.blocks.get(block, 0) + 1
            if self.blocks[block] == self.per_time_block and block < len(self.time_chunks):
                self.months_done += self.time_chunks[block]
        if self.done < self.total and self.throttle.due(self.done):
            self._line()

    def _finish(self, dsk, state, errored) -> None:
        if not errored and self.done:
            self._line()

    def _line(self) -> None:
        elapsed = self.throttle.elapsed()
        share = self.done / self.total if self.total else 1.0
        rate = share * self.nbytes / elapsed if elapsed > 0 else 0.0
        report(self.what, f"written {self.months_done}/{self.months} months, chunk "
                          f"{self.done}/{self.total} ({100 * share:.0f}%, about "
                          f"{human_bytes(share * self.nbytes)} of {human_bytes(self.nbytes)}), "
                          f"{human_bytes(rate)}/s, {human_seconds(elapsed)}")


def open_fetched_field(path: str, variable: str, key: str, time_chunk: int | None = None) -> xr.DataArray:
    """``variable`` of a file a fetch rule wrote (lazily); ``key`` is the config key naming it."""
    chunks = {"time": int(time_chunk)} if time_chunk else {}
    try:
        dataset = xr.open_dataset(path, chunks=chunks)
    except (OSError, ValueError) as error:
        raise GeoxaiError(
            f"{path} cannot be read ({error}): delete it and rerun the fetch rule"
        ) from error
    if variable not in dataset:
        store = dataset.attrs.get("source_store")
        raise GeoxaiError(
            f"config key {key}: {path}{f' (fetched from {store})' if store else ''} has no "
            f"variable {variable!r} (it has {sorted(map(str, dataset.data_vars))}): set {key} to "
            "one of these, or delete the file and rerun the fetch rule"
        )
    return dataset[variable]
