"""Rules of benchmark.smk: the attribution benchmark with exact answers, its figure and table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from geoxai.core.errors import GeoxaiError


def attribution_benchmark(anomalies: str, scores: str, settings: dict[str, Any], backend: str,
                          parameters: dict[str, Any], config: dict[str, Any] | None = None) -> None:
    """Draw inputs from the correlation of ``anomalies``, fit the known response, and score every
    configured method against the exact attribution of each held-out sample."""
    import xarray as xr

    from geoxai.learn.models import configure_tensorflow
    from geoxai.products.anomalies import open_anomalies
    from geoxai.products.benchmark import write_benchmark
    from geoxai.xai.benchmark import BenchmarkSettings, run_benchmark

    chosen = BenchmarkSettings.from_config(settings)
    configure_tensorflow(chosen.threads)
    with open_anomalies(anomalies) as opened:
        field: xr.Dataset = opened.load()
    # The benchmark's inputs are standardized cells, so a baseline month of the anomaly file
    # means nothing there: integrated gradients starts from zero (the mean state).
    own = {method: {k: v for k, v in (parameters or {}).get(method, {}).items() if k != "baseline"}
           for method in chosen.methods}
    dataset = run_benchmark(field, chosen, methods=chosen.methods, backend=backend, parameters=own)
    write_benchmark(dataset, scores, config=config, inputs={"anomalies": anomalies})
    fit = float(dataset["fit"].values)
    print(f"held-out {chosen.fit_metric} {fit:.3f} (needs {chosen.min_fit}); "
          f"{'fits' if int(dataset['fits'].values) else 'DOES NOT FIT'}")


def figure_attribution_benchmark(scores: str, output: Sequence[str], settings: dict[str, Any]) -> None:
    """Each method's per-sample agreement with the exact attribution."""
    from geoxai.figures.base import FigureSettings
    from geoxai.figures.benchmark import plot_benchmark
    from geoxai.products.benchmark import read_benchmark

    plot_benchmark(read_benchmark(scores), output, dpi=FigureSettings.from_config(settings).dpi)


def attribution_benchmark_table(scores: str, table: str) -> None:
    """The medians per method as an HTML fragment for the report."""
    from geoxai.figures.benchmark import fit_title, median_table
    from geoxai.products.benchmark import read_benchmark
    from geoxai.products.report import write_html_table

    dataset = read_benchmark(scores)
    medians = median_table(dataset)
    if medians.empty:
        raise GeoxaiError(f"{scores} scores no method: rerun the attribution_benchmark rule")
    write_html_table(medians.reset_index(), table, fit_title(dataset))
