"""Evaluation metrics (SPEC 3).

* `bleu.corpus_bleu`: sacrebleu corpus BLEU with its signature.
* `distribution`: UniKL, unigram entropy, average length, Dist-n, distinct/copied shares.
* `lm`: the reference LSTM language model, forward and reverse perplexity.
"""
from arae_tf.metrics.bleu import corpus_bleu  # noqa: F401
