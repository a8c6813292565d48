"""Rules of data.smk: the inputs, fetched or generated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import xarray as xr

from geoxai.core import provenance
from geoxai.core.errors import GeoxaiError


def fetch(source: str, output: str, sha256: str | None = None, expected: str | None = None) -> None:
    """A file from a URL or a local path into resources/ (downloaded, or linked)."""
    from geoxai.core.download import fetch_or_link

    fetch_or_link(source, output, sha256=sha256, expected=expected)


def synthesize_enso(settings: dict[str, Any], sst: str, index: str, truth: str) -> None:
    """A COBE-like SST file and a Nino3.4-like index with a known answer."""
    from geoxai.enso.synthetic import generate_enso

    generate_enso(settings or {}, sst, index, truth)


def synthesize_lst(settings: dict[str, Any] | None, out_dir: str, truth_dir: str) -> dict[str, str]:
    """CESM-like Zarr stores with a known answer under ``out_dir``; truth.nc/.json in
    ``truth_dir``."""
    from geoxai.lst.synthetic import generate_cesm_like

    return generate_cesm_like(settings or {}, out_dir, truth_dir=truth_dir)


def fetch_cesm(
    store: str,
    variable: str,
    output: str,
    years: Sequence[int] | None = None,
    grid_store: str | None = None,
    month_stamp: str = "auto",
    static: bool = False,
    config: dict[str, Any] | None = None,
) -> None:
    """One CESM variable from a store (S3 Zarr, local Zarr or NetCDF) into a local NetCDF file.

    Monthly fields keep only ``years`` (inclusive); a ``static`` field (e.g. LANDFRAC) is written
    whole. Both leave ``<output>.provenance.json`` naming the store. Errors name the config keys
    of the field's section, found in ``config`` (the sections the rule passes for provenance).
    """
    from geoxai.lst.cesm import fetch_cesm_variable, field_config_keys, open_cesm_static

    section = _field_section(config, variable)
    keys = field_config_keys(section) if section else {"years": "lst.years"}
    if section and (config or {}).get("lst.synthetic"):
        keys["store"] = "lst.synthetic"  # the store is the generated one, not the section's
    if not static:
        if not years or len(years) != 2:
            raise GeoxaiError(
                f"config key {keys['years']}: give [first, last] model years, e.g. [400, 2200] "
                f"(for {variable} from {store})"
            )
        fetch_cesm_variable(
            store,
            variable,
            (int(years[0]), int(years[1])),
            output,
            config=config,
            grid_store=grid_store or None,
            month_stamp=month_stamp,
            config_keys=keys,
        )
        return
    field = open_cesm_static(store, variable, config_keys=keys)
    dataset = field.to_dataset(name=variable)
    dataset.attrs = {"title": f"CESM {variable} (time-invariant)", "source": str(store)}
    provenance.write_netcdf_atomic(
        dataset, output, config=config, source_store=str(store), source_variable=variable
    )
    provenance.write_json_atomic(
        f"{output}.provenance.json", {"url": str(store), "variable": variable}
    )


def _field_section(config: dict[str, Any] | None, variable: str) -> str | None:
    """The config section (``lst.sst``, ``lst.trefht``, ...) whose ``variable`` is ``variable``.

    The fetch rules pass the sections they read, keyed by their full path, as the provenance
    config; one rule serves several fields, so the section is found there rather than passed.
    """
    sections = [key for key, value in (config or {}).items()
                if isinstance(value, dict) and value.get("variable") == variable]
    return sections[0] if len(sections) == 1 else None


def lst_landfrac(trefht: str, output: str, variable: str = "LANDFRAC",
                 trefht_variable: str = "TREFHT", config: dict[str, Any] | None = None) -> xr.DataArray:
    """The land fraction on the TREFHT grid, from the shipped Natural Earth polygons."""
    from geoxai.lst.landfrac import write_land_fraction

    return write_land_fraction(trefht, output, variable, trefht_variable, config=config)
