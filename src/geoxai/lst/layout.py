"""Where the synthetic CESM-like source puts its stores, relative to its output folder: the keys of
the CESM1-LE bucket (``s3://ncar-cesm-lens``), plus an atmosphere static store the bucket lacks.

Only the standard library here: the workflow's Snakefile reads these names too, and it runs in the
Snakemake environment, which has none of the package's dependencies.
"""

SST_STORE = "ocn/monthly/cesmLE-CTRL-SST.zarr"
TREFHT_STORE = "atm/monthly/cesmLE-CTRL-TREFHT.zarr"
ATM_GRID_STORE = "atm/static/grid.zarr"

#: config field (``lst.<field>``) -> store written by :func:`geoxai.lst.synthetic.generate_cesm_like`
SYNTHETIC_STORES = {"sst": SST_STORE, "trefht": TREFHT_STORE, "landfrac": ATM_GRID_STORE}
