"""A smooth random anomaly field in the workflow's layout, for tests and timings of the benchmark."""

from __future__ import annotations

import numpy as np
import xarray as xr

from geoxai.core.months import month_keys
from geoxai.products.anomalies import anomaly_dataset


def synthetic_anomalies(
    n_lat: int = 20, n_lon: int = 36, months: int = 300, seed: int = 0, smoothing_cells: float = 2.0,
    land_fraction: float = 0.25,
) -> xr.Dataset:
    """``sst_anomaly(time, lat, lon)`` of spatially smooth noise and a blobby ``ocean_mask``.

    Each month is white noise smoothed with a Gaussian of ``smoothing_cells`` cells (periodic in
    longitude, by FFT); land is the ``land_fraction`` highest cells of another smooth field, set to
    0 as in ``anomalies.nc``. Cell centres are on a regular global grid.
    """
    rng = np.random.default_rng(seed)
    ky = np.fft.fftfreq(n_lat)[:, None]
    kx = np.fft.rfftfreq(n_lon)[None, :]
    kernel = np.exp(-2.0 * (np.pi * smoothing_cells) ** 2 * (ky**2 + kx**2))
    noise = rng.standard_normal((months, n_lat, n_lon)).astype(np.float32)
    values = np.fft.irfft2(np.fft.rfft2(noise) * kernel, s=(n_lat, n_lon)).astype(np.float32)
    values /= values.std()
    relief = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((n_lat, n_lon))) * kernel, s=(n_lat, n_lon))
    ocean = (relief < np.quantile(relief, 1.0 - land_fraction)).astype(np.int8)
    lat = -90.0 + (np.arange(n_lat) + 0.5) * 180.0 / n_lat
    lon = (np.arange(n_lon) + 0.5) * 360.0 / n_lon
    time = np.arange(np.datetime64("1900-01"), np.datetime64("1900-01") + months).astype("datetime64[ns]")
    anomalies = xr.DataArray(values, dims=("time", "lat", "lon"), coords={"time": time, "lat": lat, "lon": lon})
    mask = xr.DataArray(ocean, dims=("lat", "lon"), coords={"lat": lat, "lon": lon})
    return anomaly_dataset(
        anomalies, mask, long_name="synthetic smooth SST anomaly", cell_methods="time: mean",
        comment="smoothed Gaussian noise", title="Synthetic anomalies for the attribution benchmark",
        time_span=(month_keys(anomalies["time"]),) * 2,
    )
