"""Atomic output files and the provenance every geoxai product carries.

Every file the workflow writes goes through :func:`atomic_output`: it is written under a temporary
name in the same folder and renamed into place only when complete, so an interrupted run never
leaves a file that a later rule (or a reader) would take as finished.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import xarray as xr

from geoxai import __version__

#: The CF version every NetCDF output follows (tests/test_cf.py checks them against it).
CONVENTIONS = "CF-1.10"

#: What every output implements, cited in its global ``references``; the data sources' own
#: references come from the config key ``netcdf.references``.
PAPER_REFERENCE = ("Toms, Barnes and Ebert-Uphoff (2020), Physically interpretable neural networks "
                   "for the geosciences: applications to Earth system variability, JAMES, "
                   "doi:10.1029/2019MS002002")

#: Distributions whose versions are recorded in every output.
TRACKED_PACKAGES = (
    "numpy", "pandas", "xarray", "dask", "flox", "netCDF4", "scipy",
    "tensorflow", "keras", "innvestigate",
)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{final.name}.", suffix=suffix if suffix is not None else final.suffix + ".part",
        dir=final.parent,
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes the file private (0600); give the final file the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: str | os.PathLike, payload: Any) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def sha256_file(path: str | os.PathLike, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(block), b""):
            digest.update(chunk)
    return digest.hexdigest()


def config_digest(config: Mapping[str, Any] | None) -> str:
    text = json.dumps(config or {}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def git_commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0], "geoxai": __version__}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def provenance_attrs(
    config: Mapping[str, Any] | None = None,
    inputs: Mapping[str, str | os.PathLike] | None = None,
    **extra: Any,
) -> dict[str, str]:
    """Global NetCDF attributes: software, commit, config digest, input checksums, and ``extra``.

    ``inputs`` maps a role (e.g. ``"sst"``) to a file; its sha256 and any recorded download
    provenance (``<file>.provenance.json``) are included. ``institution`` and the data sources'
    ``references`` come from the config's ``netcdf`` section (the workflow passes it to every
    rule); without it, or with ``netcdf.institution`` null, the file has no ``institution``
    rather than a placeholder (CF makes it optional).
    """
    output = (config or {}).get("netcdf") if isinstance(config, Mapping) else None
    output = output if isinstance(output, Mapping) else {}
    attrs: dict[str, str] = {"Conventions": CONVENTIONS}
    if output.get("institution"):
        attrs["institution"] = str(output["institution"])
    attrs.update({
        "source": f"geoxai {__version__}",
        "references": join_references(PAPER_REFERENCE, output.get("references")),
        "geoxai_version": __version__,
        "git_commit": git_commit(),
        "package_versions": json.dumps(package_versions(), sort_keys=True),
        "history": f"{_dt.datetime.now(_dt.UTC):%Y-%m-%dT%H:%M:%SZ} created by geoxai "
        f"{__version__}: {' '.join(Path(sys.argv[0]).name.split()) or 'python'} "
        + " ".join(sys.argv[1:]),
    })
    if config is not None:
        attrs["config_digest"] = config_digest(config)
        attrs["config"] = json.dumps(config, sort_keys=True, default=str)
    for role, path in (inputs or {}).items():
        attrs[f"input_{role}"] = str(path)
        attrs[f"input_{role}_sha256"] = sha256_file(path)
        record = Path(f"{path}.provenance.json")
        if record.exists():
            source = json.loads(record.read_text()).get("url")
            if source:
                attrs[f"input_{role}_source"] = str(source)
    for key, value in extra.items():
        attrs[key] = value if isinstance(value, str) else json.dumps(value, default=str)
    return attrs


def join_references(*parts: str | None) -> str:
    """References as one CF ``references`` string: "; " between them, each once, in order."""
    seen: list[str] = []
    for part in parts:
        for one in str(part or "").split("; "):
            if one.strip() and one.strip() not in seen:
                seen.append(one.strip())
    return "; ".join(seen)


def describe_input(path: str | os.PathLike, config_key: str | None = None) -> str:
    """``path`` as a user recognises it, e.g. ``resources/enso/sst.nc (your file /data/ersst.nc,
    config key enso.sst.url)``.

    The workflow reads its inputs under resources/, which are links to the user's files or
    downloaded copies; an error naming only that path leaves the user guessing which of their
    files, and which config key, it is about. The link target, else the URL or path recorded in
    ``<path>.provenance.json``, is named; a path that is neither is returned as it is.
    """
    path = Path(path)
    origin = None
    if path.is_symlink():
        target = Path(os.readlink(path))
        origin = f"your file {target if target.is_absolute() else path.parent / target}"
    else:
        record = Path(f"{path}.provenance.json")
        try:
            source = json.loads(record.read_text()).get("url") if record.is_file() else None
        except (OSError, ValueError, AttributeError):
            source = None
        if source and Path(str(source)) != Path(os.path.abspath(path)):
            scheme = str(source).split("://", 1)[0].lower() if "://" in str(source) else ""
            origin = f"downloaded from {source}" if scheme in {"http", "https"} else f"your file {source}"
    if origin is None:
        return str(path)
    return f"{path} ({origin}, config key {config_key})" if config_key else f"{path} ({origin})"


#: How :func:`write_netcdf_atomic` can store numeric variables (netCDF-4 filter settings). zlib is
#: readable by every netCDF-4 tool; zstd gives the same size about 5x faster to write and 2x
#: faster to read (1° relevance of 822 samples: 0.6 s against 3.0 s) but needs netCDF-C 4.9 or
#: later with its filter plugins (the netCDF4 and h5py wheels have them); none suits a large
#: intermediate read by many jobs (the anomalies).
COMPRESSIONS: dict[str, dict[str, Any]] = {
    "zlib": {"zlib": True, "complevel": 1},
    "zstd": {"compression": "zstd", "complevel": 1},
    "none": {},
}


#: Suffix of the auxiliary coordinate that holds a dimension's string labels on disk (CF 6.1).
LABEL_SUFFIX = "_label"


def labels_as_auxiliary(dataset: xr.Dataset) -> xr.Dataset:
    """Every dimension coordinate of strings (class names, methods, boxes...) as an auxiliary
    coordinate ``<dim>_label(<dim>)`` and the dimension without a coordinate variable: CF wants
    coordinate variables numeric and puts string labels in an auxiliary coordinate (CF 6.1).
    :func:`open_product` makes the labels the dimension's index again."""
    for dim in list(dataset.dims):
        if dim not in dataset.indexes or not _holds_strings(dataset[dim].variable):
            continue
        label = f"{dim}{LABEL_SUFFIX}"
        if label in dataset.variables:
            raise ValueError(f"cannot store the labels of dimension {dim!r} as {label!r}: the "
                             "dataset already has a variable of that name")
        labels = dataset[dim].variable.to_base_variable()
        labels.encoding = {}
        dataset = dataset.drop_vars(dim).assign_coords({label: labels})
    return dataset


def _holds_strings(variable: xr.Variable) -> bool:
    """Strings, not the cftime dates that object arrays also hold."""
    if variable.dtype.kind in "SU":
        return True
    return variable.dtype.kind == "O" and variable.size > 0 and isinstance(
        variable.values.flat[0], str | bytes)


def _bounds_encoded_like_their_coordinates(out: xr.Dataset) -> None:
    """CF bounds (e.g. ``time_bnds``) in their coordinate's units and calendar (CF 7.1), and the
    ``bounds`` attribute written from the encoding, which keeps xarray from also listing the
    bounds in a global ``coordinates`` attribute."""
    for name in list(out.coords):
        variable = out.variables[name]
        bounds = variable.attrs.get("bounds", variable.encoding.get("bounds"))
        if bounds is None or bounds not in out.variables:
            continue
        attrs = dict(variable.attrs)
        attrs.pop("bounds", None)
        variable.attrs = attrs
        encoding = {**variable.encoding, "bounds": bounds}
        bounds_variable = out.variables[bounds]
        if variable.dtype.kind == "M" or variable.dtype == object:
            if "units" not in encoding:
                first = bounds_variable.values.min() if bounds_variable.size else None
                start = str(first)[:10] if first is not None else "1970-01-01"
                # float64 days: stamps between whole days (e.g. at noon) stay exact
                encoding.update(units=f"days since {start}", dtype="float64")
            both = {key: encoding[key] for key in ("units", "calendar", "dtype") if key in encoding}
            bounds_variable.encoding = {**bounds_variable.encoding, **both}
        variable.encoding = encoding


def write_netcdf_atomic(dataset: xr.Dataset, path: str | os.PathLike, compression: str = "zlib",
                        **attrs: Any) -> None:
    """Write ``dataset`` to NetCDF-4 atomically, with provenance merged into its global attributes.

    ``compression`` is how the numeric variables are stored, a key of :data:`COMPRESSIONS`.
    Other keyword arguments are passed to :func:`provenance_attrs`; the dataset's own
    ``references`` (e.g. the method a product implements) follow the workflow's. Dimensions
    labelled by strings are stored as CF labels (:func:`labels_as_auxiliary`) and bounds in
    their coordinate's units; read the file back with :func:`open_product`.
    """
    out = labels_as_auxiliary(dataset.copy())
    written = provenance_attrs(**attrs)
    written["references"] = join_references(written["references"], dataset.attrs.get("references"))
    out.attrs = {**dataset.attrs, **written}
    # Coordinates must not have missing values (CF 2.5.1): no _FillValue, which xarray would
    # otherwise give every floating-point variable. Set in the variables' own encoding, which
    # keeps their time units and calendar (and tolerates what a Zarr source left there).
    for name in out.coords:
        out.variables[name].encoding = {**out.variables[name].encoding, "_FillValue": None}
    _bounds_encoded_like_their_coordinates(out)
    encoding: dict[str, dict[str, Any]] = {}
    for name, variable in out.data_vars.items():
        if variable.dtype.kind not in "fiu" or variable.ndim == 0:
            continue
        encoding[name] = dict(COMPRESSIONS[compression])
        if variable.chunks:
            # Storage chunks equal to the dask blocks: each block is compressed once, never rewritten
            # (netCDF's default chunking made writing block by block 10x slower).
            encoding[name]["chunksizes"] = tuple(sizes[0] for sizes in variable.chunks)
    with atomic_output(path) as tmp:
        out.to_netcdf(tmp, engine="netcdf4", encoding=encoding)


def open_product(path: str | os.PathLike, **kwargs: Any) -> xr.Dataset:
    """Open a NetCDF file geoxai wrote (:func:`write_netcdf_atomic`): string labels stored as CF
    labels (``<dim>_label``) become the dimension's index again, so ``.sel(class="El Nino")``
    works, and CF bounds (``time_bnds``) are coordinates, not data variables. Files written
    before the labels were stored so (the strings were the coordinate) read as they are.
    ``kwargs`` go to :func:`xarray.open_dataset`."""
    opened = xr.open_dataset(path, **{"decode_coords": "all", **kwargs})
    restored = restore_labels(opened)
    if restored is not opened:
        restored.set_close(opened.close)  # set_index drops it: closing must close the file
    return restored


def load_product(path: str | os.PathLike, **kwargs: Any) -> xr.Dataset:
    """:func:`open_product`, loaded into memory and the file closed."""
    with open_product(path, **kwargs) as dataset:
        return dataset.load()


def restore_labels(dataset: xr.Dataset) -> xr.Dataset:
    """The inverse of :func:`labels_as_auxiliary`: ``<dim>_label(<dim>)`` as the index of ``dim``."""
    for name in list(dataset.variables):
        dim = name.removesuffix(LABEL_SUFFIX)
        if (name.endswith(LABEL_SUFFIX) and dataset.variables[name].dims == (dim,)
                and dim not in dataset.variables):
            attrs = dataset.variables[name].attrs
            dataset = dataset.set_coords(name).set_index({dim: name})
            dataset[dim].attrs = dict(attrs)
    return dataset


def load_config(text_or_path: str | None) -> dict[str, Any]:
    """Parse a JSON config passed on the command line (a string or a path to a JSON/YAML file)."""
    if not text_or_path:
        return {}
    candidate = Path(text_or_path)
    if candidate.suffix in {".json", ".yaml", ".yml"} and candidate.exists():
        import yaml

        return yaml.safe_load(candidate.read_text()) or {}
    return json.loads(text_or_path)
