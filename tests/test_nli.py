"""Semi-supervised NLI (ARAE Table 5; arae_tf.nli): reading pairs, the classifier, the table."""

import os

import numpy as np
import pytest

from arae_tf import nli
from tests.conftest import SHARED_DATA, tiny_backbone


def test_read_pairs_names_bad_lines(tmp_path):
    p = tmp_path / "pairs.tsv"
    p.write_text("a man .\ta person .\tentailment\na dog .\ta cat .\tcontradiction\n")
    assert nli.read_pairs(str(p)) == [("a man .", "a person .", 0), ("a dog .", "a cat .", 2)]
    p.write_text("a man .\ta person .\tentailment\na dog .\ta cat .\n")
    with pytest.raises(ValueError, match=r"pairs.tsv, line 2: expected premise, hypothesis and label"):
        nli.read_pairs(str(p))
    p.write_text("a man .\ta person .\tmaybe\n")
    with pytest.raises(ValueError, match=r"line 1: label 'maybe' is not one of"):
        nli.read_pairs(str(p))


@pytest.mark.skipif(not os.path.exists(os.path.join(SHARED_DATA, "snli_nli", "test.tsv")), reason="no snli_nli")
def test_shared_pairs_read():
    pairs = nli.read_pairs(os.path.join(SHARED_DATA, "snli_nli", "test.tsv"))
    assert len(pairs) == 9824 and {y for _, _, y in pairs} == {0, 1, 2}


def _pairs(examples, n, seed):
    """A task the features make easy: entailment when the hypothesis is the premise, else contradiction."""
    rng = np.random.default_rng(seed)
    texts = [t for t, _ in examples]
    out = []
    for _ in range(n):
        a, b = rng.choice(len(texts), 2, replace=False)
        same = rng.random() < 0.5
        out.append((texts[a], texts[a] if same else texts[b], 0 if same else 2))
    return out


def test_classifier_learns_and_table_has_every_row(examples, vocab):
    trained = tiny_backbone(len(vocab))
    settings = nli.Settings(epochs=8, batch_size=32, valid_pairs=100, hidden=(32,))
    result = nli.semisupervised_table({"semi-supervised AE": trained}, vocab, _pairs(examples, 500, 0),
                                      _pairs(examples, 200, 1), sizes=(100, 400), settings=settings)
    assert list(result["rows"]) == ["supervised (encoder from scratch)", "semi-supervised AE"]
    for cells in result["rows"].values():
        assert set(cells) == {100, 400}
        assert len(cells[400]["valid_curve"]) == 8
    # Identity vs not is linear in |u - v|: with 400 pairs every row learns it.
    assert all(cells[400]["test_accuracy"] > 0.9 for cells in result["rows"].values()), result["rows"]
    text = nli.markdown(result)
    assert "| semi-supervised AE |" in text and "70.9" in text
    # The source encoder is copied, never fine-tuned in place.
    before = [w.numpy().copy() for w in trained.weights]
    nli.train_classifier(nli.copy_backbone(trained), vocab, _pairs(examples, 64, 2), _pairs(examples, 32, 3),
                         nli.Settings(epochs=1, valid_pairs=32))
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, trained.weights))


def test_pool_too_small_is_refused(examples, vocab):
    with pytest.raises(ValueError, match=r"the labelled pool has 50 pairs besides the 50 validation pairs"):
        nli.semisupervised_table({"AE": tiny_backbone(len(vocab))}, vocab, _pairs(examples, 100, 0),
                                 _pairs(examples, 10, 1), sizes=(80,), settings=nli.Settings(valid_pairs=50))


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); `make test-slow`
def test_repeated_seeds_average_the_single_seed_tables(examples, vocab):
    """Each seed of `repeated_table` is the single-seed table of that seed; cells are their mean."""
    settings = nli.Settings(epochs=2, batch_size=32, valid_pairs=50, hidden=(16,), seed=3)
    args = ({"semi-supervised AE": tiny_backbone(len(vocab))}, vocab, _pairs(examples, 200, 0), _pairs(examples, 100, 1))
    result = nli.repeated_table(*args, sizes=(100,), settings=settings, repeats=2)
    assert result["seeds"] == [3, 4]
    import dataclasses
    second = nli.semisupervised_table(*args, sizes=(100,), settings=dataclasses.replace(settings, seed=4))
    for name, cells in result["rows"].items():
        accs = cells[100]["test_accuracies"]
        assert accs[1] == second["rows"][name][100]["test_accuracy"]
        assert cells[100]["test_accuracy"] == pytest.approx(np.mean(accs))
        assert cells[100]["std"] == pytest.approx(np.std(accs, ddof=1))
    text = nli.markdown(result)
    assert "mean ± standard deviation over seeds 3, 4" in text and " ± " in text.splitlines()[2]
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        nli.repeated_table(*args, sizes=(100,), settings=settings, repeats=0)
