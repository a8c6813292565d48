"""A small CESM-like control run with a known answer, in the layout of the CESM1-LE Zarr stores.

What is written (paths relative to ``out_dir``, which may be a local folder or ``s3://bucket``):

* ``ocn/monthly/cesmLE-CTRL-SST.zarr``: ``SST(member_id, time, z_t, nlat, nlon)`` in degC on a
  POP-like curvilinear grid whose north pole is displaced into Greenland (2-D ``TLAT``,
  ``TLONG``, ``TAREA`` in cm^2; land NaN), cftime noleap months stamped at their END as CESM
  history files do (January 0400 at 0400-02-01 00:00) with ``time_bound(time, d2)``.
* ``atm/monthly/cesmLE-CTRL-TREFHT.zarr``: ``TREFHT(member_id, time, lat, lon)`` in K on a
  regular grid (CAM finite-volume style: latitudes include both poles), ``time_bnds(time, nbnd)``.
* ``atm/static/grid.zarr``: ``LANDFRAC(lat, lon)`` and the cell ``area`` of that grid.
* ``truth.json`` and ``truth.nc`` (next to the stores, or in ``truth_dir``): the driver region,
  the driven box, the standardized driver index per season and the driver mask on the regular SST
  grid the workflow regrids to (``sst_grid_degrees``).

The known answer. SST anomalies are a red-noise background (grid-point AR(1) plus large-scale
modes that vanish inside the driver region) plus a driver pattern confined to the driver region
(a smooth bump, zero at the region's edges) with an AR(1) amplitude. The 2-m temperature of every
10-degree box is independent noise, except that in the driven box each month of season s + 1
gets ``signal_strength`` x (seasonal noise std) x the standardized driver amplitude of season s.
So the sign of the driven box's next-season anomaly is predictable from SST in the driver region
only (best possible accuracy 0.5 + arctan(signal_strength) / pi, 0.90 for the default 3), and
every other box is unpredictable (0.5). Climatologies, seasonal cycles and a slow linear drift
are added so that the anomaly and drift steps have real work to do. Everything is drawn from
``numpy.random.default_rng(seed)``: the same settings give the same stores.
"""

from geoxai.lst.synthetic.fields import SyntheticCESMSettings, sst_fields, trefht_fields
from geoxai.lst.synthetic.grids import (
    CONTINENTS,
    EARTH_RADIUS_CM,
    cam_like_grid,
    driver_mask,
    driver_pattern,
    pop_like_grid,
    synthetic_land,
)
from geoxai.lst.synthetic.stores import generate_cesm_like

__all__ = [
    "CONTINENTS",
    "EARTH_RADIUS_CM",
    "SyntheticCESMSettings",
    "cam_like_grid",
    "driver_mask",
    "driver_pattern",
    "generate_cesm_like",
    "pop_like_grid",
    "sst_fields",
    "synthetic_land",
    "trefht_fields",
]
