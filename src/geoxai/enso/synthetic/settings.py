"""The ``enso.synthetic`` config keys: their defaults and their checks."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

import pandas as pd

from geoxai.core.errors import GeoxaiError

#: The ``enso.synthetic`` config keys and their defaults.
#:
#: seed                   int; the same seed gives bit-identical arrays.
#: grid_degrees           grid spacing in degrees (180 and 360 must be multiples of it).
#: start, end             first and last month "YYYY-MM".
#: noise_std              K, standard deviation of the red noise added at every ocean cell.
#: noise_autocorrelation  month-to-month AR(1) coefficient of that noise (cells independent).
#: trend_per_century      K per 100 years, a uniform linear warming.
#: seasonal_amplitude     K, seasonal cycle amplitude at the poles (scaled by sin(lat), so
#:                        opposite in phase between hemispheres and zero at the equator).
#: index_autocorrelation  month-to-month AR(1) coefficient of the Niño3.4-like index.
#: index_std              standard deviation of the index. 0.75 (observed Niño3.4 is about 0.8)
#:                        puts about half of the months beyond +-0.5, as in the paper's 822 of
#:                        1668; a unit standard deviation would put 62% there.
#: enso_amplitude         K per unit index at the centre of the ENSO pattern.
#: flavour_autocorrelation AR(1) coefficient of the driver of the flavour weight w (slowly varying).
#: flavour_contrast       gain of the logistic turning that driver into w; larger = w nearer 0/1.
#: driving_region         {"lat": [south, north], "lon": [west, east]} in degrees_north and
#:                        0..360 degrees_east; the ENSO patterns are exactly zero outside it.
#: eastern_center         [lat, lon] of the eastern-Pacific (canonical) El Niño pattern.
#: central_center         [lat, lon] of the central-Pacific (Modoki) El Niño pattern.
#: eastern_width          [lat, lon] Gaussian standard deviations in degrees of that pattern.
#: central_width          [lat, lon] the same for the central pattern.
#: taper_degrees          width of the band inside the region's edge over which the patterns
#:                        fall smoothly to zero.
#: land                   "boxes" (a coarse continent outline built from LAND_BOXES), "none",
#:                        or a list of [lat_min, lat_max, lon_min, lon_max] boxes.
#: index_file             null, or a NOAA PSL index text file (e.g. the real Niño3.4 long index)
#:                        whose values drive the ENSO patterns instead of the synthetic AR(1)
#:                        index; months the file lacks get no ENSO signal. The labels of a run on
#:                        this SST with that index are then the real index's labels.
#: sea_ice_celsius        null, or a temperature (degC) below which cells are set to it, as
#:                        COBE-SST2 stores sea-ice-covered cells at -1.8 degC.
#: correlated_noise       large-scale noise added on top of the per-cell noise (see
#:                        geoxai.enso.synthetic.noise), a mapping whose keys default separately:
#:                        std (K per cell; 0 = off, the default), modes (how many fixed spatial
#:                        modes), e_folding_km (distance at which the correlation between two
#:                        cells falls to 1/e), autocorrelation (month-to-month AR(1) coefficient
#:                        of each mode's amplitude). With it, the best discriminant's weights are
#:                        no longer the ENSO pattern.
DEFAULT_SETTINGS: dict[str, Any] = {
    "seed": 42,
    "grid_degrees": 4.0,
    "start": "1880-01",
    "end": "2018-12",
    "noise_std": 0.3,
    "noise_autocorrelation": 0.6,
    "trend_per_century": 0.8,
    "seasonal_amplitude": 2.0,
    "index_autocorrelation": 0.9,
    "index_std": 0.75,
    "enso_amplitude": 1.2,
    "flavour_autocorrelation": 0.97,
    "flavour_contrast": 3.0,
    "driving_region": {"lat": [-15.0, 15.0], "lon": [160.0, 280.0]},
    "eastern_center": [0.0, 250.0],
    "central_center": [0.0, 200.0],
    "eastern_width": [6.0, 20.0],
    "central_width": [6.0, 20.0],
    "taper_degrees": 5.0,
    "land": "boxes",
    "index_file": None,
    "sea_ice_celsius": None,
    "correlated_noise": {"std": 0.0, "modes": 50, "e_folding_km": 1500.0, "autocorrelation": 0.8},
}

_SCALARS = (
    "grid_degrees", "noise_std", "noise_autocorrelation", "trend_per_century",
    "seasonal_amplitude", "index_autocorrelation", "index_std", "enso_amplitude",
    "flavour_autocorrelation", "flavour_contrast", "taper_degrees",
)
_PAIRS = ("eastern_center", "central_center", "eastern_width", "central_width")


def synthetic_settings(settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The defaults updated with ``settings`` (the ``enso.synthetic`` keys), checked."""
    merged = copy.deepcopy(DEFAULT_SETTINGS)
    for key, value in (settings or {}).items():
        if key not in DEFAULT_SETTINGS:
            raise GeoxaiError(
                f"enso.synthetic.{key} is not a setting of the synthetic source; known settings: "
                f"{', '.join(DEFAULT_SETTINGS)}."
            )
        if key == "correlated_noise" and isinstance(value, Mapping):
            value = {**merged[key], **value}
        merged[key] = value
    _check_settings(merged)
    return merged


def _setting_error(key: str, value: Any, expected: str) -> GeoxaiError:
    return GeoxaiError(f"enso.synthetic.{key} = {value!r} is invalid: expected {expected}.")


def _check_settings(s: dict[str, Any]) -> None:
    if not isinstance(s["seed"], int) or isinstance(s["seed"], bool) or s["seed"] < 0:
        raise _setting_error("seed", s["seed"], "a non-negative integer")
    for key in _SCALARS:
        if not isinstance(s[key], (int, float)) or isinstance(s[key], bool):
            raise _setting_error(key, s[key], "a number")
    for key in ("noise_autocorrelation", "index_autocorrelation", "flavour_autocorrelation"):
        if not 0 <= s[key] < 1:
            raise _setting_error(key, s[key], "an AR(1) coefficient in [0, 1)")
    for key in ("noise_std", "index_std", "taper_degrees"):
        if s[key] < 0:
            raise _setting_error(key, s[key], "a number >= 0")
    d = float(s["grid_degrees"])
    if d <= 0 or not (_is_whole(180 / d) and _is_whole(360 / d)):
        raise _setting_error("grid_degrees", d, "a spacing that divides 180 (e.g. 1, 2, 2.5, 4)")
    for key in _PAIRS:
        if not _is_pair(s[key]):
            raise _setting_error(key, s[key], "a [lat, lon] pair of numbers")
    region = s["driving_region"]
    if not (isinstance(region, Mapping) and set(region) == {"lat", "lon"}
            and _is_pair(region["lat"]) and _is_pair(region["lon"])):
        raise _setting_error(
            "driving_region", region, '{"lat": [south, north], "lon": [west, east]}'
        )
    (south, north), (west, east) = region["lat"], region["lon"]
    if not (-90 <= south < north <= 90 and 0 <= west < east <= 360):
        raise _setting_error(
            "driving_region", region, "south < north within -90..90 and west < east within 0..360"
        )
    land = s["land"]
    if not (land in ("boxes", "none") or (
        isinstance(land, list) and all(isinstance(b, list | tuple) and len(b) == 4 for b in land)
    )):
        raise _setting_error("land", land, '"boxes", "none" or a list of [lat0, lat1, lon0, lon1]')
    if s["index_file"] is not None and not os.path.isfile(str(s["index_file"])):
        raise _setting_error("index_file", s["index_file"], "null or an existing PSL index file")
    ice = s["sea_ice_celsius"]
    if ice is not None and (not isinstance(ice, int | float) or isinstance(ice, bool)):
        raise _setting_error("sea_ice_celsius", ice, "null or a temperature in degC")
    _check_correlated_noise(s["correlated_noise"])
    for key in ("start", "end"):
        month_start(s[key], key)
    if month_start(s["end"], "end") < month_start(s["start"], "start"):
        raise _setting_error("end", s["end"], f"a month not before start {s['start']}")


def _check_correlated_noise(noise: Any) -> None:
    known = set(DEFAULT_SETTINGS["correlated_noise"])
    if not isinstance(noise, Mapping) or set(noise) - known:
        raise _setting_error("correlated_noise", noise, f"a mapping with keys {sorted(known)}")
    checks = {
        "std": (lambda v: v >= 0, "a number >= 0 (K)"),
        "modes": (lambda v: isinstance(v, int) and v >= 0, "a whole number >= 0"),
        "e_folding_km": (lambda v: v > 0, "a distance > 0 in km"),
        "autocorrelation": (lambda v: 0 <= v < 1, "an AR(1) coefficient in [0, 1)"),
    }
    for key, (valid, expected) in checks.items():
        value = noise[key]
        if not isinstance(value, int | float) or isinstance(value, bool) or not valid(value):
            raise _setting_error(f"correlated_noise.{key}", value, expected)


def _is_whole(x: float) -> bool:
    return abs(x - round(x)) < 1e-9


def _is_pair(value: Any) -> bool:
    return (isinstance(value, list | tuple) and len(value) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value))


def month_start(month: Any, key: str) -> pd.Timestamp:
    text = str(month)
    try:
        stamp = pd.Timestamp(f"{text}-01")
    except ValueError:
        raise _setting_error(key, month, 'a month "YYYY-MM"') from None
    if len(text) != 7 or f"{stamp.year:04d}-{stamp.month:02d}" != text:
        raise _setting_error(key, month, 'a month "YYYY-MM"')
    return stamp
