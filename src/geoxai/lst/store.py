"""Opening a store: anonymous S3 (or any fsspec URL) Zarr, a local Zarr store, or local NetCDF
files, retrying what an unreachable server makes fail."""

from __future__ import annotations

import glob
import os
import time as _time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import xarray as xr

from geoxai.core.errors import GeoxaiError

T = TypeVar("T")

REMOTE_PROTOCOLS = ("s3://", "gs://", "gcs://", "az://", "abfs://", "http://", "https://")


def key_head(key: str | None) -> str:
    """The head of an error about a setting: its config key when the caller gave one."""
    return f"config key {key}: " if key else ""


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
    head = key_head(store_key)
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
            f"{key_head(store_key)}no file or Zarr store matches {store}: give an s3:// URL, a .zarr "
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
            f"{key_head(store_key)}cannot read {store} as NetCDF ({error}): check the file(s)"
        ) from error
