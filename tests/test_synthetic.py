from arae_tf.data import synthetic


def test_deterministic_and_balanced():
    a = synthetic.generate(300, num_classes=3, seed=5)
    assert a == synthetic.generate(300, num_classes=3, seed=5)
    assert a != synthetic.generate(300, num_classes=3, seed=6)
    assert sorted({y for _, y in a}) == [0, 1, 2]
    assert sum(y == 2 for _, y in a) == 100


def test_every_sentence_is_grammatical_and_labelled():
    for text, y in synthetic.generate(500, num_classes=3, seed=0):
        assert synthetic.is_grammatical(text), text
        assert synthetic.label_of(text) == y


def test_grammar_rejects_non_templates():
    assert not synthetic.is_grammatical("the food was .")
    assert not synthetic.is_grammatical("was the food great .")
    assert not synthetic.is_grammatical("the food was great")
    assert synthetic.is_grammatical("the food was great and awful .")  # mixed classes are grammatical
    assert synthetic.label_of("the food was great and awful .") is None
