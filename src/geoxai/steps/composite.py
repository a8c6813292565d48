"""Rule of composite.smk: relevance composited per class, per seed and over seeds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import xarray as xr

from geoxai.core import provenance
from geoxai.products.relevance import read_optimal_inputs, read_relevance


def composite(relevance: Sequence[str], anomalies: str, labels: str, composite: str,
              class_names: Sequence[str], subset: str, optimal_input: Sequence[str] = (),
              config: dict[str, Any] | None = None) -> xr.Dataset:
    """Composite relevance per class, per seed and over seeds, with the observed composites."""
    from geoxai.learn.samples import load_samples
    from geoxai.xai.composites import composite_relevance

    samples = load_samples(anomalies, labels)
    relevance_sets = read_relevance(relevance)
    result = composite_relevance(
        relevance_sets, samples.to_maps(samples.inputs), samples.time,
        read_optimal_inputs(optimal_input), samples.lat, samples.lon, samples.ocean_mask,
        class_names, subset,
    )
    first = relevance_sets[0].attrs
    result.attrs.update({"rule": first.get("rule", ""), "backend": first.get("backend", ""),
                         "sign_convention": first.get("sign_convention", "")})
    provenance.write_netcdf_atomic(result, composite, config=config)
    return result
