import numpy as np
import pytest

from arae_tf.data import pipeline, synthetic
from arae_tf.data.vocab import BOS_ID, EOS_ID, Vocabulary


def _write(path, content, mode="w"):
    with open(path, mode) as f:
        f.write(content)
    return str(path)


def test_read_files_labels_by_file(tmp_path):
    a = _write(tmp_path / "train.0.txt", "bad food .\n\nawful .\n")
    b = _write(tmp_path / "train.1.txt", "great food .\n")
    assert pipeline.read_files([a, b], num_classes=2) == [("bad food .", 0), ("awful .", 0), ("great food .", 1)]


def test_read_tsv_label_column(tmp_path):
    p = _write(tmp_path / "d.tsv", "1\tgood .\n0\tbad .\n")
    assert pipeline.read_text_file(p, label_column=0, text_column=1, num_classes=2) == [("good .", 1), ("bad .", 0)]


def test_label_out_of_range_names_file_and_line(tmp_path):
    p = _write(tmp_path / "d.tsv", "1\tgood .\n0\tfine .\n2\tthird class .\n")
    with pytest.raises(pipeline.DataError, match=r"d\.tsv, line 3: label 2 outside the class range 0\.\.1"):
        pipeline.read_text_file(p, label_column=0, text_column=1, num_classes=2)
    # Labels by file index: a third file is class 2, outside 0..1.
    files = [_write(tmp_path / f"train.{i}.txt", "\nsome text .\n") for i in range(3)]
    with pytest.raises(pipeline.DataError, match=r"train\.2\.txt, line 2: label 2 outside"):
        pipeline.read_files(files, num_classes=2)


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        pipeline.read_text_file(str(tmp_path / "missing.txt"))
    empty = _write(tmp_path / "empty.txt", "\n  \n")
    with pytest.raises(pipeline.DataError, match="empty.txt: file is empty"):
        pipeline.read_text_file(empty)
    bad = _write(tmp_path / "bad.txt", b"fine line\nalso fine\nbroken \xff\xfe bytes\n", mode="wb")
    with pytest.raises(pipeline.DataError, match=r"bad\.txt, line 3: not valid UTF-8"):
        pipeline.read_text_file(bad)
    short = _write(tmp_path / "short.tsv", "1\tgood\nnocolumns\n")
    with pytest.raises(pipeline.DataError, match=r"short\.tsv, line 2: expected at least 2"):
        pipeline.read_text_file(short, label_column=0, text_column=1)
    nonint = _write(tmp_path / "nonint.tsv", "x\tgood\n")
    with pytest.raises(pipeline.DataError, match=r"nonint\.tsv, line 1: label 'x' is not an integer"):
        pipeline.read_text_file(nonint, label_column=0, text_column=1)


def test_batches_have_bos_eos_padding_and_labels(examples, vocab):
    ds = pipeline.make_dataset(examples, vocab, batch_size=16, max_len=12, shuffle=False, bucket=False)
    batch = next(iter(ds))
    toks, labels = batch["tokens"].numpy(), batch["label"].numpy()
    assert toks.shape[0] == 16 and labels.tolist() == [y for _, y in examples[:16]]
    for row, (text, _) in zip(toks, examples[:16]):
        ids = vocab.encode(text)
        assert row[0] == BOS_ID and row[len(ids) + 1] == EOS_ID
        assert row[1: len(ids) + 1].tolist() == ids and not row[len(ids) + 2:].any()


def test_length_policy(vocab):
    ex = [("the food was great .", 0), ("the food was very great and good .", 1)]
    seqs, labels = pipeline.encode_examples(ex, vocab, max_len=5, length_policy="filter")
    assert len(seqs) == 1 and labels.tolist() == [0]
    seqs, _ = pipeline.encode_examples(ex, vocab, max_len=5, length_policy="truncate")
    assert [len(s) for s in seqs] == [7, 7]
    with pytest.raises(pipeline.DataError, match="no examples left"):
        pipeline.encode_examples(ex, vocab, max_len=2)


def test_bucketing_reduces_padding_and_keeps_every_sentence(examples, vocab):
    def stats(bucket):
        ds = pipeline.make_dataset(examples, vocab, batch_size=16, max_len=12, seed=3, bucket=bucket)
        real = pad = n = 0
        for b in ds:
            t = b["tokens"].numpy()
            real += (t != 0).sum()
            pad += (t == 0).sum()
            n += len(t)
        return n, real, pad
    n_b, real_b, pad_b = stats(True)
    n_p, real_p, pad_p = stats(False)
    assert n_b == n_p == len(examples) and real_b == real_p
    assert pad_b < 0.5 * pad_p


def test_static_shapes_give_one_batch_shape(examples, vocab):
    ds = pipeline.make_dataset(examples, vocab, batch_size=16, max_len=12, seed=3, static_shapes=True)
    assert ds.element_spec["tokens"].shape.as_list() == [16, 14] and ds.element_spec["label"].shape.as_list() == [16]
    batches = list(ds)
    assert len(batches) == len(examples) // 16  # the partial last batch is dropped
    t = batches[0]["tokens"].numpy()
    assert (t[:, 0] == BOS_ID).all() and ((t == EOS_ID).sum(axis=1) == 1).all()


def test_seeded_shuffle_is_deterministic(examples, vocab):
    first = lambda seed: next(iter(pipeline.make_dataset(examples, vocab, 8, 12, seed=seed)))["tokens"].numpy()
    np.testing.assert_array_equal(first(1), first(1))
    assert not np.array_equal(first(1), first(2))


def test_tfds_loaders_offline_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=12):
        snli = pipeline.tfds_examples("snli", "train")
        yelp = pipeline.tfds_examples("yelp_polarity_reviews", "train")
    assert snli and all(isinstance(t, str) and y == 0 for t, y in snli)
    assert len(yelp) == 12 and {y for _, y in yelp} <= {0, 1}
    vocab = Vocabulary.build(t for t, _ in snli + yelp)
    ds = pipeline.make_dataset(yelp, vocab, 4, max_len=10_000, length_policy="truncate")
    assert sum(len(b["tokens"]) for b in ds) == 12
    with pytest.raises(ValueError, match="unsupported TFDS dataset"):
        pipeline.tfds_examples("imdb_reviews", "train")


@pytest.mark.parametrize("kw", [dict(bucket=True), dict(bucket=False), dict(static_shapes=True),
                                dict(bucket=True, drop_remainder=True)])
def test_the_stream_from_a_step_is_the_uninterrupted_streams_tail(kw):
    """Resume replays exactly: `start_step=s` yields batch s, s+1, ... of the stream from 0, across
    pass boundaries; `batches_per_pass` counts the batches of every pass."""
    ex = synthetic.generate(300, num_classes=2, seed=0)
    vocab = Vocabulary.build(t for t, _ in ex)
    full = [b["tokens"].numpy() for b in pipeline.make_dataset(ex, vocab, 16, 12, seed=3, repeat=True, **kw).take(60)]
    seqs, _ = pipeline.encode_examples(ex, vocab, 12)
    per_pass = pipeline.batches_per_pass([len(s) for s in seqs], 16, 12, **kw)
    assert per_pass == len(list(pipeline.make_dataset(ex, vocab, 16, 12, seed=3, **kw)))
    for s in (1, per_pass - 1, per_pass, per_pass + 5, 2 * per_pass + 1):
        tail = pipeline.make_dataset(ex, vocab, 16, 12, seed=3, repeat=True, start_step=s, **kw).take(60 - s)
        got = [b["tokens"].numpy() for b in tail]
        assert len(got) == 60 - s and all(np.array_equal(a, b) for a, b in zip(full[s:], got)), s
    # Passes are ordered differently, each pass holds every sentence once.
    first, second = full[:per_pass], full[per_pass: 2 * per_pass]
    assert not all(np.array_equal(a, b) for a, b in zip(first, second))


def test_train_exclude_files_leave_held_out_sentences_out(tmp_path, caplog):
    import logging

    import ml_collections

    from arae_tf.data.sources import load_examples
    (tmp_path / "train.txt").write_text("a man sleeps .\na dog runs .\nthe sun is out .\n")
    (tmp_path / "held.tsv").write_text("a dog runs .\ttwo cats sit .\tneutral\n")
    d = ml_collections.ConfigDict(dict(source="files", train_files=(str(tmp_path / "train.txt"),), valid_files=(),
                                       test_files=(), num_classes=1, label_column=-1, text_column=-1,
                                       source_column=-1, train_exclude_files=(str(tmp_path / "held.tsv"),)))
    with caplog.at_level(logging.INFO, logger="absl"):
        kept = load_examples(d, "train")
    assert [t for t, _ in kept] == ["a man sleeps .", "the sun is out ."]
    assert "1 of 3 training examples" in caplog.text and "held.tsv" in caplog.text


def test_train_exclude_files_normalise_and_refuse_a_file_that_matches_nothing(tmp_path):
    import ml_collections

    from arae_tf.data.sources import load_examples
    (tmp_path / "train.txt").write_text("a man sleeps .\na dog runs .\n")
    (tmp_path / "held.txt").write_text("A  Dog runs .\n")
    (tmp_path / "other.txt").write_text("the sun is out .\n")
    d = ml_collections.ConfigDict(dict(source="files", train_files=(str(tmp_path / "train.txt"),), valid_files=(),
                                       test_files=(), num_classes=1, label_column=-1, text_column=-1,
                                       source_column=-1, lowercase=True,
                                       train_exclude_files=(str(tmp_path / "held.txt"),)))
    assert [t for t, _ in load_examples(d, "train")] == ["a man sleeps ."]
    d.train_exclude_files = (str(tmp_path / "other.txt"),)
    with pytest.raises(ValueError, match="no training example is a sentence of .*other.txt"):
        load_examples(d, "train")
