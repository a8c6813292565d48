"""Spatially correlated, red-in-time noise for the synthetic ENSO source.

With spatially white noise the best linear discriminant of El Niño from La Niña has weights equal
to the El Niño pattern, so an optimal input or a weight map that looks like the pattern proves
little. Large-scale noise makes the best weights differ from the pattern (they subtract the noise
that neighbouring cells share), as real SST variability does.

The field is a sum of ``modes`` fixed spatial modes, each with an AR(1) (red) amplitude in time::

    noise(t, x) = std * sum_k a_k(t) m_k(x) / sqrt(modes)

Each mode m_k is a random field on the sphere with unit variance and the isotropic covariance
exp(-d^2 / e_folding_km^2) (d the distance between the cells; the correlation falls to 1/e at
``e_folding_km``). It is drawn by random Fourier features in the 3-D coordinates of the cells
(chordal distance, within 3% of the great-circle distance up to 3000 km), so it costs the same
on any grid. The expected correlation between the noise at two cells is that covariance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from geoxai.enso.synthetic.model import ar1

EARTH_RADIUS_KM = 6371.0
#: Random cosines per mode: enough for the covariance to be the Gaussian within a few percent.
FEATURES_PER_MODE = 256


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """3-D unit vectors of the cell centres, shape (lat, lon, 3)."""
    phi, lam = np.meshgrid(np.deg2rad(lat), np.deg2rad(lon), indexing="ij")
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)


def great_circle_km(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Great-circle distance in km between unit vectors (last axis 3)."""
    cosine = np.clip((first * second).sum(axis=-1), -1.0, 1.0)
    return EARTH_RADIUS_KM * np.arccos(cosine)


def noise_modes(rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, modes: int,
                e_folding_km: float) -> np.ndarray:
    """``modes`` random fields of unit variance and correlation exp(-d²/L²), shape (modes, lat, lon)."""
    points = unit_vectors(lat, lon).reshape(-1, 3) * EARTH_RADIUS_KM
    # exp(-|x-y|^2 / L^2) is the Gaussian kernel with standard deviation L / sqrt(2).
    length = e_folding_km / math.sqrt(2.0)
    result = np.empty((modes, points.shape[0]))
    for k in range(modes):
        frequencies = rng.standard_normal((3, FEATURES_PER_MODE)) / length
        phases = rng.uniform(0.0, 2 * np.pi, FEATURES_PER_MODE)
        result[k] = math.sqrt(2.0 / FEATURES_PER_MODE) * np.cos(points @ frequencies + phases).sum(1)
    return result.reshape(modes, lat.size, lon.size)


def correlated_noise(rng: np.random.Generator, settings: Mapping[str, Any], lat: np.ndarray,
                     lon: np.ndarray, n_times: int) -> np.ndarray:
    """The noise field (time, lat, lon) in K; zeros when its ``std`` is 0.

    ``settings``: the ``enso.synthetic.correlated_noise`` keys std, modes, e_folding_km,
    autocorrelation.
    """
    if float(settings["std"]) == 0 or int(settings["modes"]) == 0:
        return np.zeros((n_times, lat.size, lon.size), np.float32)
    modes = int(settings["modes"])
    maps = noise_modes(rng, lat, lon, modes, float(settings["e_folding_km"]))
    amplitudes = ar1(rng, float(settings["autocorrelation"]), (n_times, modes))
    field = (amplitudes @ maps.reshape(modes, -1)) * (float(settings["std"]) / math.sqrt(modes))
    return field.reshape(n_times, lat.size, lon.size).astype(np.float32)
