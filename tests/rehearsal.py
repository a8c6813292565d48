"""A dress rehearsal of the paper run: the real data sources, rebuilt offline in their exact layouts.

``config/config.yaml`` is run as it stands except for where the data live:

* Application 1: a local HTTP server serves ``Datasets/COBE2/sst.mon.mean.nc`` in COBE-SST2's
  layout (variable ``sst`` in degC with the product's attributes, latitude 89.5 -> -89.5,
  longitude 0.5 -> 359.5, monthly from 1850-01, land marked missing, sea-ice cells at -1.8 degC)
  and ``gcos_wgsp/Timeseries/Data/nino34.long.anom.data``, the real PSL Niño3.4 long index
  (``tests/data/``). The synthetic SST carries ENSO patterns scaled by that real index, so the
  paper's labels (337 El Niño, 485 La Niña, split 658/164) come out of the run and the networks
  can learn them.
* Application 2: a local S3 server (moto) holds, in the bucket ``ncar-cesm-lens``, exactly the
  stores of the public CESM1-LE catalog that the default config reads, and no others:
  ``ocn/monthly/cesmLE-CTRL-SST.zarr`` (``SST(member_id, time, z_t, nlat, nlon)``, POP grid
  centres ``TLAT``/``TLONG`` as coordinates, end-of-month noleap stamps with ``time_bound``),
  ``ocn/static/grid.zarr`` (``TLAT``, ``TLONG``, ``TAREA``) and
  ``atm/monthly/cesmLE-CTRL-TREFHT.zarr`` (``TREFHT(member_id, time, lat, lon)``). The catalog
  has no atmosphere static store, so the land fraction is not served: the workflow derives it.
  The catalog does not state the stores' chunking; the stores here are chunked by whole decades
  of months over whole fields, consolidated Zarr v2 like the real ones.

Used by ``tests/test_rehearsal.py`` (small grids, two seeds) and by ``benchmarks/bench_rehearsal.py``
(``make rehearsal``: the paper's full size).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr

from geoxai.enso.synthetic import generate_enso
from geoxai.lst.layout import SST_STORE, TREFHT_STORE
from geoxai.lst.synthetic import generate_cesm_like

REPOSITORY = Path(__file__).resolve().parents[1]
REAL_INDEX = REPOSITORY / "tests" / "data" / "nino34.long.anom.data"
COBE_PATH = "Datasets/COBE2/sst.mon.mean.nc"
INDEX_PATH = "gcos_wgsp/Timeseries/Data/nino34.long.anom.data"
OCEAN_GRID_STORE = "ocn/static/grid.zarr"
#: The stores of the CESM1-LE catalog that config/config.yaml reads (the bucket's keys).
CATALOG_STORES = (SST_STORE, OCEAN_GRID_STORE, TREFHT_STORE)
POP_GRID = ("TLAT", "TLONG", "TAREA")


def write_cobe_sst2(folder: Path, grid_degrees: float = 1.0, end: str = "2026-10",
                    seed: int = 2020) -> Path:
    """COBE-SST2's ``sst.mon.mean.nc`` layout, ENSO driven by the real Niño3.4 index."""
    target = folder / COBE_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    known_answer = folder.parent / f"{folder.name}_truth"
    known_answer.mkdir(exist_ok=True)
    generate_enso(
        {"seed": seed, "grid_degrees": grid_degrees, "start": "1850-01", "end": end,
         "index_file": str(REAL_INDEX), "sea_ice_celsius": -1.8},
        target, known_answer / "index.txt", known_answer / "truth.nc",
    )
    index = folder / INDEX_PATH
    index.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REAL_INDEX, index)
    return target


def cesm_settings(n_years: int, ocean_shape: tuple[int, int], atm_degrees: tuple[float, float],
                  seed: int = 0) -> dict[str, Any]:
    """A CESM-like control run starting in model year 400 (the run's first year) whose known
    answer sits in a box the default config explains (``lat30_lon260``)."""
    return {
        "seed": seed, "first_year": 400, "n_years": n_years,
        "ocean_nlat": ocean_shape[0], "ocean_nlon": ocean_shape[1],
        "atm_dlat": atm_degrees[0], "atm_dlon": atm_degrees[1],
        "driven_box": [30, 260], "time_chunk": 120,
    }


def write_cesm_catalog_stores(s3: Any, settings: dict[str, Any], scratch: Path) -> dict[str, str]:
    """Write the catalog's stores to the local S3 server ``s3`` (a ``s3_server.LocalS3``)."""
    paths = generate_cesm_like(settings, scratch / "generated", truth_dir=scratch / "truth")
    sst = xr.open_zarr(paths["sst"], consolidated=True)
    # The monthly ocean store carries the cell centres; areas come with the static grid store.
    ocean_grid = xr.Dataset(coords={name: sst[name] for name in POP_GRID}).reset_coords()
    ocean_grid.attrs = {"title": "POP gx1v6-like ocean grid (geoxai rehearsal)"}
    urls = {
        "sst": s3.write_store(_rechunked(sst.drop_vars("TAREA")), SST_STORE),
        "grid": s3.write_store(ocean_grid.load(), OCEAN_GRID_STORE),
        "trefht": s3.write_store(
            _rechunked(xr.open_zarr(paths["trefht"], consolidated=True)), TREFHT_STORE),
    }
    shutil.rmtree(scratch / "generated")
    return urls


def _rechunked(dataset: xr.Dataset) -> xr.Dataset:
    for variable in dataset.variables.values():
        variable.encoding.pop("chunks", None)
        variable.encoding.pop("preferred_chunks", None)
    return dataset


def paper_locations(http_url: str) -> dict[str, Any]:
    """The only config keys the rehearsal changes: where Application 1's files are served."""
    return {"enso": {"sst": {"url": f"{http_url}/{COBE_PATH}"},
                     "index": {"url": f"{http_url}/{INDEX_PATH}"}}}


@dataclass
class Rehearsal:
    """A running rehearsal: the servers, the config keys that point at them, the environment a
    workflow process needs to read the local S3 server as the real bucket, and the known answer
    of the COBE-layout SST (``truth.nc``)."""

    http: Any
    s3: Any
    locations: dict[str, Any]
    environment: dict[str, str]
    truth: Path


@contextlib.contextmanager
def serve_paper_data(folder: Path, cobe_degrees: float, cesm: dict[str, Any]) -> Iterator[Rehearsal]:
    """Write the paper's data in their real layouts under ``folder`` and serve them on 127.0.0.1
    (HTTP for Application 1, S3 for Application 2) while the context lasts."""
    from http_server import FaultyFileServer
    from s3_server import local_s3

    served = folder / "served"
    write_cobe_sst2(served, grid_degrees=cobe_degrees)
    with FaultyFileServer(served) as http, local_s3() as s3:
        write_cesm_catalog_stores(s3, cesm, folder / "cesm")
        yield Rehearsal(http=http, s3=s3, locations=paper_locations(http.url("").rstrip("/")),
                        environment=s3.environment, truth=folder / "served_truth" / "truth.nc")
