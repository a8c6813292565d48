"""The exact-answer attribution benchmark (Mamalakis, Ebert-Uphoff & Barnes 2022).

:mod:`.settings` (the ``attribution_benchmark`` section), :mod:`.truth` (coarse grid, S, inputs,
piecewise-linear responses, exact attribution), :mod:`.network` (training and fit check),
:mod:`.scores` (per-sample scores), :mod:`.run` (:func:`run_benchmark`), :mod:`.synthetic`
(a smooth test field). The product is :mod:`geoxai.products.benchmark`, the figure
:mod:`geoxai.figures.benchmark`. docs/attribution_benchmark.md explains the construction.
"""

from geoxai.xai.benchmark.run import run_benchmark
from geoxai.xai.benchmark.settings import BenchmarkSettings

__all__ = ["BenchmarkSettings", "run_benchmark"]
