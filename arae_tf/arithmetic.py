"""Latent-space arithmetic on a model's codes (ARAE §6, Fig. 5): offset vectors, sentences shifted
along them, nearest neighbours, and the offset experiment's report.

    from arae_tf import arithmetic, zoo
    m = zoo.load("wae_snli")
    v = arithmetic.offset_vector(m, with_texts, without_texts)    # mean code with minus without
    m.shift(["a man is sleeping ."], v, scale=1.0)                  # decoded from z + scale * v
    arithmetic.nearest_neighbours(m, ["a dog runs ."], corpus, k=5)

Works with every text model (AE, ARAE, WAE, VAE; for Gaussian encoders, the posterior mean). For a
model that normalises its codes, a shifted code goes back onto the unit sphere before decoding.
"""

import numpy as np

from arae_tf.data.vocab import split_words


def codes(model, texts, batch=1000):
    """Codes [N, d] (float64 numpy) of `texts`, `batch` sentences per call."""
    texts = list(texts)
    if not texts:
        return np.zeros((0, model.latent_dim))
    return np.concatenate([model.encode(texts[i: i + batch]) for i in range(0, len(texts), batch)]).astype(np.float64)


def offset_vector(model, texts_with, texts_without, batch=1000):
    """The mean code of `texts_with` (sentences with an attribute) minus that of `texts_without`
    (float32 [d]). Both lists must be non-empty."""
    if not len(texts_with) or not len(texts_without):
        raise ValueError("offset_vector needs sentences with the attribute and sentences without it; one list is empty")
    return (codes(model, texts_with, batch).mean(0) - codes(model, texts_without, batch).mean(0)).astype(np.float32)


class NeighbourIndex:
    """The codes of a corpus, for nearest-neighbour queries by cosine similarity."""

    def __init__(self, model, corpus, batch=1000):
        self.model, self.texts = model, list(corpus)
        z = codes(model, self.texts, batch)
        self.unit = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)

    def query(self, texts, k=5):
        """For each of `texts`, the `k` corpus sentences with the most similar codes:
        [[(sentence, cosine), ...], ...], most similar first."""
        if not self.texts:
            raise ValueError("the neighbour index holds no sentences")
        q = codes(self.model, texts)
        q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        sims = q @ self.unit.T
        k = min(k, len(self.texts))
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        return [[(self.texts[j], float(sims[i, j])) for j in row] for i, row in enumerate(top)]


def nearest_neighbours(model, queries, corpus, k=5):
    """`NeighbourIndex(model, corpus).query(queries, k)`."""
    return NeighbourIndex(model, corpus).query(queries, k)


def attribute_report(sources, outputs, word):
    """How an offset moved attribute `word` (ARAE Fig. 5's measure): the share of `sources` and of
    `outputs` that contain the word, and the share of each source's other words that its output
    keeps (order-free, as a multiset)."""
    if len(sources) != len(outputs):
        raise ValueError(f"{len(sources)} sources but {len(outputs)} outputs")
    has = lambda t: word in split_words(t)
    kept = []
    for s, o in zip(sources, outputs):
        rest = [w for w in split_words(s) if w != word]
        out = split_words(o)
        hits = 0
        for w in rest:
            if w in out:
                out.remove(w)
                hits += 1
        kept.append(hits / len(rest) if rest else 1.0)
    n = max(len(sources), 1)
    return {"sentences": len(sources), "word": word, "with_word_before": sum(map(has, sources)) / n,
            "with_word_after": sum(map(has, outputs)) / n, "other_words_kept": float(np.mean(kept)) if kept else 0.0}


def offset_experiment(model, corpus, word, n=1000, scale=1.0, max_len=20, seed=0):
    """ARAE Fig. 5 on `corpus`: the offset from sentences without `word` to sentences with it (at most
    `n` of each, drawn with `seed`), applied to `n` sentences without the word. Returns (report,
    examples): `attribute_report` plus the counts and scale, and the first 10 (source, shifted) pairs."""
    rng = np.random.default_rng(seed)
    texts = list(corpus)
    with_word = [t for t in texts if word in split_words(t)]
    without = [t for t in texts if word not in split_words(t)]
    if not with_word or not without:
        raise ValueError(f"the corpus needs sentences with and without {word!r}: {len(with_word)} with, "
                         f"{len(without)} without")
    pick = lambda xs, m: [xs[i] for i in rng.permutation(len(xs))[:m]]
    offset = offset_vector(model, pick(with_word, n), pick(without, n))
    sources = pick(without, n)
    outputs = model.shift(sources, offset, scale=scale, max_len=max_len)
    report = attribute_report(sources, outputs, word)
    report.update(scale=scale, offset_norm=float(np.linalg.norm(offset)), with_word_in_corpus=len(with_word))
    return report, list(zip(sources[:10], outputs[:10]))


def offset_table(model, corpus, words, scales=(1.0,), n=1000, max_len=20, seed=0, examples_per_row=3):
    """The offset experiment for every word and scale, as Markdown: one table row each (sentences,
    share with the word before and after, other words kept), then a few examples per row."""
    rows, shown = [], []
    for word in words:
        for scale in scales:
            r, ex = offset_experiment(model, corpus, word, n=n, scale=scale, max_len=max_len, seed=seed)
            rows.append(f"| {word} | {scale:g} | {r['sentences']} | {r['with_word_before']:.3f} | "
                        f"{r['with_word_after']:.3f} | {r['other_words_kept']:.3f} | {r['offset_norm']:.3f} |")
            shown += [f"- **{word}** ×{scale:g}: {s} → {o}" for s, o in ex[:examples_per_row]]
    head = ["| word | scale | sentences | with the word before | after | other words kept | ‖offset‖ |",
            "|---|---|---|---|---|---|---|"]
    return "\n".join(head + rows + ["", "Examples (source → shifted):", ""] + shown) + "\n"


def corpus_sentences(config, split="test"):
    """The sentences (no labels) of a config's `split`."""
    from arae_tf.data.sources import load_examples
    return [t for t, _ in load_examples(config.data, split)]
