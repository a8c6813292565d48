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

P_east and P_central are Gaussians around ``eastern_center`` / ``central_center`` tapered to
exactly zero at the edges of ``driving_region`` and on land, each scaled to a maximum of 1.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import write_netcdf_atomic
from geoxai.enso.psl import read_psl_index, write_psl_index

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
}

#: A recognisable but coarse map of the continents: [lat_min, lat_max, lon_min, lon_max] with
#: longitudes in 0..360. Chosen to stay clear of the default driving region.
LAND_BOXES: tuple[tuple[float, float, float, float], ...] = (
    (50, 72, 195, 295),    # Alaska and Canada
    (30, 50, 235, 290),    # United States
    (16, 30, 250, 278),    # Mexico
    (60, 83, 300, 340),    # Greenland
    (-10, 12, 282, 325),   # northern South America
    (-35, -10, 290, 320),  # southern South America
    (-55, -35, 288, 302),  # Patagonia
    (36, 70, 0, 40),       # Europe
    (36, 44, 350, 360),    # Iberia
    (5, 35, 343, 360),     # West Africa
    (5, 35, 0, 35),        # North Africa
    (-35, 5, 10, 42),      # southern Africa
    (12, 30, 35, 58),      # Arabia
    (30, 75, 40, 140),     # Asia
    (50, 72, 140, 180),    # eastern Siberia
    (8, 30, 68, 90),       # India
    (10, 30, 90, 120),     # South-East Asia
    (-8, 5, 95, 120),      # Indonesia
    (-10, 0, 130, 150),    # New Guinea
    (-39, -11, 113, 153),  # Australia
    (-90, -66, 0, 360),    # Antarctica
)

COBE_TIME_UNITS = "days since 1800-1-1 00:00:00"
COBE_MISSING_VALUE = np.float32(-9.96921e36)

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
    for key in ("start", "end"):
        _month_start(s[key], key)
    if _month_start(s["end"], "end") < _month_start(s["start"], "start"):
        raise _setting_error("end", s["end"], f"a month not before start {s['start']}")


def _is_whole(x: float) -> bool:
    return abs(x - round(x)) < 1e-9


def _is_pair(value: Any) -> bool:
    return (isinstance(value, list | tuple) and len(value) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value))


def _month_start(month: Any, key: str) -> pd.Timestamp:
    text = str(month)
    try:
        stamp = pd.Timestamp(f"{text}-01")
    except ValueError:
        raise _setting_error(key, month, 'a month "YYYY-MM"') from None
    if len(text) != 7 or f"{stamp.year:04d}-{stamp.month:02d}" != text:
        raise _setting_error(key, month, 'a month "YYYY-MM"')
    return stamp


def grid_centres(degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre latitudes (ascending) and longitudes (0..360) of a regular grid."""
    lat = -90 + degrees / 2 + degrees * np.arange(round(180 / degrees))
    lon = degrees / 2 + degrees * np.arange(round(360 / degrees))
    return lat, lon


def ocean_mask(lat: np.ndarray, lon: np.ndarray, land: Any = "boxes") -> np.ndarray:
    """True over ocean; land is the union of boxes (``LAND_BOXES`` for ``"boxes"``)."""
    boxes = {"boxes": LAND_BOXES, "none": ()}.get(land, land) if isinstance(land, str) else land
    lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
    is_land = np.zeros(lat2.shape, dtype=bool)
    for lat0, lat1, lon0, lon1 in boxes:
        is_land |= (lat2 >= lat0) & (lat2 <= lat1) & (lon2 >= lon0) & (lon2 <= lon1)
    return ~is_land


def region_mask(lat: np.ndarray, lon: np.ndarray, region: Mapping[str, Any]) -> np.ndarray:
    """True where the cell centre lies inside the lat/lon box (edges included)."""
    (south, north), (west, east) = region["lat"], region["lon"]
    lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
    return (lat2 >= south) & (lat2 <= north) & (lon2 >= west) & (lon2 <= east)


def _edge_taper(x: np.ndarray, low: float, high: float, width: float) -> np.ndarray:
    """1 well inside [low, high], falling as sin^2 to 0 at its ends, 0 outside."""
    if width <= 0:
        return ((x >= low) & (x <= high)).astype(float)
    distance = np.clip(np.minimum(x - low, high - x), 0, None)
    ramp = np.sin(0.5 * np.pi * np.clip(distance / width, 0, 1)) ** 2
    return np.where((x >= low) & (x <= high), ramp, 0.0)


def enso_pattern(
    lat: np.ndarray, lon: np.ndarray, center: Any, width: Any, region: Mapping[str, Any],
    ocean: np.ndarray, taper_degrees: float,
) -> np.ndarray:
    """A Gaussian bump, exactly zero outside ``region`` and on land, scaled to a maximum of 1."""
    lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
    bump = np.exp(-0.5 * (((lat2 - center[0]) / width[0]) ** 2
                          + ((lon2 - center[1]) / width[1]) ** 2))
    taper = (_edge_taper(lat2, *region["lat"], taper_degrees)
             * _edge_taper(lon2, *region["lon"], taper_degrees))
    pattern = bump * taper * ocean * region_mask(lat, lon, region)
    peak = pattern.max()
    if peak <= 0:
        raise GeoxaiError(
            f"enso.synthetic: the pattern centred at {list(center)} has no ocean cell inside the "
            f"driving region {dict(region)} on this grid; move the centre or widen the region."
        )
    return pattern / peak


def _ar1(rng: np.random.Generator, phi: float, n: int) -> np.ndarray:
    """A stationary unit-variance AR(1) series of length ``n``."""
    shocks = rng.standard_normal(n)
    series = np.empty(n)
    series[0] = shocks[0]
    scale = math.sqrt(1 - phi * phi)
    for t in range(1, n):
        series[t] = phi * series[t - 1] + scale * shocks[t]
    return series


def synthetic_index(rng: np.random.Generator, n: int, phi: float, std: float) -> np.ndarray:
    """The Niño3.4-like index: AR(1), standardized to ``std``, rounded to 0.01 as PSL files are."""
    series = _ar1(rng, phi, n)
    series = (series - series.mean()) / series.std() * std
    return np.round(series, 2)


def flavour_weight(rng: np.random.Generator, n: int, phi: float, contrast: float) -> np.ndarray:
    """Share of the eastern-Pacific pattern each month: a slowly varying logistic of an AR(1)."""
    return 1 / (1 + np.exp(-contrast * _ar1(rng, phi, n)))


def _month_key(stamp: pd.Timestamp) -> str:
    return f"{stamp.year:04d}-{stamp.month:02d}"


def simulate_enso(
    settings: Mapping[str, Any] | None = None,
) -> tuple[xr.Dataset, pd.Series, xr.Dataset]:
    """Build the synthetic world in memory: (SST in COBE-SST2 layout, PSL-ready index, truth)."""
    s = synthetic_settings(settings)
    times = pd.date_range(_month_start(s["start"], "start"), _month_start(s["end"], "end"),
                          freq="MS")
    lat, lon = grid_centres(float(s["grid_degrees"]))
    ocean = ocean_mask(lat, lon, s["land"])
    region = s["driving_region"]
    east = enso_pattern(lat, lon, s["eastern_center"], s["eastern_width"], region, ocean,
                        s["taper_degrees"])
    central = enso_pattern(lat, lon, s["central_center"], s["central_width"], region, ocean,
                           s["taper_degrees"])
    # Separate streams: the index and flavours do not change when the grid or noise does.
    index_rng, flavour_rng, noise_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(s["seed"]).spawn(3)
    )
    keys = [_month_key(t) for t in times]
    if s["index_file"] is None:
        n = synthetic_index(index_rng, len(times), s["index_autocorrelation"], s["index_std"])
    else:
        n = read_psl_index(s["index_file"]).reindex(keys).fillna(0.0).to_numpy()
    w = flavour_weight(flavour_rng, len(times), s["flavour_autocorrelation"],
                       s["flavour_contrast"])
    sst = _sst_field(s, times, lat, lon, n, w, east, central, noise_rng)
    if s["sea_ice_celsius"] is not None:
        np.maximum(sst, np.float32(s["sea_ice_celsius"]), out=sst)
    sst[:, ~ocean] = np.nan
    index = pd.Series(n, index=pd.Index(keys), name="index")
    index.index.name = "month"
    truth = _truth_dataset(s, times, keys, lat, lon, ocean, east, central, n, w)
    return _cobe_dataset(s, times, lat, lon, sst), index, truth


def _climatological_mean(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Warm tropics, freezing poles, and a cold tongue in the eastern equatorial Pacific."""
    lat2, lon2 = np.meshgrid(np.deg2rad(lat), lon, indexing="ij")
    tongue = 2.0 * np.exp(-0.5 * (np.rad2deg(lat2) / 5) ** 2 - 0.5 * ((lon2 - 255) / 25) ** 2)
    return -1.8 + 29.8 * np.cos(lat2) ** 2 - tongue


def _sst_field(
    s: dict[str, Any], times: pd.DatetimeIndex, lat: np.ndarray, lon: np.ndarray,
    n: np.ndarray, w: np.ndarray, east: np.ndarray, central: np.ndarray,
    noise_rng: np.random.Generator,
) -> np.ndarray:
    mean = _climatological_mean(lat, lon)
    # Northern summer peaks in August, southern in February; no seasonal cycle on the equator.
    phase = np.cos(2 * np.pi * (np.arange(1, 13) - 8) / 12)
    seasonal = s["seasonal_amplitude"] * phase[:, None] * np.sin(np.deg2rad(lat))[None, :]
    years = np.arange(len(times)) / 12
    trend = s["trend_per_century"] * years / 100
    phi = s["noise_autocorrelation"]
    innovation_std = s["noise_std"] * math.sqrt(1 - phi * phi)
    noise = s["noise_std"] * noise_rng.standard_normal(mean.shape)  # stationary start
    sst = np.empty((len(times), lat.size, lon.size), dtype=np.float32)
    for t, month in enumerate(times.month):
        if t:
            noise = phi * noise + innovation_std * noise_rng.standard_normal(mean.shape)
        enso = s["enso_amplitude"] * n[t] * (w[t] * east + (1 - w[t]) * central)
        sst[t] = mean + seasonal[month - 1][:, None] + trend[t] + enso + noise
    return sst


def _cobe_dataset(
    s: dict[str, Any], times: pd.DatetimeIndex, lat: np.ndarray, lon: np.ndarray,
    sst: np.ndarray,
) -> xr.Dataset:
    """The SST in COBE-SST2's layout: lat descending, float32, land NaN, CF time units."""
    descending = slice(None, None, -1)
    dataset = xr.Dataset(
        {"sst": (("time", "lat", "lon"), sst[:, descending, :], {
            "long_name": "Monthly Means of Global Sea Surface Temperature",
            "standard_name": "sea_surface_temperature",
            "units": "degC",
            "var_desc": "Sea Surface Temperature",
            "level_desc": "Surface",
            "statistic": "Mean",
            "cell_methods": "time: mean (monthly from synthetic values)",
        })},
        coords={
            "time": ("time", times.to_numpy(), {
                "long_name": "Time", "standard_name": "time", "axis": "T",
                "delta_t": "0000-01-00 00:00:00", "avg_period": "0000-01-00 00:00:00",
            }),
            "lat": ("lat", lat[descending].astype(np.float32), {
                "long_name": "Latitude", "standard_name": "latitude", "units": "degrees_north",
                "axis": "Y",
            }),
            "lon": ("lon", lon.astype(np.float32), {
                "long_name": "Longitude", "standard_name": "longitude", "units": "degrees_east",
                "axis": "X",
            }),
        },
        attrs={
            "title": "Synthetic monthly SST with a known ENSO answer (COBE-SST2 layout)",
            "source": f"geoxai.enso.synthetic.generate_enso, seed {s['seed']}: not observations",
            "comment": "ENSO-like signal only inside the driving region recorded in the truth "
                       "file; see geoxai.enso.synthetic for the model.",
        },
    )
    # COBE-SST2 marks land with a missing value, not NaN: readers must honour the attribute.
    dataset["sst"].encoding = {"_FillValue": COBE_MISSING_VALUE, "missing_value": COBE_MISSING_VALUE}
    return dataset


def _with_cobe_time_numbers(dataset: xr.Dataset) -> xr.Dataset:
    """Time as float64 days since 1800-1-1 with COBE-SST2's exact units text.

    xarray would rewrite the units as "days since 1800-01-01"; encoding by hand keeps the file
    byte-for-byte in the layout readers of the real product expect.
    """
    days = (dataset["time"].to_numpy() - np.datetime64("1800-01-01")) / np.timedelta64(1, "D")
    attrs = {**dataset["time"].attrs, "units": COBE_TIME_UNITS, "calendar": "standard"}
    return dataset.assign_coords(time=("time", days.astype(np.float64), attrs))


def _strongest(n: np.ndarray, share: np.ndarray, keys: list[str]) -> str:
    return keys[int(np.argmax(n * share))]


def _truth_dataset(
    s: dict[str, Any], times: pd.DatetimeIndex, keys: list[str], lat: np.ndarray,
    lon: np.ndarray, ocean: np.ndarray, east: np.ndarray, central: np.ndarray, n: np.ndarray,
    w: np.ndarray,
) -> xr.Dataset:
    region = s["driving_region"]
    (south, north), (west, east_edge) = region["lat"], region["lon"]
    grid = ("lat", "lon")
    flags = {"flag_values": np.array([0, 1], dtype=np.int8)}
    return xr.Dataset(
        {
            "driving_region_mask": (grid, region_mask(lat, lon, region).astype(np.int8), {
                "long_name": "1 inside the box that drives the synthetic ENSO signal, 0 outside",
                "units": "1", **flags, "flag_meanings": "outside inside",
            }),
            "el_nino_pattern": (grid, (0.5 * east + 0.5 * central).astype(np.float32), {
                "long_name": "mean El Nino SST pattern per unit index (0.5 eastern + 0.5 "
                             "central), maximum 1", "units": "1",
            }),
            "eastern_pattern": (grid, east.astype(np.float32), {
                "long_name": "eastern-Pacific El Nino SST pattern, maximum 1", "units": "1",
            }),
            "central_pattern": (grid, central.astype(np.float32), {
                "long_name": "central-Pacific El Nino SST pattern, maximum 1", "units": "1",
            }),
            "ocean_mask": (grid, ocean.astype(np.int8), {
                "long_name": "1 over ocean, 0 over land (NaN in the SST file)", "units": "1",
                **flags, "flag_meanings": "land ocean",
            }),
            "index": ("time", n, {
                "long_name": "synthetic Nino3.4-like index (as written to the PSL text file)",
                "units": "K",
            }),
            "flavour_weight": ("time", w, {
                "long_name": "share of the eastern-Pacific pattern in the ENSO signal",
                "units": "1",
            }),
        },
        coords={
            "lat": ("lat", lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": ("lon", lon, {"standard_name": "longitude", "units": "degrees_east"}),
            "time": ("time", times.to_numpy(), {"standard_name": "time"}),
        },
        attrs={
            "title": "Known answer of the geoxai synthetic ENSO source",
            "driving_region": f"lat {south}..{north} degrees_north, lon {west}..{east_edge} "
                              f"degrees_east",
            "driving_region_lat": np.array([south, north], dtype=float),
            "driving_region_lon": np.array([west, east_edge], dtype=float),
            "strongest_eastern_el_nino_month": _strongest(n, w, keys),
            "strongest_central_el_nino_month": _strongest(n, 1 - w, keys),
            "seed": s["seed"],
            "enso_amplitude_K_per_unit_index": float(s["enso_amplitude"]),
        },
    )


def _index_notes(s: dict[str, Any]) -> str:
    return (
        "  Synthetic Nino3.4-like index from geoxai.enso.synthetic (not observations).\n"
        f"  seed {s['seed']}, AR(1) coefficient {s['index_autocorrelation']}, standard deviation "
        f"{s['index_std']}, rounded to 0.01.\n"
        f"  It drives the SST only inside lat {s['driving_region']['lat']}, "
        f"lon {s['driving_region']['lon']} (degrees_east)."
    )


def generate_enso(
    settings: Mapping[str, Any] | None,
    sst_path: str | os.PathLike,
    index_path: str | os.PathLike,
    truth_path: str | os.PathLike,
) -> None:
    """Write the synthetic SST (NetCDF), index (PSL text) and truth (NetCDF).

    ``settings`` are the ``enso.synthetic`` config keys, all optional: see DEFAULT_SETTINGS.
    """
    s = synthetic_settings(settings)
    sst, index, truth = simulate_enso(s)
    write_netcdf_atomic(_with_cobe_time_numbers(sst), sst_path, config=s)
    write_psl_index(index, index_path, notes=_index_notes(s))
    write_netcdf_atomic(truth, truth_path, config=s)
