"""Surface statistics of a set of generated sentences against a corpus (SPEC 3).

Sentences are whitespace-tokenized strings. Definitions:

* `unigram_kl(generated, corpus)`: KL(P_gen || P_corpus) in nats between unigram
  distributions: P_gen is the *empirical* distribution of the generated words, P_corpus the
  corpus's add-`alpha` smoothed over the union of both vocabularies (a word the corpus never has
  costs a large but finite amount). `reverse=True` gives KL(P_corpus || P_gen), the corpus
  empirical and the generated words smoothed. The plug-in estimate is biased upwards for small
  samples: 1,000 real SNLI held-out sentences score about 0.24 against the training corpus,
  5,000 about 0.10. So compare models only at one sample count, beside real text measured the
  same way (`matched_unigram_kl`). (Until session 10 the *generated* side was smoothed too; its
  smoothing mass swamped a small sample and real text scored 1.31, as badly as any model.)
  `in_vocabulary_unigram_kl` measures both in a model's own vocabulary (its unknown token for every
  word it lacks, on the real side too), where a closed-vocabulary model can match real text.
* `unigram_entropy`: entropy (nats) of the unsmoothed unigram distribution.
* `average_length`: mean number of tokens per sentence.
* `distinct_n`: distinct n-grams / total n-grams, n-grams taken within sentences and
  pooled over the set (Li et al. 2016, "Dist-n").
* `distinct_sentences`: share of distinct sentences; `copied_share`: share of generated
  sentences that occur verbatim in the training corpus.

The UniKL and entropy functions take a corpus as sentences or as its `unigram_counts` (a
`collections.Counter`), and `distribution_report` takes those counts as `corpus_counts`, so a caller
measuring several things against one large corpus counts its words once.
"""

import collections
import math
import random


def _tokens(sentences):
    return [s.split() for s in sentences]


def unigram_counts(sentences):
    """Counter of the words of `sentences`; a Counter is returned as it is (already counted)."""
    if isinstance(sentences, collections.Counter):
        return sentences
    c = collections.Counter()
    for toks in _tokens(sentences):
        c.update(toks)
    return c


def unigram_kl(generated, corpus, alpha=1.0, reverse=False):
    """Unigram KL(P_gen || P_corpus) in nats, P_gen empirical, P_corpus smoothed (module docstring).
    Either side may be given as sentences or as their `unigram_counts`."""
    p, q = unigram_counts(generated), unigram_counts(corpus)
    if reverse:
        p, q = q, p
    if not p:
        raise ValueError("unigram_kl: no tokens in the first distribution")
    if alpha <= 0 and set(p) - set(q):
        raise ValueError("unigram_kl: alpha must be > 0 when the first distribution has words the second lacks")
    zp = sum(p.values())
    zq = sum(q.values()) + alpha * len(set(p) | set(q))
    return sum(k / zp * math.log((k / zp) / ((q[w] + alpha) / zq)) for w, k in p.items())


def matched_unigram_kl(generated, held_out, corpus, n, seed=0):
    """UniKL of `n` generated sentences and of `n` real held-out ones, against the same corpus.

    The two figures are measured the same way at the same count, so a model's UniKL can be read
    against what real text scores (the estimate's small-sample bias is in both). `n` is capped at
    the size of either set; the held-out sentences are a seeded random subset (not the first n,
    which may all come from one class's file). Returns {unigram_kl, unigram_kl_real, unigram_kl_n}.
    """
    n = min(int(n), len(generated), len(held_out))
    if n <= 0:
        raise ValueError(f"matched_unigram_kl: n must be positive, got {n} (generated {len(generated)}, "
                         f"held out {len(held_out)})")
    pick = random.Random(seed).sample(range(len(held_out)), n)
    return {"unigram_kl": unigram_kl(list(generated[:n]), corpus),
            "unigram_kl_real": unigram_kl([held_out[i] for i in sorted(pick)], corpus),
            "unigram_kl_n": n}


def in_vocabulary_unigram_kl(generated, held_out, corpus, restrict, n, seed=0):
    """`matched_unigram_kl` in a closed-vocabulary model's own word space, and the corpus's entropy there.

    `restrict` maps a list of sentences to what the model can write: every word outside its vocabulary
    becomes its unknown token (`evaluation.samples` passes the vocabulary's encode-decode round trip). It
    is applied to the held-out and the corpus sentences; `generated` is already in that space. Raw text
    never contains the unknown token, so against the raw corpus (smoothed count 1) a model that wrote
    every word as often as the corpus does would still pay about p(unk) * log(p(unk) * N) for it, N the
    corpus's token count: 0.1 nats for a 10k vocabulary on the SNLI corpus (1% of its tokens are rarer
    words), where 5,000 real sentences score 0.10 in all. Returns {unigram_kl_vocab, unigram_kl_vocab_real,
    unigram_kl_n, corpus_entropy_vocab}. `corpus` may be its `unigram_counts`; they are then restricted
    word by word, which equals restricting each sentence when `restrict` maps words independently."""
    corpus = _restricted_counts(corpus, restrict) if isinstance(corpus, collections.Counter) else restrict(corpus)
    m = matched_unigram_kl(generated, restrict(held_out), corpus, n, seed)
    return {"unigram_kl_vocab": m["unigram_kl"], "unigram_kl_vocab_real": m["unigram_kl_real"],
            "unigram_kl_n": m["unigram_kl_n"], "corpus_entropy_vocab": unigram_entropy(corpus)}


def _restricted_counts(counts, restrict):
    """`counts` of a corpus mapped word by word through `restrict` (each distinct word as a one-word
    sentence): the counts of the restricted corpus, for a `restrict` that maps words independently
    (a vocabulary's round trip does), without mapping every sentence."""
    words = list(counts)
    out = collections.Counter()
    for w, r in zip(words, restrict(words)):
        for t in r.split():
            out[t] += counts[w]
    return out


def unigram_entropy(sentences):
    """Entropy (nats) of the words of `sentences` (or of their `unigram_counts`)."""
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


def distribution_report(generated, corpus, training=None, corpus_counts=None):
    """All of the above in one dict (`training` defaults to `corpus` for the copy share;
    `corpus_counts`: the corpus's `unigram_counts` when the caller has them)."""
    counts = unigram_counts(corpus) if corpus_counts is None else corpus_counts
    generated_counts = unigram_counts(generated)
    return {
        "unigram_kl": unigram_kl(generated_counts, counts),
        "entropy": unigram_entropy(generated_counts),
        "corpus_entropy": unigram_entropy(counts),
        "avg_len": average_length(generated),
        "corpus_avg_len": sum(counts.values()) / len(corpus) if corpus else 0.0,
        "dist1": distinct_n(generated, 1),
        "dist2": distinct_n(generated, 2),
        "distinct_sentences": distinct_sentences(generated),
        "copied_share": copied_share(generated, corpus if training is None else training),
    }
