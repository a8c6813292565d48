"""Checks a reviewer asks of an explanation: does it depend on the network (sanity checks), does
it point at what the network uses (faithfulness), and do networks of different seeds explain one
sample alike (agreement)? Every function here is numpy (and, for the randomised networks, Keras);
the workflow's steps are in :mod:`geoxai.steps.evaluation`."""

from geoxai.xai.evaluation.agreement import seed_agreement, spearman_rows, top_overlap, top_sets
from geoxai.xai.evaluation.faithfulness import DeletionCurves, deletion_curves, logits_of
from geoxai.xai.evaluation.sanity import (
    cascading_randomisations,
    randomise_layers,
    shuffle_training_labels,
    similarity,
)
from geoxai.xai.evaluation.settings import EvaluationSettings, explained_subset

__all__ = [
    "DeletionCurves", "EvaluationSettings", "cascading_randomisations", "deletion_curves",
    "explained_subset", "logits_of", "randomise_layers", "seed_agreement", "shuffle_training_labels",
    "similarity", "spearman_rows", "top_overlap", "top_sets",
]
