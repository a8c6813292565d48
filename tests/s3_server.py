"""A local S3 server (moto in server mode) that the production S3 + Zarr code reads from, offline.

Everything the real CESM bucket needs is reproduced (docs/stack.md, "S3 and Zarr
server"): the server listens on 127.0.0.1 on a free port; ``AWS_ENDPOINT_URL_S3`` and
``AWS_ENDPOINT_URL`` point botocore (and so s3fs) at it; dummy credentials let the fixture write,
while readers stay anonymous; ``AWS_EC2_METADATA_DISABLED`` keeps a client from probing the cloud
metadata address; s3fs's instance cache is cleared so no client made for another endpoint is
reused; objects are written public-read, because moto refuses anonymous reads of private objects
(zarr then reports a misleading ``KeyError: '.zmetadata'``); stores are Zarr v2, consolidated,
like the real ones.

Use it from a test module (importing the fixture under its function name keeps linters from
mistaking the test argument for a redefinition)::

    from s3_server import local_s3_fixture  # noqa: F401

    def test_something(local_s3):
        url = local_s3.write_store(dataset, "ocn/monthly/cesmLE-CTRL-SST.zarr")
        xr.open_zarr(url, storage_options={"anon": True}, consolidated=True)
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import xarray as xr

BUCKET = "ncar-cesm-lens"
PUBLIC_READ = {"s3_additional_kwargs": {"ACL": "public-read"}}
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _clear_s3fs_cache() -> None:
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


@dataclass
class LocalS3:
    """A running local S3 endpoint with one public bucket."""

    endpoint: str
    bucket: str = BUCKET

    @property
    def environment(self) -> dict[str, str]:
        """The AWS variables that point a client (this process or a child) at this server."""
        return {**ENVIRONMENT, "AWS_ENDPOINT_URL_S3": self.endpoint, "AWS_ENDPOINT_URL": self.endpoint}

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key.lstrip('/')}"

    def filesystem(self):
        import s3fs

        return s3fs.S3FileSystem(anon=False, **PUBLIC_READ)

    def write_store(self, dataset: xr.Dataset, key: str) -> str:
        """Write ``dataset`` as a consolidated Zarr v2 store at ``key``, public-read; return URL."""
        url = self.url(key)
        dataset.to_zarr(
            url,
            mode="w",
            zarr_format=2,
            consolidated=True,
            storage_options={"anon": False, **PUBLIC_READ},
        )
        _clear_s3fs_cache()
        return url

    def upload_store(self, local_store: str | os.PathLike, key: str) -> str:
        """Copy a local Zarr folder (e.g. one written by synthetic_cesm) to ``key``, public-read."""
        url = self.url(key)
        self.filesystem().put(str(Path(local_store)) + "/", url, recursive=True)
        _clear_s3fs_cache()
        return url

    def delete(self, key: str) -> None:
        self.filesystem().rm(self.url(key))
        _clear_s3fs_cache()


@contextlib.contextmanager
def local_s3(bucket: str = BUCKET) -> Iterator[LocalS3]:
    """Start moto on 127.0.0.1 (free port), point the AWS environment at it, create ``bucket``.

    The environment is restored and the server stopped on exit.
    """
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto keeps its buckets in process-wide state that outlives a server: start from empty, so
    # one test module's stores never appear in the next one's bucket.
    import requests

    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    variables = LocalS3(endpoint=endpoint, bucket=bucket).environment
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    _clear_s3fs_cache()
    try:
        s3 = LocalS3(endpoint=endpoint, bucket=bucket)
        s3.filesystem().mkdir(bucket)
        yield s3
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _clear_s3fs_cache()
        server.stop()


@pytest.fixture(name="local_s3", scope="module")
def local_s3_fixture() -> Iterator[LocalS3]:
    """A local S3 server with the bucket ``ncar-cesm-lens``, for the tests of one module."""
    with local_s3() as s3:
        yield s3
