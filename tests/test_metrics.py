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
