"""Word vocabulary shared by the Python and the in-graph tokenizers.

Layout of ids (fixed, so that `keras.layers.StringLookup` reproduces it in-graph):

    0 <pad>   1 <unk>   2 <bos>   3 <eos>   4.. words, most frequent first

Sentences are whitespace-tokenized (the shipped corpora are pre-tokenized),
optionally lowercased. The same `Vocabulary` gives identical ids in Python
(`encode`) and inside a graph (`lookup_layer()` / `tokenize_graph`), which is
what lets a SavedModel take raw strings.
"""

import collections
import os

import numpy as np
import tensorflow as tf
import keras

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


class VocabularyError(ValueError):
    """A vocabulary file is malformed or does not match a model."""


def split_words(text, lowercase=True):
    """Python tokenization: the reference for `tokenize_graph`."""
    if lowercase:
        text = text.lower()
    return text.split()


class Vocabulary:
    """An ordered word list with the four special tokens first.

    Args:
        words: words in id order, *without* the special tokens.
        lowercase: lowercase text before lookup (Python and in-graph alike).
    """

    def __init__(self, words, lowercase=True):
        words = list(words)
        clash = [w for w in words if w in SPECIALS]
        if clash:
            raise VocabularyError(f"special tokens {clash} must not be in the word list")
        if len(set(words)) != len(words):
            dup = [w for w, c in collections.Counter(words).items() if c > 1][:5]
            raise VocabularyError(f"duplicate words in vocabulary: {dup}")
        bad = [w for w in words if not w or any(ch.isspace() for ch in w)]
        if bad:
            raise VocabularyError(f"vocabulary words must be non-empty and have no whitespace: {bad[:5]!r}")
        self.lowercase = lowercase
        self.tokens = list(SPECIALS) + words
        self._index = {w: i for i, w in enumerate(self.tokens)}

    # -- construction ---------------------------------------------------------
    @classmethod
    def build(cls, sentences, max_size=None, min_count=1, lowercase=True):
        """Counts words in an iterable of sentences.

        Args:
            sentences: iterable of strings.
            max_size: total size including the 4 special tokens (None: no limit).
            min_count: words seen fewer times map to `<unk>`.
        Ties in frequency are broken alphabetically, so the result is deterministic.
        """
        counts = collections.Counter()
        for s in sentences:
            counts.update(split_words(s, lowercase))
        for sp in SPECIALS:
            counts.pop(sp, None)
        items = sorted(((w, c) for w, c in counts.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))
        if max_size is not None:
            if max_size <= len(SPECIALS):
                raise VocabularyError(f"max_size={max_size} leaves no room for words (4 special tokens)")
            items = items[: max_size - len(SPECIALS)]
        return cls([w for w, _ in items], lowercase=lowercase)

    def save(self, path):
        """Writes `vocabulary.txt`: one token per line, specials first."""
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for t in self.tokens:
                f.write(t + "\n")
        os.replace(tmp, path)  # never leave a half-written vocabulary

    @classmethod
    def load(cls, path, lowercase=True):
        if not os.path.exists(path):
            raise FileNotFoundError(f"vocabulary file not found: {path}")
        with open(path, encoding="utf-8") as f:
            tokens = [line.rstrip("\n") for line in f]
        if tuple(tokens[:4]) != SPECIALS:
            raise VocabularyError(f"{path}: first four lines must be {SPECIALS}, got {tuple(tokens[:4])}")
        for i, t in enumerate(tokens[4:], start=5):
            if not t or any(ch.isspace() for ch in t):
                raise VocabularyError(f"{path}, line {i}: empty token or token with whitespace: {t!r}")
        return cls(tokens[4:], lowercase=lowercase)

    # -- Python side ----------------------------------------------------------
    def __len__(self):
        return len(self.tokens)

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self.tokens == other.tokens and self.lowercase == other.lowercase

    @property
    def words(self):
        return self.tokens[4:]

    def encode(self, text, add_bos=False, add_eos=False):
        ids = [self._index.get(w, UNK_ID) for w in split_words(text, self.lowercase)]
        if add_bos:
            ids = [BOS_ID] + ids
        if add_eos:
            ids = ids + [EOS_ID]
        return ids

    def decode(self, ids, strip=True):
        """Ids to a sentence. With `strip`, stops at `<eos>` and drops pad/bos."""
        out = []
        for i in np.asarray(ids).tolist():
            if strip and i == EOS_ID:
                break
            if strip and i in (PAD_ID, BOS_ID):
                continue
            out.append(self.tokens[i])
        return " ".join(out)

    def check_size(self, vocab_size, where="model"):
        if vocab_size != len(self):
            raise VocabularyError(
                f"vocabulary has {len(self)} tokens but the {where} has vocab_size={vocab_size}: "
                "the vocabulary does not belong to this checkpoint"
            )

    def digest(self):
        """sha256 of the token list in order: two vocabularies with the same digest give every word the
        same id (a checkpoint stores it; a reordered vocabulary.txt would silently remap every word)."""
        import hashlib
        return hashlib.sha256("\n".join(self.tokens).encode("utf-8")).hexdigest()

    # -- graph side -----------------------------------------------------------
    def lookup_layer(self):
        """A `StringLookup` reproducing `encode` ids (pad 0, unk 1, bos 2, eos 3)."""
        return keras.layers.StringLookup(
            vocabulary=self.tokens[2:], mask_token=PAD, oov_token=UNK, num_oov_indices=1, output_mode="int"
        )

    def tokenize_graph(self, texts, lookup=None):
        """In-graph tokenization of a string tensor [B] to a `tf.RaggedTensor` of ids."""
        texts = tf.convert_to_tensor(texts, tf.string)
        if self.lowercase:
            texts = tf.strings.lower(texts, encoding="utf-8")
        words = tf.strings.split(texts)
        lookup = lookup or self.lookup_layer()
        return tf.ragged.map_flat_values(lambda w: tf.cast(lookup(w), tf.int32), words)

    def detokenize_graph(self, ids):
        """In-graph inverse of `tokenize_graph` for a dense [B, T] id tensor, stopping at `<eos>`."""
        ids = tf.convert_to_tensor(ids, tf.int32)
        table = tf.constant(self.tokens)
        is_eos = tf.cast(tf.equal(ids, EOS_ID), tf.int32)
        before_eos = tf.equal(tf.cumsum(is_eos, axis=1, exclusive=False), 0)
        keep = before_eos & (ids != PAD_ID) & (ids != BOS_ID)
        words = tf.ragged.boolean_mask(tf.gather(table, ids), keep)
        return tf.strings.reduce_join(words, axis=1, separator=" ")
