"""Evaluation metrics (SPEC 3)."""
from arae_tf.metrics.bleu import corpus_bleu  # noqa: F401
