"""CESM output from the cloud (anonymous S3 Zarr), a local Zarr store, or local NetCDF files.

The CESM1 Large Ensemble pre-industrial control lives on AWS Open Data as one Zarr store per
variable (``s3://ncar-cesm-lens/ocn/monthly/cesmLE-CTRL-SST.zarr``, ``.../atm/monthly/
cesmLE-CTRL-TREFHT.zarr``); CESM2/CMIP6 piControl output comes as NetCDF files. Everything is
opened lazily (dask) and only the model years asked for are selected, so only their chunks are
ever read.

Monthly time stamps. CESM history files stamp each monthly mean at the END of its averaging
interval: January 0401 carries the time 0401-02-01 00:00. Taken at face value, every month would
be filed under the next one and a year selection would be off by a month. So before anything
else each month is re-stamped at the middle of its averaging interval:

* from the time bounds when the store has them (``time_bound`` in POP, ``time_bnds`` in CAM, or
  whatever the ``bounds`` attribute of ``time`` names): the midpoint of the two bounds;
* without bounds, ``month_stamp`` says where the stamps sit: ``"end"`` (CESM history: the month
  before the stamp), ``"start"`` or ``"middle"`` (the stamp's own month); ``"auto"`` takes
  stamps that all fall on the first of a month at midnight as CESM's end-of-month stamps and any
  other stamps as lying inside their month (the AWS CESM1-LE stores, re-stamped mid-month).
  An explicit ``month_stamp`` other than ``"auto"`` overrides the bounds.

The returned series carries the re-stamped ``time`` and a ``time_key`` coordinate ("YYYY-MM").

Errors name the store, and, when the caller says which config keys the settings came from
(``config_keys``, see :func:`field_config_keys`), the full key to change, e.g. ``lst.sst.variable``.
"""

from __future__ import annotations

import datetime as _dt
import glob
import os
import time as _time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.months import month_keys
from geoxai.core.provenance import write_json_atomic, write_netcdf_atomic

T = TypeVar("T")

MONTH_STAMPS = ("auto", "end", "start", "middle")
BOUNDS_NAMES = ("time_bound", "time_bnds", "time_bounds")
#: POP grid variables kept beside an ocean field: cell centres and areas for regridding.
POP_GRID_VARIABLES = ("TLAT", "TLONG", "TAREA")
REMOTE_PROTOCOLS = ("s3://", "gs://", "gcs://", "az://", "abfs://", "http://", "https://")
#: The settings of one field's section (``lst.sst``, ``lst.trefht``, ...) that errors can name.
FIELD_SETTINGS = ("store", "variable", "grid_store", "month_stamp")


def field_config_keys(section: str, years_key: str | None = None) -> dict[str, str]:
    """Full config keys of one field's settings: ``lst.sst`` -> ``lst.sst.store``,
    ``lst.sst.variable``, ``lst.sst.grid_store``, ``lst.sst.month_stamp``, and under ``years``
    the key of the model years, by default the section's sibling (``lst.years``)."""
    parent = section.rpartition(".")[0]
    years = years_key or (f"{parent}.years" if parent else "years")
    return {**{name: f"{section}.{name}" for name in FIELD_SETTINGS}, "years": years}


def _head(key: str | None) -> str:
    """The head of an error about a setting: its config key when the caller gave one."""
    return f"config key {key}: " if key else ""


def _key(config_keys: Mapping[str, str] | None, setting: str) -> str:
    return _head((config_keys or {}).get(setting))


def _is_remote(store: str) -> bool:
    return str(store).startswith(REMOTE_PROTOCOLS)


def _connection_errors() -> tuple[type[BaseException], ...]:
    """Exception types meaning "the server could not be reached", from the libraries present."""
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        import botocore.exceptions

        errors += [
            botocore.exceptions.ConnectionError,
            botocore.exceptions.ConnectTimeoutError,
            botocore.exceptions.ReadTimeoutError,
        ]
    except ImportError:
        pass
    try:
        import aiohttp

        errors += [aiohttp.ClientConnectionError]
    except ImportError:
        pass
    return tuple(errors)


def _endpoint_hint() -> str:
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    where = f"AWS_ENDPOINT_URL_S3={endpoint}" if endpoint else "the default AWS endpoint"
    return (
        f"check the network and the endpoint ({where}; unset AWS_ENDPOINT_URL_S3 for the real "
        "AWS bucket, or set it to your S3-compatible server)"
    )


def with_retries(
    action: Callable[[], T],
    store: str,
    retries: int = 3,
    backoff_s: float = 1.0,
    store_key: str | None = None,
) -> T:
    """Run ``action``; retry connection failures with exponential backoff, then raise GeoxaiError.

    A store that does not exist or refuses access is reported at once: retrying cannot fix it.
    ``store_key``: the config key that named the store, for the messages.
    """
    head = _head(store_key)
    connection_errors = _connection_errors()
    last: BaseException | None = None
    for attempt in range(1, max(1, retries) + 1):
        try:
            return action()
        except PermissionError as error:
            raise GeoxaiError(
                f"{head}access to {store} was refused ({error}): the CESM stores are public and "
                "read anonymously; check the URL, or pass credentials in storage_options"
            ) from error
        except FileNotFoundError as error:
            raise GeoxaiError(
                f"{head}no data at {store} ({error}): check the store URL or path (CESM1-LE "
                "control: s3://ncar-cesm-lens/ocn/monthly/cesmLE-CTRL-SST.zarr)"
                + (f"; {_endpoint_hint()}" if _is_remote(store) else "")
            ) from error
        except connection_errors as error:
            last = error
            if attempt < retries:
                _time.sleep(backoff_s * 2 ** (attempt - 1))
    raise GeoxaiError(
        f"{head}could not reach {store} after {max(1, retries)} attempt(s) "
        f"({type(last).__name__}: {last}); {_endpoint_hint()}"
    ) from last


def _local_files(store: str, store_key: str | None) -> list[str]:
    matches = sorted(glob.glob(store)) if glob.has_magic(store) else [store]
    existing = [path for path in matches if os.path.exists(path)]
    if not existing:
        raise GeoxaiError(
            f"{_head(store_key)}no file or Zarr store matches {store}: give an s3:// URL, a .zarr "
            "folder, or NetCDF file(s) (a glob such as 'piControl/*.nc' is allowed)"
        )
    return existing


def open_store(
    store: str,
    storage_options: dict[str, Any] | None = None,
    retries: int = 3,
    backoff_s: float = 1.0,
    store_key: str | None = None,
) -> xr.Dataset:
    """Open a remote or local Zarr store, or local NetCDF file(s), lazily.

    ``store_key``: the config key that named the store, for the messages.
    """
    store = str(store)
    if _is_remote(store):
        options = {"anon": True, **(storage_options or {})}
        return with_retries(
            lambda: xr.open_zarr(store, storage_options=options, consolidated=True),
            store,
            retries,
            backoff_s,
            store_key,
        )
    files = _local_files(store, store_key)
    if len(files) == 1 and (
        files[0].rstrip("/").endswith(".zarr") or Path(files[0], ".zgroup").exists()
    ):
        return with_retries(
            lambda: xr.open_zarr(files[0], consolidated=None), store, retries, backoff_s, store_key
        )
    try:
        if len(files) == 1:
            return xr.open_dataset(files[0], chunks={})
        return xr.open_mfdataset(
            files,
            combine="by_coords",
            data_vars="minimal",
            coords="minimal",
            compat="override",
            chunks={},
            join="outer",
        )
    except (OSError, ValueError) as error:
        raise GeoxaiError(
            f"{_head(store_key)}cannot read {store} as NetCDF ({error}): check the file(s)"
        ) from error


def _bounds_variable(dataset: xr.Dataset, time_name: str) -> xr.DataArray | None:
    declared = dataset[time_name].attrs.get("bounds") or dataset[time_name].encoding.get("bounds")
    for name in ([declared] if declared else []) + list(BOUNDS_NAMES):
        if name in dataset.variables and dataset[name].ndim == 2:
            return dataset[name]
    return None


def _decoded_bounds(bounds: xr.DataArray, time: xr.DataArray) -> np.ndarray:
    values = bounds.values
    if values.dtype.kind in "fiu":  # bounds left numeric: decode them with the time axis's units
        import cftime

        units = time.encoding.get("units")
        calendar = time.encoding.get("calendar", "standard")
        if not units:
            raise GeoxaiError(
                f"time bounds {bounds.name!r} are numbers but the time axis has no units: "
                "cannot place the months; set month_stamp to end, start or middle to place them "
                "by their time stamps instead"
            )
        values = np.asarray(cftime.num2date(values, units, calendar=calendar))
    return values


def month_midpoints(
    dataset: xr.Dataset, time_name: str = "time", month_stamp: str = "auto"
) -> tuple[np.ndarray, str]:
    """Middle of each monthly averaging interval, and a sentence saying how it was found."""
    if month_stamp not in MONTH_STAMPS:
        raise GeoxaiError(f"month_stamp={month_stamp!r}: use one of {', '.join(MONTH_STAMPS)}")
    stamps = dataset[time_name]
    bounds = _bounds_variable(dataset, time_name)
    if bounds is not None and month_stamp == "auto":
        edges = _decoded_bounds(bounds, stamps)
        return edges[:, 0] + (edges[:, 1] - edges[:, 0]) / 2, (
            f"months placed at the midpoint of their time bounds ({bounds.name})"
        )
    values = stamps.values
    if month_stamp == "auto":
        first_of_month = (
            (stamps.dt.day == 1) & (stamps.dt.hour == 0) & (stamps.dt.minute == 0)
        ).values.all()
        month_stamp = "end" if first_of_month else "middle"
    if month_stamp == "end":
        # A stamp at the first of a month closes the previous month: step back half a month.
        return values - _dt.timedelta(days=15), (
            "time stamps taken as CESM end-of-interval stamps; months re-stamped 15 days earlier"
        )
    if month_stamp == "start":
        return values + _dt.timedelta(days=15), "time stamps taken as month starts"
    return values, "time stamps taken as lying inside their month"


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
    dataset = field.to_dataset(name=variable)
    dataset.attrs = {
        "title": f"CESM {variable}, model years {int(years[0]):04d}-{int(years[1]):04d}",
        "source": str(store),
    }
    destination = Path(destination_nc)
    provenance = {
        "source_store": str(store),
        "source_variable": variable,
        "source_years": f"{int(years[0]):04d}-{int(years[1]):04d}",
        **({"source_grid_store": str(grid_store)} if grid_store else {}),
    }
    with_retries(
        lambda: write_netcdf_atomic(dataset, destination, config=config, **provenance),
        store,
        retries,
        backoff_s,
        (config_keys or {}).get("store"),
    )
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
