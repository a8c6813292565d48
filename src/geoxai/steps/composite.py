"""Rule of composite.smk: relevance composited per class, per seed and over seeds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import xarray as xr

from geoxai.core import provenance
from geoxai.products.relevance import read_optimal_inputs, read_relevance


def composite(relevance_paths: Sequence[str], optimal_input_paths: Sequence[str], anomalies_path: str,
              labels_path: str, output: str, class_names: Sequence[str], subset: str,
              config: dict[str, Any] | None = None) -> xr.Dataset:
    """Composite relevance per class, per seed and over seeds, with the observed composites."""
    from geoxai.learn.samples import load_samples
    from geoxai.xai.composites import composite_relevance

    samples = load_samples(anomalies_path, labels_path)
    relevance_sets = read_relevance(relevance_paths)
    result = composite_relevance(
        relevance_sets, samples.to_maps(samples.inputs), samples.time,
        read_optimal_inputs(optimal_input_paths), samples.lat, samples.lon, samples.ocean_mask,
        class_names, subset,
    )
    first = relevance_sets[0].attrs
    result.attrs.update({"rule": first.get("rule", ""), "backend": first.get("backend", ""),
                         "sign_convention": first.get("sign_convention", "")})
    provenance.write_netcdf_atomic(result, output, config=config)
    return result
