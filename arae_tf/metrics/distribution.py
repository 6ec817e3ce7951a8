"""Surface statistics of a set of generated sentences against a corpus (SPEC 3).

Sentences are whitespace-tokenized strings. Definitions:

* `unigram_kl(generated, corpus)`: KL(P_gen || P_corpus) in nats between unigram
  distributions, both add-`alpha` smoothed over the *union* of their vocabularies, so no
  generated or corpus token is silently dropped (a word the corpus never has costs a large
  but finite amount). `reverse=True` gives KL(P_corpus || P_gen).
* `unigram_entropy`: entropy (nats) of the unsmoothed unigram distribution.
* `average_length`: mean number of tokens per sentence.
* `distinct_n`: distinct n-grams / total n-grams, n-grams taken within sentences and
  pooled over the set (Li et al. 2016, "Dist-n").
* `distinct_sentences`: share of distinct sentences; `copied_share`: share of generated
  sentences that occur verbatim in the training corpus.
"""

import collections
import math


def _tokens(sentences):
    return [s.split() for s in sentences]


def unigram_counts(sentences):
    c = collections.Counter()
    for toks in _tokens(sentences):
        c.update(toks)
    return c


def unigram_kl(generated, corpus, alpha=1.0, reverse=False):
    """Smoothed unigram KL(P_gen || P_corpus) in nats (see module docstring)."""
    p, q = unigram_counts(generated), unigram_counts(corpus)
    if reverse:
        p, q = q, p
    if not p:
        raise ValueError("unigram_kl: no tokens in the first distribution")
    vocab = set(p) | set(q)
    zp = sum(p.values()) + alpha * len(vocab)
    zq = sum(q.values()) + alpha * len(vocab)
    kl = 0.0
    for w in vocab:
        pw = (p[w] + alpha) / zp
        qw = (q[w] + alpha) / zq
        kl += pw * math.log(pw / qw)
    return kl


def unigram_entropy(sentences):
    c = unigram_counts(sentences)
    n = sum(c.values())
    return -sum(k / n * math.log(k / n) for k in c.values()) if n else 0.0


def average_length(sentences):
    toks = _tokens(sentences)
    return sum(map(len, toks)) / len(toks) if toks else 0.0


def distinct_n(sentences, n):
    grams = collections.Counter()
    for toks in _tokens(sentences):
        grams.update(tuple(toks[i: i + n]) for i in range(len(toks) - n + 1))
    total = sum(grams.values())
    return len(grams) / total if total else 0.0


def distinct_sentences(sentences):
    return len(set(sentences)) / len(sentences) if sentences else 0.0


def copied_share(generated, training):
    train = set(training)
    return sum(s in train for s in generated) / len(generated) if generated else 0.0


def distribution_report(generated, corpus, training=None):
    """All of the above in one dict (`training` defaults to `corpus` for the copy share)."""
    return {
        "unigram_kl": unigram_kl(generated, corpus),
        "entropy": unigram_entropy(generated),
        "corpus_entropy": unigram_entropy(corpus),
        "avg_len": average_length(generated),
        "corpus_avg_len": average_length(corpus),
        "dist1": distinct_n(generated, 1),
        "dist2": distinct_n(generated, 2),
        "distinct_sentences": distinct_sentences(generated),
        "copied_share": copied_share(generated, corpus if training is None else training),
    }
