"""Labelled documents as labelled sentences (Yahoo topic transfer, issue 19 item 5)."""

import os

import pytest

from arae_tf.data import documents
from arae_tf.data.pipeline import DataError
from tests.conftest import SHARED_DATA

YAHOO = os.path.join(SHARED_DATA, "yahoo", "two_topic_subset_vicrudakov")


def test_sentences_split_on_escapes_newlines_and_end_marks():
    doc = "What is Pi? It's about 3.14!\\nThanks & bye\\n\\nok. A short one."
    assert documents.sentences(doc) == ["what is pi ?", "it's about 3 . 14 !", "thanks & bye", "a short one ."]


def test_documents_are_split_by_index_and_errors_name_the_file(tmp_path):
    text, label = tmp_path / "d.text.txt", tmp_path / "d.label.txt"
    text.write_text("".join(f"document number {i} is here .\n" for i in range(20)))
    label.write_text("a\nb\n" * 10)
    train = documents.document_examples([str(text)], ("a", "b"), "train", valid_every=10)
    valid = documents.document_examples([str(text)], ("a", "b"), "valid", valid_every=10)
    assert [s for s, _ in valid] == ["document number 0 is here .", "document number 10 is here ."]
    assert len(train) == 18 and not {s for s, _ in train} & {s for s, _ in valid}
    assert {y for _, y in train} == {0, 1}
    label.write_text("a\nc\n" + "a\n" * 18)
    with pytest.raises(DataError, match=r"d.label.txt, line 2: class 'c' is not one of \('a', 'b'\)"):
        documents.document_examples([str(text)], ("a", "b"), "train")
    label.write_text("a\n")
    with pytest.raises(DataError, match="has 20 lines but .*d.label.txt has 1"):
        documents.document_examples([str(text)], ("a", "b"), "train")
    with pytest.raises(DataError, match=r"named \*.text.txt"):
        documents.label_file_of(str(tmp_path / "x.txt"))


@pytest.mark.skipif(not os.path.isdir(YAHOO), reason="no ../shared/data/yahoo")
def test_yahoo_config_reads_both_topics():
    from arae_tf.config_base import validate
    from arae_tf.configs import arae_yahoo_transfer
    from arae_tf.data.sources import load_examples
    c = validate(arae_yahoo_transfer.get_config())
    train, valid, test = (load_examples(c.data, s) for s in ("train", "valid", "test"))
    assert len(train) > 20000 and 2000 < len(valid) < 5000 and len(test) > 3000
    assert {y for _, y in train} == {y for _, y in test} == {0, 1}
