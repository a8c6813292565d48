"""Curvilinear ocean grids (POP's displaced-pole grid) onto a regular latitude-longitude grid.

Method: area-weighted bin averaging. Every source cell is assigned, by the position of its centre
(``TLAT``, ``TLONG``), to the target cell that contains it; a target value is the mean of its
source cells weighted by their area (``TAREA`` when given, else cos(latitude), the area of a
regular cell up to a constant). Missing source values (land) are left out of both the sum and
the weights, so land never leaks into the ocean and a target cell holding only land is NaN.

This is the right tool when the target cells are coarser than the source cells (2 degrees from
POP's ~1 degree): each target cell then averages several whole source cells, which is close to
first-order conservative remapping without cell corners. For a field with gradient ``g`` (per
radian) the error of a target value against the field at the cell centre is at most
``g * half_cell_width`` (mean value theorem), and the global area mean is kept to second order.
Where the target is finer than the source some target cells receive no source cell and are NaN:
use a coarser target (or a conservative regridder such as xESMF where it installs).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.grid import LAT_ATTRS, LON_ATTRS


def regular_grid(degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres of a global regular grid: lat ascending from -90 + d/2, lon from d/2 to 360."""
    n_lat = 180.0 / degrees
    n_lon = 360.0 / degrees
    if degrees <= 0 or abs(n_lat - round(n_lat)) > 1e-9 or abs(n_lon - round(n_lon)) > 1e-9:
        raise GeoxaiError(
            f"regrid degrees={degrees} must divide 180 and 360 (e.g. 1, 2, 2.5, 4, 5): a global "
            "regular grid has whole cells"
        )
    lat = -90.0 + degrees * (np.arange(round(n_lat)) + 0.5)
    lon = degrees * (np.arange(round(n_lon)) + 0.5)
    return lat, lon


def cell_area_regular(lat: np.ndarray, degrees: float) -> np.ndarray:
    """Exact area of regular cells on the unit sphere, per latitude row (steradians)."""
    half = np.deg2rad(degrees / 2)
    phi = np.deg2rad(lat)
    return np.deg2rad(degrees) * (np.sin(phi + half) - np.sin(phi - half))


def bin_average_matrix(
    lat2d: np.ndarray, lon2d: np.ndarray, degrees: float, weights: np.ndarray | None = None
) -> scipy.sparse.csr_matrix:
    """Sparse (target cells x source cells) matrix of source-area weights for bin averaging.

    Longitudes in any convention (-180..180, 0..360, beyond 360) are wrapped to 0..360 first.
    """
    lat_centres, lon_centres = regular_grid(degrees)
    lat = np.asarray(lat2d, dtype=np.float64).ravel()
    lon = np.mod(np.asarray(lon2d, dtype=np.float64).ravel(), 360.0)
    area = (
        np.cos(np.deg2rad(lat))
        if weights is None
        else np.asarray(weights, dtype=np.float64).ravel()
    )
    usable = np.isfinite(lat) & np.isfinite(lon) & np.isfinite(area) & (area > 0)
    row = np.clip(np.floor((lat + 90.0) / degrees).astype(np.int64), 0, lat_centres.size - 1)
    column = np.floor(lon / degrees).astype(np.int64) % lon_centres.size
    target = row * lon_centres.size + column
    source = np.arange(lat.size)
    return scipy.sparse.csr_matrix(
        (area[usable], (target[usable], source[usable])),
        shape=(lat_centres.size * lon_centres.size, lat.size),
    )


def _bin_average(values: np.ndarray, matrix: scipy.sparse.csr_matrix, shape: tuple[int, int]):
    """Apply the weights to ``values(..., y, x)``; NaN sources count neither in sum nor weight."""
    leading = values.shape[:-2]
    flat = values.reshape(-1, values.shape[-2] * values.shape[-1]).T.astype(np.float64)
    valid = np.isfinite(flat)
    total = matrix @ np.where(valid, flat, 0.0)
    weight = matrix @ valid.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(weight > 0, total / weight, np.nan)
    return mean.T.reshape(*leading, *shape).astype(values.dtype, copy=False)


def regrid_to_regular(
    field: xr.DataArray,
    lat2d: xr.DataArray | np.ndarray,
    lon2d: xr.DataArray | np.ndarray,
    degrees: float = 2.0,
    weights: xr.DataArray | np.ndarray | None = None,
) -> xr.DataArray:
    """Area-weighted bin average of a curvilinear ``field(..., y, x)`` onto a regular grid.

    ``lat2d``/``lon2d`` are the cell centres on the field's last two dimensions (POP: ``TLAT``,
    ``TLONG`` on ``nlat``, ``nlon``); ``weights`` the cell areas (POP: ``TAREA``), cos(lat) when
    omitted. Returns ``(..., lat, lon)`` with lat ascending, lon 0..360 cell centres; target cells
    without an ocean source are NaN. Lazy for dask-backed fields (one task per leading chunk).
    """
    lat_values = np.asarray(lat2d, dtype=np.float64)
    lon_values = np.asarray(lon2d, dtype=np.float64)
    if (
        field.ndim < 2
        or lat_values.shape != field.shape[-2:]
        or lon_values.shape != lat_values.shape
    ):
        raise GeoxaiError(
            f"cannot regrid {field.name!r}: its last two dimensions {field.dims[-2:]} have shape "
            f"{field.shape[-2:]} but the latitude/longitude arrays have shape {lat_values.shape} "
            f"and {lon_values.shape}; pass the 2-D cell centres of the field's own grid "
            "(POP: TLAT, TLONG)"
        )
    weight_values = None if weights is None else np.asarray(weights, dtype=np.float64)
    if weight_values is not None and weight_values.shape != lat_values.shape:
        raise GeoxaiError(
            f"cell areas have shape {weight_values.shape}, the grid {lat_values.shape}: pass the "
            "area of the same grid (POP: TAREA)"
        )
    matrix = bin_average_matrix(lat_values, lon_values, degrees, weight_values)
    lat, lon = regular_grid(degrees)
    y_dim, x_dim = field.dims[-2:]
    if field.chunks is not None:
        field = field.chunk({y_dim: -1, x_dim: -1})
    dtype = field.dtype if np.issubdtype(field.dtype, np.floating) else np.dtype("float64")
    regridded = xr.apply_ufunc(
        _bin_average,
        field,
        input_core_dims=[[y_dim, x_dim]],
        output_core_dims=[["lat", "lon"]],
        kwargs={"matrix": matrix, "shape": (lat.size, lon.size)},
        dask="parallelized",
        output_dtypes=[dtype],
        dask_gufunc_kwargs={"output_sizes": {"lat": lat.size, "lon": lon.size}},
        keep_attrs=True,
    )
    regridded = regridded.assign_coords(lat=("lat", lat, LAT_ATTRS), lon=("lon", lon, LON_ATTRS))
    regridded.attrs["regrid_method"] = (
        f"area-weighted bin average of source cell centres into {degrees:g}-degree cells, weights "
        + ("source cell area" if weights is not None else "cos(latitude)")
        + "; missing (land) source cells excluded; target cells without ocean source are NaN"
    )
    return regridded
