"""Rules of data.smk: the inputs, fetched or generated."""

from __future__ import annotations

from typing import Any

import xarray as xr

from geoxai.core import provenance
from geoxai.core.errors import GeoxaiError


def _fetch(source: str, output: str, checksum: str | None, expected: str) -> None:
    from geoxai.core.download import fetch_or_link

    fetch_or_link(source, output, sha256=checksum or None, expected=expected)


def fetch_enso_sst(source: str, sst: str, checksum: str | None = None) -> None:
    """The SST file (NetCDF) from a URL or a local path into resources/ (downloaded, or linked)."""
    _fetch(source, sst, checksum, "netcdf")


def fetch_enso_index(source: str, index: str, checksum: str | None = None) -> None:
    """The index table (text) from a URL or a local path into resources/."""
    _fetch(source, index, checksum, "text")


def synthesize_enso(settings: dict[str, Any], sst: str, index: str, truth: str) -> None:
    """A COBE-like SST file and a Nino3.4-like index with a known answer."""
    from geoxai.enso.synthetic import generate_enso

    generate_enso(settings or {}, sst, index, truth)


def synthesize_lst(settings: dict[str, Any] | None, stores: str, truth_dir: str) -> dict[str, str]:
    """CESM-like Zarr stores with a known answer under ``stores``; truth.nc/.json in
    ``truth_dir``."""
    from geoxai.lst.synthetic import generate_cesm_like

    return generate_cesm_like(settings or {}, stores, truth_dir=truth_dir)


def _error_keys(section: str | None, config: dict[str, Any] | None) -> dict[str, str]:
    """Full config keys of the field's ``section`` (``lst.sst``, ...), for the errors."""
    from geoxai.lst.cesm import field_config_keys

    keys = field_config_keys(section) if section else {"years": "lst.years"}
    if section and (config or {}).get("lst.synthetic"):
        keys["store"] = "lst.synthetic"  # the store is the generated one, not the section's
    return keys


def fetch_lst_field(
    store: str,
    variable: str,
    fetched: str,
    years: tuple[int, int] | None = None,
    grid_store: str | None = None,
    month_stamp: str = "auto",
    section: str | None = None,
    config: dict[str, Any] | None = None,
) -> None:
    """One monthly CESM field from a store (S3 Zarr, local Zarr or NetCDF) into a local NetCDF
    file, only ``years`` (inclusive), with ``<fetched>.provenance.json`` naming the store.
    Errors name the keys of the config ``section`` the field is set in."""
    from geoxai.lst.cesm import fetch_cesm_variable

    keys = _error_keys(section, config)
    if not years or len(years) != 2:
        raise GeoxaiError(
            f"config key {keys['years']}: give [first, last] model years, e.g. [400, 2200] "
            f"(for {variable} from {store})"
        )
    fetch_cesm_variable(
        store,
        variable,
        (int(years[0]), int(years[1])),
        fetched,
        config=config,
        grid_store=grid_store or None,
        month_stamp=month_stamp,
        config_keys=keys,
    )


def fetch_lst_landfrac(store: str, variable: str, landfrac: str,
                       config: dict[str, Any] | None = None) -> None:
    """The land fraction (time-invariant) from a store into a local NetCDF file."""
    from geoxai.lst.cesm import open_cesm_static, with_cf_attributes

    field = open_cesm_static(store, variable, config_keys=_error_keys("lst.landfrac", config))
    dataset = with_cf_attributes(field.to_dataset(name=variable))
    dataset.attrs = {"title": f"CESM {variable} (time-invariant)", "source": str(store)}
    provenance.write_netcdf_atomic(
        dataset, landfrac, config=config, source_store=str(store), source_variable=variable
    )
    provenance.write_json_atomic(
        f"{landfrac}.provenance.json", {"url": str(store), "variable": variable}
    )


def compute_lst_landfrac(trefht: str, landfrac: str, variable: str = "LANDFRAC",
                         trefht_variable: str = "TREFHT",
                         config: dict[str, Any] | None = None) -> xr.DataArray:
    """The land fraction on the TREFHT grid, from the shipped Natural Earth polygons."""
    from geoxai.lst.landfrac import write_land_fraction

    return write_land_fraction(trefht, landfrac, variable, trefht_variable, config=config)
