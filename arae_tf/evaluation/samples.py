"""Prior samples: the AE's code Gaussian, greedy sampling, and the distribution metrics of samples.

`fit_codes` (on `code_fit_dataset`, `config.eval.code_fit_batches` batches) and `decode_samples`
serve both in-training validation (`train_lib.evaluate`) and `evaluate_model`.
"""

import dataclasses
import os
import time

import numpy as np

from arae_tf.data import pipeline
from arae_tf.metrics import classifier as classifier_lib
from arae_tf.metrics import distribution
from arae_tf.metrics import lm as lm_lib
from arae_tf.models.base import gaussian_codes, gaussian_fit


def code_fit_dataset(examples, vocab, config, encoded=None):
    """The training stream from its first batch (not repeated): what a model that fits its prior to
    training codes (`model.fits_codes`) is fitted on, whatever step training resumed at. `encoded`: as
    `pipeline.make_dataset`."""
    d = config.data
    return pipeline.make_dataset(examples, vocab, d.batch_size, d.max_len, shuffle=True, seed=config.seed,
                                 bucket=d.bucket, length_policy=d.length_policy, encoded=encoded)


def fit_codes(model, dataset, config):
    """Fits the model's prior to the codes of the first `config.eval.code_fit_batches` batches of
    `dataset` where the model has such a prior (`model.fits_codes`); returns the number of codes (0: none)."""
    if not model.fits_codes:
        return 0
    return model.fit_code_distribution(dataset, max_batches=config.eval.code_fit_batches)


def gaussian_code_sampler(codes):
    """A sampler `fn(n, seed) -> codes [n, d]` drawing from the Gaussian N(mean, cov) fitted to `codes`
    [N, d] (ARAE Table 1's baseline prior for an AE: its training codes' Gaussian). Stateless: the
    same seed gives the same codes."""
    mean, tril = (a.astype(np.float32) for a in gaussian_fit(codes))
    return lambda n, seed: gaussian_codes(mean, tril, n, seed)


def decode_samples(model, vocab, n, seed, max_len, batch=500, log=None, codes=None):
    """`n` greedy prior samples as text, `batch` at a time (batch i drawn with seed `seed + i * batch`).
    Models with one decoder per class alternate their class decoders batch by batch. `codes`: a
    sampler `fn(n, seed)` used instead of the model's own prior (e.g. `gaussian_code_sampler`)."""
    out, t = [], time.time()
    classes = model.decoder_classes
    codes = codes or (lambda m, s: model.sample_codes(m, seed=s))  # what model.generate_ids decodes
    for i in range(0, n, batch):
        kw = {"decoder": (i // batch) % classes} if classes > 1 else {}
        m = min(batch, n - i)
        ids = model.decode_ids(codes(m, seed + i), seed=seed + i, max_len=max_len, **kw).numpy()
        out += [vocab.decode(r) for r in ids]
        if log:
            log(f"prior samples: {len(out)}/{n} ({time.time() - t:.0f}s)")
    return out


def samples_report(samples, train_text, test_text, vocab, settings, real_lm):
    """Surface statistics of `samples` against the training text, UniKL beside as many real test
    sentences measured the same way (also in the model's vocabulary: `unigram_kl_vocab`), forward PPL
    under `real_lm` (None: no forward PPL, and no reference LM needs training) and
    (settings.reverse_samples >= 0) reverse PPL of the test text under an LM trained on the samples.
    `settings` is an `evaluation.suite.EvalSettings`; `test_text` is any held-out split's sentences."""
    counts = distribution.unigram_counts(train_text)  # counted once for every figure below
    m = distribution.distribution_report(samples, train_text, corpus_counts=counts)
    m["n"] = len(samples)
    # UniKL at one fixed count for every model, beside real held-out text measured the same way
    # (it replaces distribution_report's UniKL over all the samples).
    m.update(distribution.matched_unigram_kl(samples, test_text, counts, settings.unikl_sentences, settings.seed))
    # The same in the model's vocabulary: real text's rarer words become <unk>, as the model writes them.
    m.update(distribution.in_vocabulary_unigram_kl(
        samples, test_text, counts, vocab.restrict, settings.unikl_sentences, settings.seed))
    if real_lm is not None:
        m["forward_ppl"] = lm_lib.forward_ppl(samples, real_lm, vocab, settings.lm)
    if settings.reverse_samples >= 0:  # < 0: no reverse PPL (it trains one LM per model)
        n_rev = settings.reverse_samples or len(samples)
        m["reverse_ppl"] = lm_lib.reverse_ppl(samples[:n_rev], test_text, vocab, settings.lm)
        m["reverse_ppl_samples"] = n_rev
    return m


def classifier_report(train, test, samples, settings, cache):
    """Labelled data: (the fastText classifier cached under `cache`, its test accuracy and the class
    shares of the samples as it labels them)."""
    clf = classifier_lib.cached_classifier(os.path.join(cache, "fasttext"), train, settings.fasttext)
    pred = clf.predict(samples)
    return clf, {"test_accuracy": clf.accuracy([t for t, _ in test], [y for _, y in test]),
                 "settings": dataclasses.asdict(settings.fasttext),
                 "sample_class_shares": [pred.count(c) / len(pred) for c in range(clf.num_classes)]}
