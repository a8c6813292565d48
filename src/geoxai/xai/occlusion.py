"""Occlusion on the map grid (numpy only: iNNvestigate has no such analyzer).

The ocean cells of each lat/lon patch of ``patch_degrees`` (anchored at 90°S, 0°E) are replaced
by ``value``; the drop of the explained logit (the class the unoccluded input wins) is shared
among the patch's ocean cells in proportion to their area, cos(lat), so each patch's relevance
sums to its drop. Land cells (exact zeros in the inputs) are never changed and get nothing.

For the dense family only the first layer sees the inputs, so an occluded preactivation is the
unoccluded one minus x_patch @ W_patch plus value * Σ W_patch: one pass over the wide kernel per
block of samples, whatever the number of patches, and the narrow layers run on all patches at
once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from geoxai.core.errors import GeoxaiError
from geoxai.xai.numpy_backend import first_layer_pass, numpy_block_rows
from geoxai.xai.rules import DenseLayer

GRID_HELP = ("give explain(..., grid=(lat, lon)) or grid=(lat, lon, ocean_mask): the 1-D "
             "latitudes and longitudes of the maps the inputs flatten (lat-major, lat*lon "
             "features) and optionally a (lat, lon) mask, nonzero on ocean; or, for inputs "
             "that are scattered cells, grid={'cell_lat': ..., 'cell_lon': ...} with one "
             "latitude and longitude per feature")


def grid_cells(grid, n_features: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latitude, longitude and ocean flag (bool) of every feature, from ``grid``."""
    if grid is None:
        raise GeoxaiError(f"rule 'occlusion' needs the map grid of the inputs: {GRID_HELP}")
    if isinstance(grid, Mapping):
        # scattered cells (e.g. the benchmark's ocean cells): coordinates given per feature
        cell_lat = np.asarray(grid.get("cell_lat", ()), dtype=np.float64).ravel()
        cell_lon = np.asarray(grid.get("cell_lon", ()), dtype=np.float64).ravel()
        if cell_lat.size != n_features or cell_lon.size != n_features:
            raise GeoxaiError(f"grid gives {cell_lat.size} cell latitudes and {cell_lon.size} "
                              f"longitudes for {n_features} features: {GRID_HELP}")
        return cell_lat, cell_lon, np.ones(n_features, dtype=bool)
    if len(grid) not in (2, 3):
        raise GeoxaiError(f"grid has {len(grid)} parts: {GRID_HELP}")
    lat = np.asarray(grid[0], dtype=np.float64).ravel()
    lon = np.asarray(grid[1], dtype=np.float64).ravel()
    if lat.size * lon.size != n_features:
        raise GeoxaiError(f"grid has {lat.size} latitudes × {lon.size} longitudes = "
                          f"{lat.size * lon.size} cells but the inputs have {n_features} "
                          f"features: {GRID_HELP}")
    ocean = np.ones(n_features, dtype=bool)
    if len(grid) == 3 and grid[2] is not None:
        mask = np.asarray(grid[2])
        if mask.size != n_features:
            raise GeoxaiError(f"the grid's ocean mask has {mask.size} cells, the inputs "
                              f"{n_features} features: {GRID_HELP}")
        ocean = mask.ravel() != 0
    cell_lat = np.repeat(lat, lon.size)
    cell_lon = np.tile(lon, lat.size)
    return cell_lat, cell_lon, ocean


def occlusion_patches(grid, n_features: int, patch_degrees: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ocean features ordered patch by patch, where each patch starts in that order, and
    each ordered feature's share of its patch (area weights summing to 1 per patch)."""
    cell_lat, cell_lon, ocean = grid_cells(grid, n_features)
    lat_bin = np.floor((np.clip(cell_lat, -90, 90) + 90) / patch_degrees).astype(np.int64)
    lon_bin = np.floor(np.mod(cell_lon, 360) / patch_degrees).astype(np.int64)
    patch = lat_bin * (int(np.ceil(360 / patch_degrees)) + 1) + lon_bin
    features = np.flatnonzero(ocean)
    order = features[np.argsort(patch[features], kind="stable")]
    ordered_patch = patch[order]
    starts = np.flatnonzero(np.r_[True, ordered_patch[1:] != ordered_patch[:-1]]) if order.size else np.zeros(0, np.int64)
    area = np.maximum(np.cos(np.deg2rad(cell_lat[order])), 0.0)
    totals = np.add.reduceat(area, starts) if order.size else np.zeros(0)
    counts = np.diff(np.r_[starts, order.size])
    # a patch of polar cells only (cos 90° = 0) shares equally
    per_patch = np.where(totals > 0, totals, counts)
    area = np.where(np.repeat(totals > 0, counts), area, 1.0)
    share = (area / np.repeat(per_patch, counts)).astype(np.float32)
    return order, starts, share


def explain_occlusion(layers: list[DenseLayer], inputs: np.ndarray, parameters: Mapping[str, Any],
                      batch_size: int, grid):
    n_samples, n_features = inputs.shape
    order, starts, share = occlusion_patches(grid, n_features, float(parameters["patch_degrees"]))
    value = np.float32(parameters["value"])
    first = layers[0]
    kernel = first.kernel[order]  # ocean rows, patch by patch
    ends = np.r_[starts[1:], order.size].astype(np.int64)
    counts = ends - starts
    # value * Σ W_patch, per patch: (patches, units)
    replaced = value * np.add.reduceat(kernel, starts, axis=0) if order.size else np.zeros((0, kernel.shape[1]), np.float32)
    relevance = np.zeros(inputs.shape, dtype=np.float32)
    winner = np.empty(n_samples, dtype=np.int64)
    winning_logit = np.empty(n_samples, dtype=np.float32)
    rows = numpy_block_rows(n_features, batch_size)
    for start in range(0, n_samples, rows):
        block = slice(start, start + rows)
        ocean_inputs = inputs[block][:, order]  # (r, ocean cells), patch by patch
        count = len(ocean_inputs)
        clean = inputs[block] @ first.kernel + first.bias
        logits, winner[block], _ = first_layer_pass(layers, clean, gradient=False)
        winning_logit[block] = logits[np.arange(count), winner[block]]
        if not order.size:
            continue
        removed = np.empty((count, len(starts), kernel.shape[1]), dtype=np.float32)
        for patch, (low, high) in enumerate(zip(starts, ends)):
            np.matmul(ocean_inputs[:, low:high], kernel[low:high], out=removed[:, patch])
        occluded = clean[:, None, :] - removed + replaced[None]
        occluded_logits, _, _ = first_layer_pass(
            layers, occluded.reshape(-1, occluded.shape[-1]),
            np.repeat(winner[block], len(starts)), gradient=False,
        )
        occluded_winning = occluded_logits[
            np.arange(len(occluded_logits)), np.repeat(winner[block], len(starts))
        ].reshape(count, len(starts))
        drop = winning_logit[block][:, None] - occluded_winning  # (r, patches)
        relevance[block][:, order] = np.repeat(drop, counts, axis=1) * share
    return relevance, winner, winning_logit
