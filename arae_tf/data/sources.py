"""Examples by config source: `load_examples(config.data, split)` reads the files, the TFDS dataset or
the built-in synthetic corpus a config names; `validation_order` fixes the validation order."""

import numpy as np
from absl import logging

from arae_tf.data import pipeline, synthetic


def load_examples(data, split):
    """(text, label) examples of `split` ("train", "valid" or "test") for a `config.data`.

    "test" falls back to the validation data where a config names no test data."""
    if split not in ("train", "valid", "test"):
        raise ValueError(f"split must be 'train', 'valid' or 'test', got {split!r}")
    if data.source == "files":
        files = {"train": data.train_files, "valid": data.valid_files,
                 "test": data.get("test_files") or data.valid_files}[split]
        if not files:
            raise ValueError(f"config field data.{split}_files is empty")
        lc = data.label_column if data.label_column >= 0 else None
        tc = data.text_column if data.text_column >= 0 else None
        sc = data.get("source_column", -1)
        examples = pipeline.read_files(list(files), num_classes=data.num_classes, label_column=lc, text_column=tc,
                                       source_column=sc if sc >= 0 else None)
        if split == "train" and data.get("train_exclude_files"):
            examples = exclude_sentences(examples, data.train_exclude_files, lowercase=data.get("lowercase", True))
        return examples
    if data.source == "documents":
        from arae_tf.data.documents import document_examples
        # train and valid come from the same documents (split by index); test from the test files
        files = data.test_files if split == "test" and data.get("test_files") else data.train_files
        return document_examples(list(files), tuple(data.class_names), split if files is data.train_files else "test",
                                 data.document_valid_every)
    if data.source == "tfds":
        s = {"train": data.tfds_train_split, "valid": data.tfds_valid_split,
             "test": data.get("tfds_test_split", "test")}[split]
        return pipeline.tfds_examples(data.tfds_name, s, data_dir=data.tfds_data_dir or None)
    if data.source == "builtin":
        n = data.builtin_train_size if split == "train" else data.builtin_valid_size
        seed = {"train": 0, "valid": 1, "test": 2}[split]
        task = data.get("builtin_task", "sentences")
        if task == "dialog":
            return synthetic.generate_dialog(n, seed=seed)
        if task != "sentences":
            raise ValueError(f"config field data.builtin_task must be 'sentences' or 'dialog', got {task!r}")
        return synthetic.generate(n, num_classes=data.num_classes, seed=seed)
    raise ValueError(f"config field data.source must be 'files', 'tfds' or 'builtin' for sentences (images: "
                     f"arae_tf.image_lib.load_split), got {data.source!r}")


def held_out_sentences(files):
    """Every sentence of `files`: each tab-separated field of each line (a text file's line is one field;
    an NLI .tsv's premise, hypothesis and label)."""
    out = set()
    for path in files:
        with open(path, encoding="utf-8") as f:
            for line in f:
                out.update(field.strip() for field in line.rstrip("\n").split("\t") if field.strip())
    return out


def exclude_sentences(examples, files, lowercase=True):
    """`examples` without those whose text (or dialog source) is a sentence of `files`
    (`held_out_sentences`): config field `data.train_exclude_files`, e.g. the labelled test pairs of
    ARAE Table 5, whose sentences the autoencoder must not have seen. Sentences are compared with
    whitespace normalised and, with `lowercase` (the vocabulary's), case folded. A list of files of
    which no sentence occurs in the training data raises `ValueError` (a wrong file, most likely)."""
    norm = (lambda t: " ".join(t.split()).lower()) if lowercase else (lambda t: " ".join(t.split()))
    held = {norm(t) for t in held_out_sentences(files)}
    kept = [e for e in examples if norm(e[0]) not in held and norm(pipeline.source_of(e)) not in held]
    if len(kept) == len(examples):
        raise ValueError(f"data.train_exclude_files: no training example is a sentence of {', '.join(files)}; "
                         "is it the held-out data of this corpus?")
    logging.info(f"[data] data.train_exclude_files: {len(examples) - len(kept)} of {len(examples)} training "
                 f"examples are sentences of {', '.join(files)} and were left out")
    return kept


def validation_order(examples, seed):
    """The validation examples in a fixed shuffled order, so that the first `eval.bleu_sentences` of
    them (the subset validation decodes) mix the classes of files read one after another."""
    order = np.random.default_rng(seed).permutation(len(examples))
    return [examples[i] for i in order]
