"""Latent-space diagnostics (SPEC 3; ARAE Fig. 3 and 4, WAE-S sigma histogram).

* `code_statistics`: mean L2 norm and trace of the covariance of a set of codes;
  logged for z (validation codes) and z~ (prior codes) at every evaluation.
* `perturb`: a sentence with k random word swaps (two positions exchanged per swap)
  or k random word substitutions (edit distance k).
* `swap_nll_curve`: NLL of the *original* sentence decoded from the code of its
  k-swapped version, k = 0..K (ARAE Fig. 4; per sentence and per token).
* `edit_cosine`: cosine similarity between the code of a sentence and the code of
  a version at word edit distance k, next to the cosine of random sentence pairs.
* `sigma_values`: the encoder's posterior standard deviations, for models with a
  Gaussian encoder (they define `encode_distribution(tokens) -> (mu, log_var)`).

Each function takes a model (`TextAutoencoder`), its `Vocabulary`, and a list of
sentences; randomness comes from a `numpy` seed.
"""

import numpy as np
import tensorflow as tf

from arae_tf.data import pipeline
from arae_tf.data.vocab import SPECIALS


def code_statistics(codes):
    """{"norm": mean ||z||, "cov_trace": trace of the covariance} of a [N, d] array."""
    codes = np.asarray(codes, np.float64)
    if codes.ndim != 2 or len(codes) < 2:
        raise ValueError(f"code statistics need a [N >= 2, d] array, got shape {codes.shape}")
    return {"norm": float(np.linalg.norm(codes, axis=1).mean()),
            "cov_trace": float(np.trace(np.cov(codes, rowvar=False)))}


def perturb(words, k, rng, mode="swap", vocab_size=None):
    """A copy of the word list `words` with k edits.

    mode "swap": k times, exchange the words at two distinct random positions (ARAE Fig. 4).
    mode "substitute": replace k distinct random positions by other random vocabulary ids
    (`words` must then be ids and `vocab_size` given): word edit distance exactly k.
    """
    words = list(words)
    if mode == "swap":
        if len(words) >= 2:
            for _ in range(k):
                i, j = rng.choice(len(words), size=2, replace=False)
                words[i], words[j] = words[j], words[i]
        return words
    if mode == "substitute":
        if vocab_size is None:
            raise ValueError("mode 'substitute' needs vocab_size")
        for i in rng.choice(len(words), size=min(k, len(words)), replace=False):
            new = words[i]
            while new == words[i]:
                new = int(rng.integers(len(SPECIALS), vocab_size))
            words[i] = new
        return words
    raise ValueError(f"perturb mode must be 'swap' or 'substitute', got {mode!r}")


def _batches(token_lists, batch_size):
    for i in range(0, len(token_lists), batch_size):
        yield pipeline.pad(token_lists[i: i + batch_size])


def _word_ids(vocab, sentences, min_words=2):
    ids = [vocab.encode(s) for s in sentences]
    return [w for w in ids if len(w) >= min_words]


def swap_nll_curve(model, vocab, sentences, max_k=4, seed=0, batch_size=128):
    """[{k, nll_sentence, nll_token}] for k = 0..max_k.

    For each sentence x (at least 2 words) and each k, z = enc(x with k random swaps);
    the score is -log p(x | z) under teacher forcing, averaged over sentences
    (`nll_sentence`, as ARAE Fig. 4) and divided by the token count (`nll_token`).
    """
    rng = np.random.default_rng(seed)
    originals = _word_ids(vocab, sentences)
    if not originals:
        raise ValueError("swap_nll_curve needs sentences of at least two words")
    nll_fn = tf.function(lambda z, t: model.backbone.sentence_nll(z, t),
                         input_signature=[tf.TensorSpec([None, model.latent_dim]), tf.TensorSpec([None, None], tf.int32)])
    curve = []
    for k in range(max_k + 1):
        perturbed = [pipeline.frame(perturb(w, k, rng)) for w in originals]
        framed = [pipeline.frame(w) for w in originals]
        total = 0.0
        for src, tgt in zip(_batches(perturbed, batch_size), _batches(framed, batch_size)):
            total += float(tf.reduce_sum(nll_fn(model.encode_ids(src), tgt)))
        tokens = sum(len(w) + 1 for w in originals)
        curve.append({"k": k, "nll_sentence": total / len(originals), "nll_token": total / tokens})
    return curve


def _cosine(a, b):
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.sum(a * b, axis=1)


def _codes(model, token_lists, batch_size=256):
    return np.concatenate([model.encode_ids(b).numpy() for b in _batches(token_lists, batch_size)])


def edit_cosine(model, vocab, sentences, max_k=3, seed=0):
    """{"by_edits": [{k, cosine}], "random_pairs": cosine}: mean cosine of codes of a sentence and
    the same sentence with k random word substitutions, k = 1..max_k, and of random pairs."""
    rng = np.random.default_rng(seed)
    originals = _word_ids(vocab, sentences, min_words=max_k + 1)
    if len(originals) < 2:
        raise ValueError(f"edit_cosine needs at least two sentences of more than {max_k} words")
    base = _codes(model, [pipeline.frame(w) for w in originals])
    rows = []
    for k in range(1, max_k + 1):
        edited = [pipeline.frame(perturb(w, k, rng, "substitute", len(vocab))) for w in originals]
        rows.append({"k": k, "cosine": float(_cosine(base, _codes(model, edited)).mean())})
    partner = (np.arange(len(base)) + 1 + rng.integers(0, len(base) - 1, len(base))) % len(base)
    return {"by_edits": rows, "random_pairs": float(_cosine(base, base[partner]).mean())}


def sigma_values(model, vocab, sentences, batch_size=256):
    """All posterior standard deviations sigma_i of a Gaussian encoder, flattened; None without one."""
    if not model.backbone.stochastic:
        return None
    out = []
    for b in _batches([pipeline.frame(w) for w in _word_ids(vocab, sentences, 1)], batch_size):
        _, log_var = model.encode_distribution(b)
        if log_var is None:  # a deterministic encoder
            return None
        out.append(np.exp(0.5 * np.asarray(log_var)).ravel())
    return np.concatenate(out)
