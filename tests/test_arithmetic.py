"""Latent arithmetic (ARAE Fig. 5): offset vectors, shifted sentences, nearest neighbours."""

import numpy as np
import pytest

from arae_tf import arithmetic
from arae_tf.data import synthetic
from tests.conftest import tiny_ae, tiny_arae


@pytest.fixture(scope="module")
def model(vocab):
    m = tiny_arae(len(vocab), compile=False)
    m.vocabulary = vocab
    return m


def test_the_offset_is_the_difference_of_mean_codes(model, examples):
    pos = [t for t, y in examples if y == 1][:40]
    neg = [t for t, y in examples if y == 0][:30]
    v = arithmetic.offset_vector(model, pos, neg)
    assert v.shape == (model.latent_dim,) and v.dtype == np.float32
    assert np.allclose(v, model.encode(pos).mean(0) - model.encode(neg).mean(0), atol=1e-6)
    with pytest.raises(ValueError, match="one list is empty"):
        arithmetic.offset_vector(model, pos, [])


def test_a_shift_decodes_the_moved_code_back_on_the_sphere(model, examples):
    texts = [t for t, _ in examples[:8]]
    v = np.linspace(-1, 1, model.latent_dim).astype(np.float32)
    assert model.shift(texts, v, scale=0.0) == model.reconstruct(texts)
    z = model.encode(texts) + 0.7 * v
    z /= np.linalg.norm(z, axis=1, keepdims=True)  # the ARAE normalises its codes
    assert model.shift(texts, v, scale=0.7) == model.decode(z)
    with pytest.raises(ValueError, match="shape"):
        model.shift(texts, v[:3])
    with pytest.raises(ValueError, match="scale"):
        model.shift(texts, v, scale=float("nan"))


def test_a_model_without_normalised_codes_shifts_linearly(vocab, examples):
    m = tiny_ae(len(vocab), compile=False)
    m.backbone.normalize_code = False
    m.vocabulary = vocab
    texts = [t for t, _ in examples[:5]]
    v = np.ones(m.latent_dim, np.float32)
    assert m.shift(texts, v, scale=2.0) == m.decode(m.encode(texts) + 2.0 * v)


def test_each_corpus_sentence_is_its_own_nearest_neighbour(model):
    corpus = sorted({t for t, _ in synthetic.generate(300, num_classes=2, seed=5)})[:100]
    index = arithmetic.NeighbourIndex(model, corpus)
    got = index.query(corpus[:10], k=3)
    assert len(got) == 10 and all(len(r) == 3 for r in got)
    for q, row in zip(corpus[:10], got):
        assert row[0][1] == pytest.approx(1.0, abs=1e-5)
        assert model.encode([row[0][0]]) == pytest.approx(model.encode([q]), abs=1e-5)  # itself, or a same-code twin
        assert [c for _, c in row] == sorted((c for _, c in row), reverse=True)


def test_the_attribute_report_counts_by_hand():
    r = arithmetic.attribute_report(["a dog runs .", "a cat sleeps ."], ["a dog runs fast .", "the cat sleeps ."], "dog")
    assert r["with_word_before"] == 0.5 and r["with_word_after"] == 0.5
    assert r["other_words_kept"] == pytest.approx((3 / 3 + 3 / 4) / 2)


def test_an_offset_moves_the_sentiment_of_the_built_in_corpus(builtin_run):
    """Trained ARAE (the shared built-in run): the offset from negative to positive sentences turns
    negative sentences positive and keeps their subject."""
    from arae_tf.workdir import load_trained
    model, _, _ = load_trained(builtin_run[0])
    data = synthetic.generate(2000, num_classes=2, seed=7)
    pos, neg = [t for t, y in data if y == 1], [t for t, y in data if y == 0]
    v = arithmetic.offset_vector(model, pos[:500], neg[:500])
    sources = neg[500:700]
    # Measured on one CPU: positive share 0.0 / 0.80 / 1.0 at scales 0 / 1 / 2, subjects all kept.
    for scale, want in ((0.0, None), (1.0, 0.5), (2.0, 0.9)):
        out = model.shift(sources, v, scale=scale)
        positive = np.mean([synthetic.label_of(o) == 1 for o in out])
        kept = np.mean([s.split()[:2] == o.split()[:2] for s, o in zip(sources, out)])
        if want is None:
            assert positive <= 0.05, positive
        else:
            assert positive >= want and kept >= 0.8, (scale, positive, kept)


def test_the_offsets_binary_on_the_shipped_snli_preset(tmp_path):
    """python -m arae_tf.offsets: the Markdown table for a preset, on its recorded test split."""
    import subprocess
    import sys
    from tests.conftest import REPO
    out = tmp_path / "offsets.md"
    r = subprocess.run([sys.executable, "-m", "arae_tf.offsets", "--model=wae_snli", "--word=dog", "--scale=0",
                        "--scale=2", "--n=200", f"--out={out}"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [l.split(" | ") for l in out.read_text().splitlines() if l.startswith("| dog |")]
    assert [row[1] for row in rows] == ["0", "2"]
    before, after = float(rows[1][3]), float(rows[1][4])
    assert before == 0.0 and after > float(rows[0][4])  # the offset brings the word in
    bad = subprocess.run([sys.executable, "-m", "arae_tf.offsets", "--word=dog"], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode != 0 and "exactly one of --model" in bad.stderr
