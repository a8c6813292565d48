"""The synthetic benchmark with a known answer (Mamalakis, Ebert-Uphoff & Barnes 2022).

From an anomaly dataset (``sst_anomaly(time, lat, lon)``, ``ocean_mask(lat, lon)``) this builds a
coarse grid of ocean cells, their correlation matrix S, N input maps X ~ MVN(0, S), and for each
cell i a piecewise-linear function F_i with F_i(0) = 0. The response is additive,

    y_n = (1 / cells) Σ_i F_i(x_n,i),

so the exact attribution of sample n to cell i is F_i(x_n,i) / cells, and y_n is its sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy.special import ndtr, ndtri

from geoxai.core.errors import GeoxaiError
from geoxai.xai.benchmark.settings import DEFAULT_SETTINGS, BenchmarkSettings

#: A cell whose standard deviation is below this fraction of the largest one is dropped: land
#: (exactly 0), permanent sea ice, cells the source left constant.
VARIANCE_FLOOR = 1e-6


@dataclass(frozen=True)
class CoarseGrid:
    """The ocean cells the benchmark uses, and where they sit on the coarse grid."""

    lat: np.ndarray  # (lat,) coarse latitudes
    lon: np.ndarray  # (lon,) coarse longitudes
    cell_lat_index: np.ndarray  # (cells,) row of each cell on the coarse grid
    cell_lon_index: np.ndarray  # (cells,) column of each cell
    stride: tuple[int, int]  # (lat, lon) stride through the anomaly grid

    @property
    def cells(self) -> int:
        return self.cell_lat_index.size

    def to_map(self, values: np.ndarray) -> np.ndarray:
        """(..., cells) → (..., lat, lon), NaN where no cell is used."""
        values = np.asarray(values)
        out = np.full(values.shape[:-1] + (self.lat.size, self.lon.size), np.nan, dtype=np.float64)
        out[..., self.cell_lat_index, self.cell_lon_index] = values
        return out


@dataclass(frozen=True)
class PiecewiseLinear:
    """One continuous piecewise-linear function per cell, F_i(0) = 0.

    ``knots`` (breakpoints + 1, cells) are sorted per cell and include 0; ``slopes``
    (breakpoints + 2, cells): slope k holds left of knot k (k = 0) or between knots k-1 and k.
    ``values`` (breakpoints + 1, cells) are F_i at the knots.
    """

    knots: np.ndarray
    slopes: np.ndarray
    values: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """F_i(x_n,i) for inputs (n, cells)."""
        x = np.asarray(x)
        segment = np.zeros(x.shape, dtype=np.intp)
        for knot in self.knots:
            segment += x > knot
        # anchor each value at the segment's end nearer 0, so F(0) is exactly 0
        anchor = np.clip(np.where(x > 0, segment - 1, segment), 0, len(self.knots) - 1)
        cells = np.arange(x.shape[1])
        return self.values[anchor, cells] + self.slopes[segment, cells] * (x - self.knots[anchor, cells])


@dataclass(frozen=True)
class Benchmark:
    """The drawn benchmark: inputs, response, labels and the exact attribution."""

    inputs: np.ndarray  # (n, cells) float32, standard-normal marginals, correlation S
    response: np.ndarray  # (n,) float64: y = Σ_i F_i(x_i) / cells
    labels: np.ndarray  # (n,) int: y > threshold (the classification variant)
    truth: np.ndarray  # (n, cells) float64: F_i(x_n,i) / cells, sums to y exactly
    threshold: float
    correlation: np.ndarray  # (cells, cells): S, positive definite
    functions: PiecewiseLinear
    grid: CoarseGrid

    def truth_for_class(self, explained_class: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The truth of the explained logit: +attribution for class 1 (y above the threshold),
        -attribution for class 0.

        A two-class network's class-1 logit rises with y and its class-0 logit falls, so the
        attribution of y is the answer for a sample explained as class 1 and its negative for one
        explained as class 0. Pass the class the explanation explained (the winning class), not
        the label, so a misclassified sample is held to the logit that was explained.
        """
        sign = np.where(np.asarray(explained_class) == 1, 1.0, -1.0)
        return self.truth[rows] * sign[:, None]


def _spacing(values: np.ndarray, name: str) -> float:
    if values.size < 2:
        return np.inf
    steps = np.abs(np.diff(values.astype(np.float64)))
    if not np.allclose(steps, steps[0], rtol=1e-3):
        raise GeoxaiError(f"the anomaly grid's {name} is not regular: the benchmark needs a regular grid")
    return float(steps[0])


def _stride(spacing: float, grid_degrees: float) -> int:
    """Stride nearest grid_degrees / spacing (ties up); 1 when the grid is already as coarse."""
    if not np.isfinite(spacing) or spacing >= grid_degrees:
        return 1
    return max(1, int(np.floor(grid_degrees / spacing + 0.5)))


def coarse_cells(anomalies: xr.Dataset, grid_degrees: float) -> tuple[CoarseGrid, np.ndarray]:
    """Every k-th cell in latitude and longitude, ocean cells with variance; their series.

    Subsampling (not block means), as Mamalakis et al. took every 10th cell of the 1° field: each
    input is then a real cell's series with its own variance and teleconnections, blocks cut by
    coasts need no weighting, and block means would smooth the field and raise its spatial
    correlation beyond what a 10° grid of point values has. The cell taken is the one nearest the
    block's centre (offset k // 2). Returns the grid and the series (time, cells), float64.
    """
    for name in ("sst_anomaly", "ocean_mask"):
        if name not in anomalies:
            raise GeoxaiError(f"the anomaly dataset has no variable {name!r}: give anomalies.nc as the workflow writes it")
    field = anomalies["sst_anomaly"].transpose("time", "lat", "lon")
    lat = anomalies["lat"].values
    lon = anomalies["lon"].values
    stride = (_stride(_spacing(lat, "lat"), grid_degrees), _stride(_spacing(lon, "lon"), grid_degrees))
    lat_rows = np.arange(stride[0] // 2, lat.size, stride[0])
    lon_cols = np.arange(stride[1] // 2, lon.size, stride[1])
    values = np.asarray(field.values[:, lat_rows][:, :, lon_cols], dtype=np.float64)
    ocean = np.asarray(anomalies["ocean_mask"].values)[np.ix_(lat_rows, lon_cols)] == 1
    values = np.where(np.isfinite(values), values, 0.0)
    std = values.std(axis=0)
    keep = ocean & (std > VARIANCE_FLOOR * max(float(std.max()), np.finfo(float).tiny))
    rows, cols = np.nonzero(keep)
    if rows.size < 2:
        raise GeoxaiError(
            f"the anomaly grid has {rows.size} ocean cell(s) with variance on a {grid_degrees}° grid: "
            "the benchmark needs at least 2 (lower attribution_benchmark.grid_degrees)"
        )
    grid = CoarseGrid(lat[lat_rows], lon[lon_cols], rows, cols, stride)
    return grid, values[:, rows, cols]


def correlation_matrix(series: np.ndarray, eigenvalue_floor: float) -> tuple[np.ndarray, np.ndarray]:
    """S of the standardised series, made positive definite; also a factor L with L Lᵀ = S.

    With fewer months than cells the sample correlation is singular (and rounding can make it
    slightly indefinite): eigenvalues are clipped to ``eigenvalue_floor`` × the largest, and the
    result is rescaled to a unit diagonal.
    """
    standardised = (series - series.mean(axis=0)) / series.std(axis=0)
    raw = standardised.T @ standardised / len(standardised)
    eigenvalues, vectors = np.linalg.eigh(0.5 * (raw + raw.T))
    eigenvalues = np.maximum(eigenvalues, eigenvalue_floor * eigenvalues.max())
    factor = vectors * np.sqrt(eigenvalues)
    scale = 1.0 / np.sqrt(np.einsum("ij,ij->i", factor, factor))
    factor *= scale[:, None]
    return factor @ factor.T, factor


def draw_functions(rng: np.random.Generator, factor: np.ndarray, breakpoints: int) -> PiecewiseLinear:
    """Breakpoints and slopes of every cell, each a spatially coherent MVN(0, S) draw.

    Breakpoint k of all cells is one MVN(0, S) draw pushed through the normal CDF (a quantile
    level per cell) and back through the cell's marginal; the inputs' marginals are standard
    normal, so that is the draw itself (kept explicit for other marginals). A fixed knot at 0
    makes F_i(0) = 0. The breakpoints + 2 slopes are further MVN(0, S) draws, so neighbouring
    cells respond alike, as the source field's teleconnections say.
    """
    cells = factor.shape[0]
    levels = np.clip(ndtr(rng.standard_normal((breakpoints, cells)) @ factor.T), 1e-12, 1 - 1e-12)
    knots = np.sort(np.vstack([ndtri(levels), np.zeros((1, cells))]), axis=0)
    slopes = rng.standard_normal((breakpoints + 2, cells)) @ factor.T
    # F at each knot: integrate the slopes from the first knot, then shift so that F(0) = 0
    rise = slopes[1:-1] * np.diff(knots, axis=0)
    from_first = np.vstack([np.zeros((1, cells)), np.cumsum(rise, axis=0)])
    zero_knot = np.argmax(knots == 0.0, axis=0)
    values = from_first - from_first[zero_knot, np.arange(cells)]
    return PiecewiseLinear(knots, slopes, values)


def draw_inputs(rng: np.random.Generator, factor: np.ndarray, samples: int, block: int = 8192) -> np.ndarray:
    """X ~ MVN(0, S) as float32 (samples, cells), drawn in blocks to bound memory."""
    cells = factor.shape[0]
    inputs = np.empty((samples, cells), dtype=np.float32)
    for start in range(0, samples, block):
        rows = min(block, samples - start)
        inputs[start:start + rows] = rng.standard_normal((rows, cells)) @ factor.T
    return inputs


def build_benchmark(anomalies: xr.Dataset, settings: BenchmarkSettings = DEFAULT_SETTINGS) -> Benchmark:
    """The coarse grid, S, the inputs, the functions, y, the labels and the exact attribution."""
    grid, series = coarse_cells(anomalies, settings.grid_degrees)
    correlation, factor = correlation_matrix(series, settings.eigenvalue_floor)
    rng = np.random.default_rng(settings.seed)
    functions = draw_functions(rng, factor, settings.breakpoints)
    inputs = draw_inputs(rng, factor, settings.samples)
    truth = functions(inputs.astype(np.float64)) / grid.cells
    response = truth.sum(axis=1)
    threshold = float(np.median(response)) if settings.threshold is None else float(settings.threshold)
    labels = (response > threshold).astype(np.int64)
    return Benchmark(inputs, response, labels, truth, threshold, correlation, functions, grid)
