"""Replies to test contexts on encoder-decoder (dialog) data: the WAE paper's Table 2 metrics."""

import numpy as np

from arae_tf.evaluation.reconstruction import heldout_dataset
from arae_tf.metrics import distribution
from arae_tf.metrics.bleu import corpus_bleu


def surface(texts):
    """Unigram entropy (nats), Dist-1/2, average length and the share of distinct sentences of a set
    of sentences (for replies: do they differ from context to context?)."""
    return {"entropy": distribution.unigram_entropy(texts), "dist1": distribution.distinct_n(texts, 1),
            "dist2": distribution.distinct_n(texts, 2), "avg_len": distribution.average_length(texts),
            "distinct": distribution.distinct_sentences(texts)}


def dialog_report(model, vocab, examples, config, max_len, seed=0, greedy_replies=None):
    """WAE paper Table 2 metrics of replies generated for the contexts of `examples` (`Example`s).

    Replies are greedy decodings of the context's code: the posterior mean for deterministic
    encoders, a draw from q(z|context) for Gaussian ones (VED, WED-S). BLEU-2 and BLEU-4 are
    sacrebleu corpus BLEU against the one reference reply; entropy is the unigram entropy (nats) of
    all generated words, Dist-n the distinct n-grams over all n-grams of the replies. `reference`
    holds the same statistics of the real replies (the paper's "test set" row). `greedy_replies`:
    the posterior-mean replies already decoded (`reconstruction_report`'s), reused for deterministic
    encoders instead of decoding them again."""
    ds = heldout_dataset(examples, vocab, config)
    sample = bool(model.backbone.stochastic)
    refs, hyps, contexts = [], [], []
    reuse = greedy_replies is not None and not sample
    for i, b in enumerate(ds):
        contexts += [vocab.decode(r) for r in b["source"].numpy()]
        refs += [vocab.decode(r) for r in b["tokens"].numpy()]
        if not reuse:
            out = model.respond_ids(b["source"].numpy(), sample=sample, seed=seed + i, max_len=max_len)
            hyps += [vocab.decode(r) for r in np.asarray(out)]
    if reuse:
        if len(greedy_replies) != len(refs):
            raise ValueError(f"greedy_replies has {len(greedy_replies)} replies for {len(refs)} pairs")
        hyps = list(greedy_replies)
    b2, b4 = corpus_bleu(hyps, refs, max_ngram_order=2), corpus_bleu(hyps, refs, max_ngram_order=4)
    return {"pairs": len(refs), "code": "posterior sample" if sample else "posterior mean",
            "bleu2": b2["score"], "bleu4": b4["score"], "bleu_signature": b4["signature"], **surface(hyps),
            "reference": surface(refs), "examples": list(zip(contexts[:10], refs[:10], hyps[:10]))}
