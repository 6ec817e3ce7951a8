import os

import numpy as np
import pytest
import tensorflow as tf

from arae_tf.data.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Vocabulary, VocabularyError
from tests.conftest import SHARED_DATA


def test_specials_and_frequency_order():
    v = Vocabulary.build(["b a a", "c a b"], min_count=1)
    assert v.tokens[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert v.words == ["a", "b", "c"]  # by count, ties alphabetical
    assert v.encode("a zzz c", add_bos=True, add_eos=True) == [BOS_ID, 4, UNK_ID, 6, EOS_ID]


def test_restrict_writes_text_as_the_model_can():
    v = Vocabulary.build(["b a a", "c a b"], min_count=1)
    assert v.restrict(["A  zzz c", "", "a b"]) == ["a <unk> c", "", "a b"]
    assert v.restrict(v.restrict(["a zzz yyy"])) == ["a <unk> <unk>"]  # idempotent
    with pytest.raises(TypeError, match="list of sentences"):
        v.restrict("a b")
    with pytest.raises(TypeError, match="list of sentences, got one bytes"):
        v.restrict(b"a b")


def test_restrict_keeps_special_token_spellings_as_unk():
    """A word spelled like a special token neither ends the sentence (`<eos>`) nor vanishes (`<pad>`,
    `<bos>`): the model cannot write it, so it is `<unk>`, one word for one word."""
    v = Vocabulary.build(["b a a", "c a b"], min_count=1)
    assert v.restrict(["a <eos> b", "<pad> c <bos>", "<unk> a"]) == ["a <unk> b", "<unk> c <unk>", "<unk> a"]


def test_restrict_case_follows_the_vocabulary():
    cased = Vocabulary.build(["The cat", "the dog"], min_count=1, lowercase=False)
    assert cased.restrict(["The dog", "THE cat"]) == ["The dog", "<unk> cat"]
    lower = Vocabulary.build(["The cat", "the dog"], min_count=1)
    assert lower.restrict(["THE Dog"]) == ["the dog"]


def test_max_size_and_min_count():
    v = Vocabulary.build(["a a a b b c"], max_size=6, min_count=1)
    assert v.words == ["a", "b"]
    v = Vocabulary.build(["a a a b b c"], min_count=2)
    assert v.words == ["a", "b"]


def test_save_load_round_trip(tmp_path, vocab):
    p = str(tmp_path / "vocabulary.txt")
    vocab.save(p)
    assert Vocabulary.load(p) == vocab
    assert not os.path.exists(p + ".tmp")


def test_decode_stops_at_eos(vocab):
    ids = vocab.encode("the food was great .", add_bos=True, add_eos=True) + [PAD_ID, PAD_ID]
    assert vocab.decode(ids) == "the food was great ."
    assert vocab.decode([4, EOS_ID, 5]) == vocab.tokens[4]


def _yelp_lines(n=400):
    lines = []
    for name in ("valid.0.txt", "valid.1.txt"):
        with open(os.path.join(SHARED_DATA, "yelp", name), encoding="utf-8") as f:
            lines += [next(f).rstrip("\n") for _ in range(n // 2)]
    return lines


@pytest.mark.parametrize("lowercase", [True, False])
def test_python_and_graph_tokenization_identical(lowercase):
    lines = _yelp_lines()
    vocab = Vocabulary.build(lines[:200], lowercase=lowercase)  # the rest has OOV words
    extra = ["Café  DÉJÀ vu\tTabs and   spaces", "", "UPPER lower MiXeD", "ünïcödé wörds ß"]
    texts = lines + extra
    ragged = vocab.tokenize_graph(tf.constant(texts))
    graph_ids = [row.tolist() for row in ragged.numpy()]
    assert graph_ids == [vocab.encode(t) for t in texts]
    assert any(UNK_ID in ids for ids in graph_ids)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def compiled(t):
        return vocab.tokenize_graph(t).to_tensor()
    dense = compiled(tf.constant(texts)).numpy()
    for row, ids in zip(dense, graph_ids):
        assert row[: len(ids)].tolist() == ids and not row[len(ids):].any()


def test_graph_detokenize_matches_python(vocab):
    ids = np.array([vocab.encode("the food was great .", add_bos=True, add_eos=True) + [PAD_ID],
                    vocab.encode("our waiter is rude", add_eos=True) + [9, 9, 9]], np.int32)
    out = vocab.detokenize_graph(ids).numpy()
    assert [o.decode() for o in out] == [vocab.decode(r) for r in ids]


def test_bad_vocabulary_files(tmp_path):
    p = tmp_path / "v.txt"
    p.write_text("a\nb\n")
    with pytest.raises(VocabularyError, match="first four lines"):
        Vocabulary.load(str(p))
    p.write_text("<pad>\n<unk>\n<bos>\n<eos>\nok\nbad word\n")
    with pytest.raises(VocabularyError, match="line 6"):
        Vocabulary.load(str(p))
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        Vocabulary.load(str(tmp_path / "nope.txt"))


def test_vocabulary_checkpoint_mismatch(vocab):
    with pytest.raises(VocabularyError, match="does not belong to this checkpoint"):
        vocab.check_size(len(vocab) + 3)
