"""Word vocabulary shared by the Python and the in-graph tokenizers.

Layout of ids (fixed, so that `keras.layers.StringLookup` reproduces it in-graph):

    0 <pad>   1 <unk>   2 <bos>   3 <eos>   4.. words, most frequent first

Sentences are whitespace-tokenized (the shipped corpora are pre-tokenized),
optionally lowercased. The same `Vocabulary` gives identical ids in Python
(`encode`) and inside a graph (`lookup_layer()` / `tokenize_graph`), which is
what lets a SavedModel take raw strings.

One definition of a word, code point by code point, on both sides (`split_words`):

* separators: every control character (U+0000-U+001F, U+007F-U+009F, NUL included), the space,
  and every other code point Python's `str.isspace` calls whitespace (U+00A0 no-break space,
  U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 ideographic space);
* lowercasing: each code point's one-code-point lowercase (Python's `str.lower` of that code point
  alone where it is one code point; `LOWERCASE` holds the table). U+0130 (whose lowercase is two code
  points) is kept, and Greek final sigma is not context-dependent.

Python applies it with `str.translate`; the graph with `tf.strings.unicode_decode`, a sorted-table
`tf.searchsorted` and `unicode_encode`, core ops only. A test fuzzes both with random Unicode.
"""

import collections
import functools
import os

import numpy as np
import tensorflow as tf
import keras

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


class VocabularyError(ValueError):
    """A vocabulary file is malformed or does not match a model."""


SEPARATOR_RANGES = ((0x00, 0x20), (0x7F, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A), (0x2028, 0x2029),
                    (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000))


def is_separator(ch):
    c = ord(ch)
    return any(a <= c <= b for a, b in SEPARATOR_RANGES)


@functools.lru_cache(maxsize=None)
def lowercase_table():
    """(code points, their lowercase) as sorted int32 arrays: every code point whose lowercase is one
    other code point."""
    keys, values = [], []
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        low = chr(c).lower()
        if len(low) == 1 and low != chr(c):
            keys.append(c)
            values.append(ord(low))
    return np.asarray(keys, np.int32), np.asarray(values, np.int32)


@functools.lru_cache(maxsize=None)
def _translation(lowercase):
    table = {}
    if lowercase:
        table.update(zip(*(a.tolist() for a in lowercase_table())))
    for a, b in SEPARATOR_RANGES:
        table.update((c, 0x20) for c in range(a, b + 1))
    return table


def split_words(text, lowercase=True):
    """Python tokenization (the module docstring's definition; `tokenize_graph` is its graph twin)."""
    return text.translate(_translation(bool(lowercase))).split()


def normalize_graph(texts, lowercase=True):
    """In-graph twin of `split_words`' normalisation: UTF-8 strings [B] with every separator a space
    and, with `lowercase`, every code point lowercased. Invalid UTF-8 becomes U+FFFD (callers that
    must refuse it check `valid_utf8_graph` first)."""
    cps = tf.strings.unicode_decode(texts, "UTF-8", errors="replace")
    flat = cps.flat_values
    if lowercase:
        keys, values = (tf.constant(a) for a in lowercase_table())
        at = tf.minimum(tf.searchsorted(keys, flat), len(lowercase_table()[0]) - 1)
        flat = tf.where(tf.equal(tf.gather(keys, at), flat), tf.gather(values, at), flat)
    sep = tf.zeros_like(flat, tf.bool)
    for a, b in SEPARATOR_RANGES:
        sep = sep | ((flat >= a) & (flat <= b))
    flat = tf.where(sep, 0x20, flat)
    return tf.strings.unicode_encode(cps.with_flat_values(flat), "UTF-8")


def valid_utf8_graph(texts):
    """Bool [B] (a scalar counts as [1]): each string is valid UTF-8."""
    texts = tf.reshape(texts, [-1])
    replaced = tf.strings.unicode_decode(texts, "UTF-8", errors="replace").row_lengths()
    ignored = tf.strings.unicode_decode(texts, "UTF-8", errors="ignore").row_lengths()
    return tf.equal(replaced, ignored)


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
        bad = [w for w in words if not w or any(ch.isspace() or is_separator(ch) for ch in w)]
        if bad:
            raise VocabularyError(f"vocabulary words must be non-empty and have no whitespace or control "
                                  f"characters: {bad[:5]!r}")
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
            if not t or any(ch.isspace() or is_separator(ch) for ch in t):
                raise VocabularyError(f"{path}, line {i}: empty token or token with whitespace or control "
                                      f"characters: {t!r}")
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

    def restrict(self, texts):
        """Each sentence of `texts` as a model with this vocabulary writes it: lowercased (when the
        vocabulary is) and split as `encode` splits, every word outside the vocabulary replaced by `<unk>`
        (an `encode`-`decode` round trip). A word spelled like a special token (`<eos>`, `<pad>`, `<bos>`)
        is a word the model cannot write either: it becomes `<unk>` rather than ending or vanishing from the
        sentence. Real text compared with a model's output in the model's own word space goes through this
        first (`metrics.distribution.in_vocabulary_unigram_kl`)."""
        if isinstance(texts, (str, bytes)):
            raise TypeError(f"Vocabulary.restrict: texts must be a list of sentences, got one {type(texts).__name__}")
        return [" ".join(self.tokens[i] if i >= len(SPECIALS) else UNK for i in self.encode(t)) for t in texts]

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
        texts = normalize_graph(tf.convert_to_tensor(texts, tf.string), self.lowercase)
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
