import math

import pytest

from arae_tf.metrics import corpus_bleu
from arae_tf.metrics import distribution as d


def test_bleu_identical_is_100_and_signature_recorded():
    refs = ["the food was great .", "our waiter was very rude and slow ."]
    out = corpus_bleu(refs, refs)
    assert out["score"] == pytest.approx(100.0)
    assert "tok:none" in out["signature"] and "version:" in out["signature"]
    assert corpus_bleu(["a b c d"], ["e f g h"])["score"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="1 hypotheses but 2 references"):
        corpus_bleu(["a"], refs)


def test_unigram_kl_zero_for_identical_and_hand_value():
    corpus = ["a b", "a c"]
    assert d.unigram_kl(corpus, corpus) == pytest.approx(0.0, abs=1e-12)
    # gen: a a (2 tokens) ; corpus: a b (2 tokens); vocab {a, b}, alpha 1:
    # p = (3/4, 1/4), q = (2/4, 2/4): KL = 3/4 ln(3/2) + 1/4 ln(1/2)
    assert d.unigram_kl(["a a"], ["a b"]) == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5))
    # A generated word absent from the corpus is counted, not dropped.
    assert d.unigram_kl(["a zzz"], ["a b"]) > d.unigram_kl(["a b"], ["a b"])
    assert d.unigram_kl(["a a"], ["a b"], reverse=True) == pytest.approx(
        0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25))


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
