"""Rules of evaluation.smk: sanity checks, faithfulness and per-sample seed agreement of every
configured method (docs/attribution.md, "Evaluating the explanations"), their figures and tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from geoxai.core import provenance
from geoxai.core.errors import GeoxaiError
from geoxai.products.relevance import sample_keys


def _settings(settings: dict[str, Any] | None):
    from geoxai.learn.models import configure_tensorflow
    from geoxai.xai.evaluation import EvaluationSettings

    chosen = EvaluationSettings.from_config(settings)
    configure_tensorflow(chosen.threads)
    return chosen


def _ocean_cells(samples) -> np.ndarray:
    cells = np.flatnonzero(samples.ocean_mask.reshape(-1) > 0)
    if cells.size == 0:
        raise GeoxaiError("the anomaly file's ocean_mask has no ocean cell: nothing to evaluate")
    return cells


def _explainer(samples, methods, backend, parameters, anomalies, seed):
    """explain(network, method) of the given samples, with explain.parameters."""
    from geoxai.steps.explain import method_parameters
    from geoxai.xai.explain import explain

    chosen = {m: method_parameters(m, (parameters or {}).get(m), anomalies) for m in methods}
    grid = (samples.lat, samples.lon, samples.ocean_mask)

    def run(network, method: str) -> np.ndarray:
        return explain(network, samples.inputs, method, backend=backend, parameters=chosen[method],
                       seed=seed, grid=grid).relevance

    return run


def _accuracy(network, samples) -> float:
    from geoxai.learn.models import predict_probabilities

    validation = samples.in_split("validation")
    if len(validation.labels) == 0:
        return float("nan")
    predicted = predict_probabilities(network, validation.inputs).argmax(axis=1)
    return float((predicted == validation.labels).mean())


def explanation_sanity(model: str, anomalies: str, labels: str, sanity: str, methods: Sequence[str],
                       backend: str, parameters: dict[str, Any], settings: dict[str, Any],
                       model_config: dict[str, Any], training_config: dict[str, Any],
                       class_names: Sequence[str], seed: int,
                       config: dict[str, Any] | None = None) -> None:
    """Cascading layer randomisation of the seed's network and a network trained on shuffled
    labels: each method's explanations compared with the trained network's, per sample."""
    from geoxai.learn.models import ModelSettings, TrainingSettings, load_model, train_model
    from geoxai.learn.samples import load_samples
    from geoxai.products.evaluation import median_over, sanity_dataset
    from geoxai.xai.evaluation import cascading_randomisations, explained_subset
    from geoxai.xai.evaluation import shuffle_training_labels as shuffle
    from geoxai.xai.evaluation.run import sanity_similarity
    from geoxai.xai.evaluation.sanity import survives

    chosen = _settings(settings)
    samples = load_samples(anomalies, labels)
    # First the shuffled-label network: training clears the session the others live in.
    shuffled_labels = shuffle(samples.labels, samples.split, chosen.seed)
    train, validation = samples.split == "train", samples.split == "validation"
    training = TrainingSettings.from_config(training_config)
    shuffled = train_model(
        samples.inputs[train], shuffled_labels[train], samples.inputs[validation],
        samples.labels[validation], seed, ModelSettings.from_config(model_config),
        training, n_classes=len(class_names)).model
    network = load_model(model, samples.n_features)
    stages = [*cascading_randomisations(network, chosen.seed), ("shuffled_labels", shuffled)]
    accuracy = {"trained": _accuracy(network, samples),
                **{name: _accuracy(net, samples) for name, net in stages}}
    explained = samples.where(explained_subset(len(samples.labels), chosen.samples, chosen.seed))
    explainer = _explainer(explained, methods, backend, parameters, anomalies, seed)
    result = sanity_similarity(explainer, network, stages, methods, _ocean_cells(samples))
    flags = survives(median_over(result.spearman, 2), median_over(result.spearman_abs, 2),
                     chosen.survival_threshold)
    dataset = sanity_dataset(methods, result, flags, accuracy, explained.time,
                             chosen.survival_threshold,
                             {"seed": int(seed), "evaluation_seed": chosen.seed, "backend": backend},
                             dates=explained.dates)
    provenance.write_netcdf_atomic(dataset, sanity, config=config,
                                   inputs={"model": model, "anomalies": anomalies, "labels": labels})
    print(f"validation accuracy: {accuracy}")


def explanation_faithfulness(model: str, anomalies: str, labels: str, relevance: Sequence[str],
                             faithfulness: str, methods: Sequence[str], settings: dict[str, Any],
                             seed: int, config: dict[str, Any] | None = None) -> None:
    """Deletion curves of the seed's network for each method's relevance files, against random
    rankings, with cells replaced by the climatology and by draws of their own anomalies."""
    from geoxai.learn.models import load_model
    from geoxai.learn.samples import load_samples
    from geoxai.products.evaluation import faithfulness_dataset
    from geoxai.xai.composites import area_weights
    from geoxai.xai.evaluation import explained_subset, logits_of
    from geoxai.xai.evaluation.run import REPLACEMENTS, faithfulness_curves

    if len(relevance) != len(methods):
        raise GeoxaiError(f"{len(methods)} methods but {len(relevance)} relevance files: give one "
                          "file per method of explain.rules, in the same order")
    chosen = _settings(settings)
    samples = load_samples(anomalies, labels)
    subset = explained_subset(len(samples.labels), chosen.samples, chosen.seed)
    cells = _ocean_cells(samples)
    maps = {}
    for method, path in zip(methods, relevance):
        with provenance.open_product(path) as opened:
            if list(sample_keys(opened)) != list(samples.time):
                raise GeoxaiError(f"relevance file {path} explains other samples than {labels}: "
                                  "rerun the relevance rule")
            maps[method] = opened["relevance"].values[subset].reshape(len(subset), -1)
    area = area_weights(samples.lat, samples.ocean_mask).reshape(-1)[cells]
    result = faithfulness_curves(
        logits_of(load_model(model, samples.n_features)), samples.inputs[subset], maps, cells,
        area, chosen.fractions(), samples.inputs, chosen.random_orders, chosen.seed)
    dataset = faithfulness_dataset(methods, REPLACEMENTS, result,
                                   {"seed": int(seed), "evaluation_seed": chosen.seed,
                                    "samples": len(subset)})
    provenance.write_netcdf_atomic(dataset, faithfulness, config=config,
                                   inputs={"model": model, "anomalies": anomalies})


def seed_agreement(relevance: Sequence[str], anomalies: str, seed_agreement: str, method: str,
                   settings: dict[str, Any], class_names: Sequence[str],
                   config: dict[str, Any] | None = None) -> None:
    """Per-sample agreement of one method's relevance maps between every pair of seeds."""
    from geoxai.products.anomalies import open_anomalies
    from geoxai.products.evaluation import agreement_dataset
    from geoxai.xai.evaluation import EvaluationSettings, explained_subset
    from geoxai.xai.evaluation import seed_agreement as agree

    chosen = EvaluationSettings.from_config(settings)
    maps, seeds, first = [], [], None
    for path in relevance:
        with provenance.open_product(path) as opened:
            if first is None:
                first = opened[["true_class", "lat", "lon"]].load()
                # Files written before time_key held the keys in a string time: no dates then.
                keys = sample_keys(opened)
                dates = opened["time"].values if "time_key" in opened.coords else None
                subset = explained_subset(first.sizes["sample"], chosen.samples, chosen.seed)
            elif list(sample_keys(opened)) != list(keys):
                raise GeoxaiError(f"relevance file {path} explains other samples than "
                                  f"{relevance[0]}: rerun the relevance rule")
            maps.append(opened["relevance"].values[subset])
            seeds.append(int(opened.attrs.get("seed", len(seeds))))
    if first is None:
        raise GeoxaiError("no relevance file given: the config key `seeds` is empty")
    stacked = np.stack(maps)  # (seeds, samples, lat, lon)
    with open_anomalies(anomalies) as field:
        mask = field["ocean_mask"].values
    if mask.shape != stacked.shape[2:]:
        raise GeoxaiError(f"relevance maps of shape {stacked.shape[2:]} but {anomalies} has an "
                          f"ocean mask of shape {mask.shape}: rerun the relevance rule")
    ocean = np.flatnonzero(mask.reshape(-1) > 0)
    result = agree(stacked.reshape(len(seeds), len(subset), -1)[:, :, ocean], chosen.top_fraction)
    both = np.full(stacked[0, 0].size, np.nan)
    both[ocean] = result.both_top
    dataset = agreement_dataset(
        method, seeds, result, first["true_class"].values[subset], keys[subset],
        class_names, both.reshape(stacked.shape[2:]), first["lat"].values, first["lon"].values,
        chosen.top_fraction, {"evaluation_seed": chosen.seed, "samples": len(subset)},
        dates=None if dates is None else dates[subset])
    provenance.write_netcdf_atomic(dataset, seed_agreement, config=config,
                                   inputs={"anomalies": anomalies,
                                           **{f"relevance_seed{s}": p for s, p in zip(seeds, relevance)}})


def figure_explanation_sanity(sanity: str, output: Sequence[str], settings: dict[str, Any]) -> None:
    """Median similarity after each randomisation stage, per method."""
    from geoxai.figures.base import FigureSettings
    from geoxai.figures.evaluation import plot_sanity

    plot_sanity(sanity, output, dpi=FigureSettings.from_config(settings).dpi)


def figure_explanation_faithfulness(faithfulness: str, output: Sequence[str],
                                    settings: dict[str, Any]) -> None:
    """Deletion curves per method with the random baseline."""
    from geoxai.figures.base import FigureSettings
    from geoxai.figures.evaluation import plot_faithfulness

    plot_faithfulness(faithfulness, output, dpi=FigureSettings.from_config(settings).dpi)


def figure_sample_agreement(seed_agreement: str, output: Sequence[str],
                            settings: dict[str, Any], app: str = "", target: str = "",
                            truth: str = "", targets: str = "",
                            index_region: dict[str, Any] | None = None) -> None:
    """Per-sample agreement across seeds of one method: distributions per class and the map
    (regions outlined as in figure_composites)."""
    from geoxai.figures.base import FigureSettings
    from geoxai.figures.evaluation import plot_sample_agreement
    from geoxai.figures.regions import map_regions

    chosen = FigureSettings.from_config(settings)
    plot_sample_agreement(seed_agreement, output, dpi=chosen.dpi,
                          central_longitude=chosen.central_longitude,
                          regions=map_regions(app, target, truth, targets, index_region))


def explanation_sanity_table(sanity: str, table: str) -> None:
    """Median similarity per method and randomisation stage, and the survival flag."""
    from geoxai.products.evaluation import open_evaluation, sanity_table
    from geoxai.products.report import write_html_table

    dataset = open_evaluation(sanity, ["median_spearman", "survives_randomisation"], "sanity")
    write_html_table(sanity_table(dataset), table,
                     f"Sanity checks (threshold {dataset.attrs.get('survival_threshold')})")


def explanation_faithfulness_table(faithfulness: str, table: str) -> None:
    """Area under the deletion curve per method, and its difference to random rankings."""
    from geoxai.products.evaluation import faithfulness_table, open_evaluation
    from geoxai.products.report import write_html_table

    dataset = open_evaluation(faithfulness, ["auc", "auc_minus_random"], "faithfulness")
    write_html_table(faithfulness_table(dataset), table, "Faithfulness: area under the deletion curve")


def seed_agreement_table(seed_agreement: Sequence[str], table: str) -> None:
    """Median per-sample agreement across seeds, per method and class."""
    from geoxai.products.evaluation import agreement_table, open_evaluation
    from geoxai.products.report import write_html_table

    datasets = [open_evaluation(p, ["median_spearman", "median_top_overlap"], "seed agreement")
                for p in seed_agreement]
    write_html_table(agreement_table(datasets), table, "Per-sample agreement across seeds")
