"""Labelled documents as labelled sentences: the Yahoo topic-transfer data (ARAE §6, topic transfer).

`read_documents(text_file, label_file, class_names)` reads parallel files (one document per line,
its class name on the same line of the label file), splits each document into sentences and
tokenizes them (`sentences`, `tokenize`); every sentence carries its document's label.
Documents are split between training and validation by index (`split_documents`), so no document
gives sentences to both.
"""

import re

from arae_tf.data.pipeline import DataError

_BREAK = re.compile(r"(?:\\n|\n)+")                 # literal "\n" escapes and real newlines end a sentence
_END = re.compile(r"(?<=[.!?])\s+")                # so does . ! or ? followed by white space
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def tokenize(sentence):
    """Lower-cased words and punctuation marks (one token each; "don't" stays one word)."""
    return _TOKEN.findall(sentence.lower())


def sentences(document, min_words=3):
    """The tokenized sentences (space-joined) of a document with at least `min_words` tokens."""
    out = []
    for part in _BREAK.split(document):
        for s in _END.split(part.strip()):
            words = tokenize(s)
            if len(words) >= min_words:
                out.append(" ".join(words))
    return out


def read_documents(text_file, label_file, class_names):
    """[(document, label id)] of parallel files; an unknown class name or a line-count mismatch raises
    `DataError` naming the file and line."""
    with open(text_file, encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f]
    with open(label_file, encoding="utf-8") as f:
        labels = [line.strip() for line in f]
    if len(texts) != len(labels):
        raise DataError(f"{text_file} has {len(texts)} lines but {label_file} has {len(labels)}: they must be parallel")
    out = []
    for i, (t, y) in enumerate(zip(texts, labels), 1):
        if y not in class_names:
            raise DataError(f"{label_file}, line {i}: class {y!r} is not one of {tuple(class_names)} "
                            "(config field data.class_names)")
        out.append((t, list(class_names).index(y)))
    return out


def label_file_of(text_file):
    """The label file beside a `*.text.txt` document file: `*.label.txt`."""
    if not text_file.endswith(".text.txt"):
        raise DataError(f"{text_file}: document files are named *.text.txt, with their labels in *.label.txt")
    return text_file[: -len(".text.txt")] + ".label.txt"


def split_documents(documents, split, valid_every):
    """Documents of `split`: "valid" takes every `valid_every`-th document (index % valid_every == 0),
    "train" the others; any other split all of them."""
    if split == "valid":
        return documents[::valid_every]
    if split == "train":
        return [d for i, d in enumerate(documents) if i % valid_every]
    return documents


def document_examples(files, class_names, split, valid_every=10):
    """(sentence, label) examples of the documents in `files` (`*.text.txt`, labels beside them) for `split`."""
    out = []
    for path in files:
        docs = split_documents(read_documents(path, label_file_of(path), class_names), split, valid_every)
        out += [(s, y) for d, y in docs for s in sentences(d)]
    return out
