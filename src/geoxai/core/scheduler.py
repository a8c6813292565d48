"""Where dask runs a step's blocks: a local scheduler, or a running distributed cluster."""

from __future__ import annotations

import dask

from geoxai.core.errors import GeoxaiError


def dask_config(scheduler: str, section: str):
    """A context for dask: the threaded scheduler, or a running distributed scheduler at an address.

    ``section`` is the config section whose ``dask_scheduler`` key the errors name.
    """
    if scheduler in {"threads", "synchronous", "processes"}:
        return dask.config.set(scheduler=scheduler)
    if "://" in scheduler:
        from distributed import Client

        try:
            return Client(scheduler, timeout="30s")
        except OSError as error:
            raise GeoxaiError(
                f"config key {section}.dask_scheduler={scheduler!r}: no dask scheduler answers there ({error})"
            ) from error
    raise GeoxaiError(
        f"config key {section}.dask_scheduler={scheduler!r}: use threads, synchronous, or tcp://host:port"
    )
