"""A synthetic ENSO world with a known answer, written exactly like the real inputs.

The SST file has the COBE-SST2 layout (variable ``sst`` in degC, lat descending, lon 0..360,
monthly times in days since 1800-1-1, land NaN) and the index the NOAA PSL text layout, so the
workflow runs on them unchanged. Where the network *should* look is known: the ENSO signal lives
only inside ``driving_region``; the truth file records that region, the patterns, the index and
the El Niño flavour of every month, so attribution can be scored rather than eyeballed.

The model, month by month (t) and cell by cell (x)::

    n(t)   = index_std * standardized AR(1)(index_autocorrelation), rounded to 0.01 like PSL's
             (or the values of a given index file, e.g. the real Niño3.4 index)
    w(t)   = logistic(flavour_contrast * AR(1)(flavour_autocorrelation))  in [0, 1]
    ENSO   = enso_amplitude * n(t) * (w(t) * P_east(x) + (1 - w(t)) * P_central(x))
    SST    = mean(lat, lon) + seasonal(lat, month) + trend(t) + ENSO + AR(1) red noise;  land NaN
             (+ correlated_noise: a few fixed large-scale modes with AR(1) amplitudes, off by
             default; see geoxai.enso.synthetic.noise)

P_east and P_central are Gaussians around ``eastern_center`` / ``central_center`` tapered to
exactly zero at the edges of ``driving_region`` and on land, each scaled to a maximum of 1.
"""

from geoxai.enso.synthetic.cobe import (
    COBE_MISSING_VALUE,
    COBE_TIME_UNITS,
    generate_enso,
    simulate_enso,
)
from geoxai.enso.synthetic.model import (
    LAND_BOXES,
    enso_pattern,
    flavour_weight,
    grid_centres,
    ocean_mask,
    region_mask,
    synthetic_index,
)
from geoxai.enso.synthetic.settings import DEFAULT_SETTINGS, synthetic_settings

__all__ = [
    "COBE_MISSING_VALUE",
    "COBE_TIME_UNITS",
    "DEFAULT_SETTINGS",
    "LAND_BOXES",
    "enso_pattern",
    "flavour_weight",
    "generate_enso",
    "grid_centres",
    "ocean_mask",
    "region_mask",
    "simulate_enso",
    "synthetic_index",
    "synthetic_settings",
]
