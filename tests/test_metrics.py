import math
import os

import pytest

from arae_tf.metrics import corpus_bleu
from arae_tf.metrics import distribution as d
from tests.conftest import SHARED_DATA


def test_bleu_identical_is_100_and_signature_recorded():
    refs = ["the food was great .", "our waiter was very rude and slow ."]
    out = corpus_bleu(refs, refs)
    assert out["score"] == pytest.approx(100.0)
    assert "tok:none" in out["signature"] and "version:" in out["signature"]
    assert corpus_bleu(["a b c d"], ["e f g h"])["score"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="1 hypotheses but 2 references"):
        corpus_bleu(["a"], refs)


def test_bleu_by_length_groups_by_the_references_words():
    from arae_tf.evaluation.reconstruction import bleu_by_length
    short = ["a b c d e", "f g h i j k"]
    long_ = [" ".join(f"w{i}" for i in range(n)) for n in (16, 20)]
    hyps = short + ["x y z"] * 2  # the short ones reconstructed exactly, the long ones not at all
    rows = bleu_by_length(hyps, short + long_)
    assert [r["words"] for r in rows] == ["1-10", "16+"]  # no 11-15 sentence: that bucket is left out
    assert rows[0]["sentences"] == 2 and rows[0]["avg_words"] == 5.5 and rows[0]["bleu"] == pytest.approx(100)
    assert rows[1]["sentences"] == 2 and rows[1]["avg_words"] == 18 and rows[1]["bleu"] == pytest.approx(0)
    with pytest.raises(ValueError, match="3 hypotheses but 4 references"):
        bleu_by_length(hyps[:3], short + long_)


def test_unigram_kl_zero_for_identical_and_hand_value():
    corpus = ["a b", "a c"]
    assert d.unigram_kl(corpus, corpus, alpha=0) == pytest.approx(0.0, abs=1e-12)
    assert d.unigram_kl(corpus, corpus, alpha=1e-9) == pytest.approx(0.0, abs=1e-6)
    # gen: a a, empirical p = (a: 1); corpus a b smoothed over {a, b} with alpha 1: q(a) = 2/4.
    assert d.unigram_kl(["a a"], ["a b"]) == pytest.approx(math.log(2))
    # A generated word absent from the corpus is counted, not dropped.
    assert d.unigram_kl(["a zzz"], ["a b"]) > d.unigram_kl(["a b"], ["a b"])
    # reverse: corpus empirical (1/2, 1/2) against the generated words smoothed (3/4, 1/4).
    assert d.unigram_kl(["a a"], ["a b"], reverse=True) == pytest.approx(
        0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25))
    with pytest.raises(ValueError, match="alpha must be > 0"):
        d.unigram_kl(["a zzz"], ["a b"], alpha=0)


@pytest.mark.skipif(not os.path.isdir(os.path.join(SHARED_DATA, "snli")), reason="needs ../shared/data/snli")
def test_unigram_kl_tells_real_text_from_a_degenerate_model():
    """Real held-out SNLI sentences score ~0.24 at 1,000 and ~0.10 at 5,000 against the training corpus
    (the plug-in estimate's small-sample bias); a degenerate 'model' repeating a few corpus sentences
    scores far above real text at the same count. The old definition (generated side smoothed too)
    scored real text at 1.31, as badly as every model."""
    read = lambda f: open(os.path.join(SHARED_DATA, "snli", f), encoding="utf-8").read().splitlines()
    train, valid = read("train.txt"), read("valid.txt")
    counts = d.unigram_counts(train)  # counted once; counts measure as the sentences do (tested below)
    at_1k = d.matched_unigram_kl(valid, valid, counts, 1000)
    at_5k = d.matched_unigram_kl(valid, valid, counts, 5000)
    assert at_1k["unigram_kl_n"] == 1000 and at_5k["unigram_kl_n"] == 5000
    assert 0.18 < at_1k["unigram_kl_real"] < 0.32 and 0.06 < at_5k["unigram_kl_real"] < 0.14
    assert at_5k["unigram_kl_real"] < at_1k["unigram_kl_real"]
    degenerate = [train[i % 20] for i in range(1000)]
    m = d.matched_unigram_kl(degenerate, valid, counts, 1000)
    assert m["unigram_kl"] > m["unigram_kl_real"] + 1.0
    # Capped at the smaller set, and a seeded subset: the same call gives the same figure.
    assert d.matched_unigram_kl(valid[:300], valid, counts, 1000)["unigram_kl_n"] == 300
    assert d.matched_unigram_kl(valid, valid, counts, 500, seed=3) == d.matched_unigram_kl(valid, valid, counts, 500,
                                                                                            seed=3)
    with pytest.raises(ValueError, match="n must be positive"):
        d.matched_unigram_kl([], valid, counts, 1000)
    # A model with the presets' vocabulary (10k, words seen >= 5 times) that wrote exactly the real
    # sentences would write their rarer words as <unk>. Raw, that token alone puts it ~0.1 above real text;
    # in the model's vocabulary it scores what real text scores there.
    from arae_tf.data.vocab import Vocabulary
    vocab = Vocabulary.build(train, max_size=10000, min_count=5)
    restrict = vocab.restrict
    as_written = restrict(valid)
    raw = d.matched_unigram_kl(as_written, valid, counts, 5000)
    assert raw["unigram_kl"] > raw["unigram_kl_real"] + 0.05
    iv = d.in_vocabulary_unigram_kl(as_written, valid, counts, restrict, 5000)
    assert iv["unigram_kl_vocab"] == pytest.approx(iv["unigram_kl_vocab_real"], abs=1e-9)
    assert iv["unigram_kl_vocab_real"] < raw["unigram_kl_real"]
    assert iv["corpus_entropy_vocab"] < d.unigram_entropy(counts)


def test_in_vocabulary_unigram_kl_does_not_charge_a_closed_vocabulary_for_its_unknown_token():
    """A model with the vocabulary {a, b} that writes the corpus 'a b c' perfectly writes 'a b <unk>'.
    Against the raw corpus its <unk> alone costs (1/3) log(101.3) nats; in its own vocabulary (the
    corpus and the held-out text restricted the same way) it scores 0, as real text does, and the
    corpus's entropy is the one it can reach. A model that writes the wrong words still pays."""
    restrict = lambda texts: [" ".join(w if w in ("a", "b") else "<unk>" for w in t.split()) for t in texts]
    corpus, held_out, perfect = ["a b c"] * 100, ["a b d"] * 100, ["a b <unk>"] * 100
    assert d.unigram_kl(perfect, corpus) == pytest.approx(
        2 / 3 * math.log((1 / 3) / (101 / 304)) + 1 / 3 * math.log((1 / 3) / (1 / 304)))
    m = d.in_vocabulary_unigram_kl(perfect, held_out, corpus, restrict, 100)
    assert m["unigram_kl_vocab"] == pytest.approx(0.0, abs=1e-12)
    assert m["unigram_kl_vocab_real"] == pytest.approx(0.0, abs=1e-12)  # 'd' is <unk> too
    assert m["unigram_kl_n"] == 100
    assert m["corpus_entropy_vocab"] == pytest.approx(math.log(3))
    assert d.in_vocabulary_unigram_kl(["a a a"] * 100, held_out, corpus, restrict, 100)["unigram_kl_vocab"] \
        == pytest.approx(math.log(3))


def test_a_corpus_given_as_its_word_counts_measures_as_its_sentences():
    """The corpus counted once (`unigram_counts`) gives every figure its sentences give, the
    in-vocabulary ones restricted word by word (here 'c' and 'e' become <unk>, 'c' twice)."""
    restrict = lambda texts: [" ".join(w if w in ("a", "b", "d") else "<unk>" for w in t.split()) for t in texts]
    corpus = ["a b c", "a c c d", "b e"]
    generated, held_out = ["a a b", "d <unk>", "b"], ["a d", "b c", "e e"]
    counts = d.unigram_counts(corpus)
    assert d.unigram_counts(counts) is counts
    assert d.distribution_report(generated, corpus, corpus_counts=counts) == d.distribution_report(generated, corpus)
    assert d.matched_unigram_kl(generated, held_out, counts, 3) == d.matched_unigram_kl(generated, held_out, corpus, 3)
    by_words = d.in_vocabulary_unigram_kl(generated, held_out, counts, restrict, 3)
    by_sentences = d.in_vocabulary_unigram_kl(generated, held_out, corpus, restrict, 3)
    assert by_words == pytest.approx(by_sentences, rel=1e-12)
    # restricted corpus: a 2, b 2, <unk> 4, d 1 of 9 words
    assert by_words["corpus_entropy_vocab"] == pytest.approx(
        -(2 * 2 / 9 * math.log(2 / 9) + 4 / 9 * math.log(4 / 9) + 1 / 9 * math.log(1 / 9)))


def test_entropy_length_and_distinct():
    assert d.unigram_entropy(["a b c d"]) == pytest.approx(math.log(4))
    assert d.unigram_entropy(["a a"]) == 0.0
    assert d.average_length(["a b", "a b c d"]) == 3.0
    sents = ["a b a", "a b c"]
    # unigrams: a b a a b c -> distinct {a, b, c} = 3 of 6
    assert d.distinct_n(sents, 1) == pytest.approx(3 / 6)
    # bigrams within sentences: (a b) (b a) | (a b) (b c) -> distinct 3 of 4 (no (a a) across the boundary)
    assert d.distinct_n(sents, 2) == pytest.approx(3 / 4)
    assert d.distinct_sentences(["x", "x", "y", "z"]) == 0.75
    assert d.copied_share(["x", "y", "q", "r"], ["x", "y", "z"]) == 0.5


def test_report_keys():
    r = d.distribution_report(["a b", "c"], ["a b", "a c"])
    assert set(r) >= {"unigram_kl", "entropy", "avg_len", "dist1", "dist2", "distinct_sentences", "copied_share"}


def _unigram_ppl(train, test, vocab):
    """Perplexity of `test` under the add-one unigram model of `train` (words + <eos>, LM vocabulary)."""
    import collections
    ids = lambda s: vocab.encode(s) + [3]
    counts = collections.Counter(i for s in train for i in ids(s))
    z = sum(counts.values()) + len(vocab)
    nll = [-math.log((counts[i] + 1) / z) for s in test for i in ids(s)]
    return math.exp(sum(nll) / len(nll))


def test_reference_lm_beats_unigram_and_caches(tmp_path):
    from arae_tf.data import synthetic
    from arae_tf.data.vocab import Vocabulary
    from arae_tf.metrics import lm as lm_lib
    train = [t for t, _ in synthetic.generate(3000, 2, seed=0)]
    test = [t for t, _ in synthetic.generate(300, 2, seed=1)]
    vocab = Vocabulary.build(train)
    settings = lm_lib.LMSettings(embed_dim=16, hidden_dim=32, epochs=6, learning_rate=5e-3, max_len=12)
    lm = lm_lib.cached_lm(str(tmp_path / "lm"), train, vocab, settings)
    ppl = lm_lib.perplexity(lm, test, vocab)
    unigram = _unigram_ppl(train, test, vocab)
    assert ppl < 0.5 * unigram, (ppl, unigram)
    # Cached: same settings and vocabulary load the same weights instead of retraining.
    again = lm_lib.cached_lm(str(tmp_path / "lm"), [], vocab, settings)
    assert lm_lib.perplexity(again, test, vocab) == pytest.approx(ppl, rel=1e-6)
    # Forward PPL: template sentences are far more likely than shuffled words.
    scrambled = [" ".join(reversed(s.split())) for s in test]
    assert lm_lib.forward_ppl(scrambled, lm, vocab) > 3 * lm_lib.forward_ppl(test, lm, vocab)


def test_reverse_ppl_pipeline_end_to_end():
    from arae_tf.data import synthetic
    from arae_tf.data.vocab import Vocabulary
    from arae_tf.metrics import lm as lm_lib
    real = [t for t, _ in synthetic.generate(1000, 2, seed=0)]
    heldout = [t for t, _ in synthetic.generate(200, 2, seed=1)]
    vocab = Vocabulary.build(real)
    settings = lm_lib.LMSettings(embed_dim=16, hidden_dim=32, epochs=2, max_len=12)
    good = lm_lib.reverse_ppl(real, heldout, vocab, settings)  # "generated" = real samples
    collapsed = lm_lib.reverse_ppl(["the food was great ."] * 1000, heldout, vocab, settings)  # mode collapse
    assert math.isfinite(good) and good < collapsed


def test_lm_trains_a_fixed_number_of_steps():
    """LMSettings.steps: exactly that many batches whatever the corpus size (data repeated)."""
    from arae_tf.data import synthetic
    from arae_tf.data.vocab import Vocabulary
    from arae_tf.metrics import lm as lm_lib
    texts = [t for t, _ in synthetic.generate(300, seed=0)]
    vocab = Vocabulary.build(texts)
    lm = lm_lib.train_lm(texts, vocab, lm_lib.LMSettings(embed_dim=8, hidden_dim=8, batch_size=16, steps=70),
                         verbose=False)
    assert int(lm.optimizer.iterations.numpy()) == 70  # > one pass of 19 batches
