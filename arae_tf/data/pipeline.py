"""Reading corpora and turning them into `tf.data` pipelines of padded token batches.

An *example* is a `(text, label)` pair; encoder-decoder (dialog) data uses `Example`, a
`(text, label)` pair that also carries the encoder's input as `.source` (a context utterance
for the reply `text`). Sources:

* plain text files, one sentence per line, labelled per file (`train.0.txt`,
  `train.1.txt`, ...) or per tab-separated column (`read_text_file`);
* tensorflow-datasets by name (`tfds_examples`; `snli`, `yelp_polarity_reviews`);
* the built-in synthetic corpus (`arae_tf.data.synthetic`).

`make_dataset` tokenizes once (Python `Vocabulary.encode`, identical to the
in-graph tokenizer), applies the length policy, orders each pass by a seeded
stateless permutation, buckets by length and yields dicts `{"tokens": int32[B, T], "label": int32[B]}` where
`tokens` is `<bos> w1 .. wn <eos>` right-padded with `<pad>` (0). The padding
mask is `tokens != 0`. Examples with sources add `"source": int32[B, S]`, encoded the same way.
"""

import os

import numpy as np
import tensorflow as tf

from arae_tf.data.vocab import BOS_ID, EOS_ID


class DataError(ValueError):
    """Bad input data; the message names the file and line."""


class Example(tuple):
    """A `(text, label)` pair with the encoder's input `source` (encoder-decoder data).

    It unpacks and compares as the pair, so code written for `(text, label)` examples keeps working."""

    def __new__(cls, text, label, source):
        self = super().__new__(cls, (text, label))
        self.source = source
        return self

    def __repr__(self):
        return f"Example({self[0]!r}, {self[1]!r}, source={self.source!r})"


def source_of(example):
    """The encoder input of an example: its `source` where it has one, else its text."""
    return getattr(example, "source", None) or example[0]


def has_sources(examples):
    return any(getattr(e, "source", None) is not None for e in examples)


def read_text_file(path, label=0, label_column=None, text_column=None, num_classes=None, source_column=None):
    """Reads one sentence per line.

    Args:
        path: UTF-8 text file.
        label: the label of every line (per-file labelling), ignored with `label_column`.
        label_column / text_column: for tab-separated files, the columns holding
            an integer label and the text.
        num_classes: if given, labels outside `0..num_classes-1` are an error.
        source_column: for tab-separated pairs, the column holding the encoder's input
            (`Example.source`; e.g. the context of a dialog reply in `text_column`).
    Returns:
        list of (text, label), `Example`s with `source_column`. Blank lines are skipped.
    Raises:
        FileNotFoundError, DataError (empty file, undecodable bytes, bad label), naming file and line.
    """
    if source_column is not None and text_column is None and label_column is None:
        raise ValueError("source_column needs text_column (which column holds the text)")
    if not os.path.exists(path):
        raise FileNotFoundError(f"data file not found: {path}")
    out = []
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise DataError(f"{path}, line {lineno}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
            if not line.strip():
                continue
            y, source = label, None
            if label_column is not None or text_column is not None or source_column is not None:
                cols = line.split("\t")
                need = max(c for c in (label_column, text_column, source_column) if c is not None)
                if len(cols) <= need:
                    raise DataError(f"{path}, line {lineno}: expected at least {need + 1} tab-separated columns, got {len(cols)}")
                if label_column is not None:
                    try:
                        y = int(cols[label_column])
                    except ValueError:
                        raise DataError(f"{path}, line {lineno}: label {cols[label_column]!r} is not an integer") from None
                if source_column is not None:
                    source = cols[source_column]
                    if not source.strip():
                        raise DataError(f"{path}, line {lineno}: empty source (column {source_column})")
                line = cols[text_column if text_column is not None else (1 - label_column)]
            if num_classes is not None and not 0 <= y < num_classes:
                raise DataError(f"{path}, line {lineno}: label {y} outside the class range 0..{num_classes - 1}")
            out.append((line, y) if source is None else Example(line, y, source))
    if not out:
        raise DataError(f"{path}: file is empty (no non-blank lines)")
    return out


def read_files(paths, num_classes=None, label_column=None, text_column=None, source_column=None):
    """Reads several files; without `label_column`, the file's index in `paths` is its label."""
    if isinstance(paths, str):
        paths = [paths]
    examples = []
    for i, p in enumerate(paths):
        examples += read_text_file(p, label=i, label_column=label_column, text_column=text_column,
                                   num_classes=num_classes, source_column=source_column)
    return examples


# Which text/label features to read from a TFDS dataset.
TFDS_FIELDS = {
    "snli": (("premise", "hypothesis"), None),
    "yelp_polarity_reviews": (("text",), "label"),
}


def tfds_examples(name, split, data_dir=None, max_examples=None, download=False):
    """Examples from a tensorflow-datasets dataset (text lowercased as the papers' corpora are).

    The dataset must already be prepared in `data_dir` unless `download=True`
    (which needs internet). For `snli`, premises and hypotheses are both used
    (deduplicated) and labelled 0; for `yelp_polarity_reviews` the label is the polarity.
    """
    import tensorflow_datasets as tfds

    if name not in TFDS_FIELDS:
        raise ValueError(f"unsupported TFDS dataset {name!r}; known: {sorted(TFDS_FIELDS)}")
    text_keys, label_key = TFDS_FIELDS[name]
    ds = tfds.load(name, split=split, data_dir=data_dir, download=download)
    seen, out = set(), []
    for ex in tfds.as_numpy(ds):
        y = int(ex[label_key]) if label_key else 0
        for k in text_keys:
            t = ex[k].decode("utf-8").lower().strip()
            if t and (label_key or t not in seen):
                seen.add(t)
                out.append((t, y))
        if max_examples and len(out) >= max_examples:
            break
    if not out:
        raise DataError(f"TFDS dataset {name}[{split}] gave no examples")
    return out[:max_examples] if max_examples else out


def encode_examples(examples, vocab, max_len, length_policy="filter", with_sources=False):
    """Tokenizes and applies the length policy (to the text and, for `Example`s, to the source too).

    Returns (list of id arrays with bos/eos, labels array), and the sources' id arrays third with
    `with_sources` (each example's text where it has no source)."""
    if length_policy not in ("filter", "truncate"):
        raise ValueError(f"length_policy must be 'filter' or 'truncate', got {length_policy!r}")

    def ids_of(text):
        ids = vocab.encode(text)
        if not ids or (len(ids) > max_len and length_policy == "filter"):
            return None
        return np.asarray(frame(ids[:max_len]), np.int32)

    seqs, labels, sources = [], [], []
    for ex in examples:
        ids = ids_of(ex[0])
        src = ids_of(source_of(ex)) if with_sources else ids
        if ids is None or src is None:
            continue
        seqs.append(ids)
        labels.append(ex[1])
        sources.append(src)
    if not seqs:
        raise DataError(f"no examples left after the length policy ({length_policy}, max_len={max_len})")
    if with_sources:
        return seqs, np.asarray(labels, np.int32), sources
    return seqs, np.asarray(labels, np.int32)


def batches_per_pass(lengths, batch_size, max_len, bucket=True, drop_remainder=False, static_shapes=False):
    """How many batches `make_dataset` makes of one pass over sentences of these token lengths (bos and
    eos counted): the same for every pass, since each pass is batched on its own."""
    lengths = np.asarray(lengths)
    if static_shapes:
        return len(lengths) // batch_size
    if bucket:
        per_bucket = np.bincount(np.searchsorted(_bucket_bounds(max_len), lengths, side="right"))
    else:
        per_bucket = np.asarray([len(lengths)])
    if drop_remainder:
        return int(np.sum(per_bucket // batch_size))
    return int(np.sum(-(-per_bucket // batch_size)))


def _bucket_bounds(max_len):
    # Buckets of width 2 up to max_len + 2; each holds up to one batch.
    return list(range(4, max_len + 3, 2))


def make_dataset(examples, vocab, batch_size, max_len, shuffle=True, seed=0, bucket=True, repeat=False,
                 drop_remainder=False, length_policy="filter", static_shapes=False, start_step=0, encoded=None):
    """A `tf.data.Dataset` of `{"tokens": int32[B, T], "label": int32[B]}` batches.

    The stream is a fixed function of the examples and `seed`: pass p over the data is ordered by a
    stateless permutation seeded by (seed, p) and batched on its own (no batch spans two passes, so
    every pass has `batches_per_pass` batches), the same on every machine and every run.

    Args:
        examples: list of (text, label).
        max_len: maximum number of words (bos/eos not counted).
        shuffle: order each pass by its seeded permutation (False: file order).
        bucket: group sentences of similar length into a batch (less padding).
        repeat: pass after pass, forever.
        static_shapes: every batch is [batch_size, max_len + 2] (no bucketing, last partial batch
            dropped): one compiled shape, as TPUs want.
        start_step: begin at this batch of the stream (resume: the batches an uninterrupted run would
            have seen next; only the current pass is replayed to get there).
        encoded: `encode_examples(examples, vocab, max_len, length_policy, with_sources=True)` when the
            caller has it already (the corpus is then not tokenized again).
    """
    paired = has_sources(examples)
    if encoded is None:
        encoded = encode_examples(examples, vocab, max_len, length_policy, with_sources=True)
    seqs, labels, sources = encoded
    n = len(seqs)
    columns = {"tokens": seqs}
    if paired:
        columns["source"] = sources
    # Flat values + row starts: a pass gathers its rows by index (cheap, no ragged ops in the map).
    flat = {k: (tf.constant(np.concatenate(v)), tf.constant(np.cumsum([0] + [len(s) for s in v]), tf.int64))
            for k, v in columns.items()}
    label_t = tf.constant(labels)

    def row(i):
        out = {k: values[starts[i]: starts[i + 1]] for k, (values, starts) in flat.items()}
        out["label"] = label_t[i]
        return out

    def batched(ds):
        if static_shapes:
            width = max_len + 2  # bos + words + eos
            shapes = {k: [width] if k != "label" else [] for k in (*columns, "label")}
            return ds.padded_batch(batch_size, padded_shapes=shapes, drop_remainder=True)
        if bucket:
            bounds = _bucket_bounds(max_len)
            return ds.bucket_by_sequence_length(
                lambda e: tf.shape(e["tokens"])[0], bucket_boundaries=bounds,
                bucket_batch_sizes=[batch_size] * (len(bounds) + 1), drop_remainder=drop_remainder)
        return ds.padded_batch(batch_size, drop_remainder=drop_remainder)

    def one_pass(p):
        if shuffle:
            order = tf.argsort(tf.random.stateless_uniform([n], tf.stack([tf.cast(seed, tf.int64),
                                                                          tf.cast(p, tf.int64)])))
        else:
            order = tf.range(n)
        return batched(tf.data.Dataset.from_tensor_slices(tf.cast(order, tf.int64)).map(row))

    per_pass = batches_per_pass([len(s) for s in seqs], batch_size, max_len, bucket, drop_remainder, static_shapes)
    if per_pass == 0:
        raise DataError(f"{n} examples make no batch of {batch_size} (drop_remainder)")
    if start_step < 0:
        raise ValueError(f"start_step must be >= 0, got {start_step}")
    first, skip = divmod(int(start_step), per_pass)
    if not repeat and first > 0:
        raise ValueError(f"start_step {start_step} is past the single pass of {per_pass} batches")
    ds = one_pass(first).skip(skip)
    if repeat:
        ds = ds.concatenate(tf.data.Dataset.range(first + 1, 2 ** 62).flat_map(one_pass))
    return ds.prefetch(tf.data.AUTOTUNE)


def frame(word_ids):
    """`[<bos>] + word_ids + [<eos>]` (a list): the one framing of a sentence's word ids in Python.
    Its graph twin is `export_lib._framed_ids` (ragged tensors, in the SavedModel)."""
    return [BOS_ID] + list(word_ids) + [EOS_ID]


def pad(seqs):
    """Framed id lists -> one int32 batch [N, longest], padded with `<pad>` (0)."""
    out = np.zeros((len(seqs), max(len(s) for s in seqs)), np.int32)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out


def padded_batch(texts, vocab, max_len=None):
    """Tokenizes raw strings into one padded `tokens` batch (numpy), for inference helpers."""
    return pad([frame(vocab.encode(t)[:max_len]) for t in texts])
