"""ARAETransfer (Algorithm 2): class routing, the signs of steps 2b/3b, serialization, and
transfer learned on the built-in corpus with three classes (class of any output known exactly)."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from arae_tf.data import pipeline, synthetic
from arae_tf.models import ARAETransfer
from tests.conftest import tiny_backbone, train_workdir


def tiny_transfer(vocab_size, num_classes=3, **kw):
    keras.utils.set_random_seed(1)
    args = dict(noise_dim=4, generator_hidden=(8,), critic_hidden=(8, 8), classifier_hidden=(8,), code_noise=0.1)
    args.update(kw)
    model = ARAETransfer(tiny_backbone(vocab_size, num_decoders=num_classes), num_classes=num_classes, **args)
    model.compile(classifier_optimizer=keras.optimizers.Adam(1e-2), encoder_optimizer=keras.optimizers.SGD(0.5))
    return model


@pytest.fixture
def labelled(vocab):
    ex = synthetic.generate(24, num_classes=3, seed=3)
    return pipeline.padded_batch([t for t, _ in ex], vocab), np.array([y for _, y in ex], np.int32)


def test_reconstruction_routes_each_class_to_its_decoder(vocab, labelled):
    tokens, labels = labelled
    model = tiny_transfer(len(vocab))
    z = model.backbone.encode(tokens)
    got = model.reconstruction_stats(z, tokens, labels)
    want = sum(float(model.backbone.reconstruction(z[labels == c], tokens[labels == c], decoder=c)["nll_sum"])
               for c in range(3))
    assert float(got["nll_sum"]) == pytest.approx(want, rel=1e-5)
    assert float(got["tokens"]) == float(np.sum(tokens[:, 1:] != 0))
    # decoders differ, so routing matters
    assert float(model.backbone.reconstruction(z, tokens, decoder=0)["nll_sum"]) != pytest.approx(want, rel=1e-3)


def test_adversary_losses_hand_values(vocab):
    model = tiny_transfer(len(vocab), num_classes=2)
    logits = tf.constant([[2.0, 0.0], [0.0, 1.0]])
    labels = tf.constant([0, 1])
    p = tf.nn.softmax(logits).numpy()
    np.testing.assert_allclose(model.adversary_loss(logits, labels), [-np.log(p[0, 1]), -np.log(p[1, 0])], rtol=1e-5)
    uniform = tiny_transfer(len(vocab), num_classes=2, adversary="uniform")
    np.testing.assert_allclose(uniform.adversary_loss(logits, labels), -np.log(p).mean(1), rtol=1e-5)


def test_classifier_step_lowers_cross_entropy_and_encoder_step_raises_it(vocab, labelled):
    tokens, labels = labelled
    model = tiny_transfer(len(vocab))
    ce = lambda: float(tf.reduce_mean(keras.ops.sparse_categorical_crossentropy(
        labels, model.classifier(model.backbone.encode(tokens), training=False), from_logits=True)))
    adv = lambda: float(tf.reduce_mean(model.adversary_loss(model.classifier(model.backbone.encode(tokens),
                                                                             training=False), labels)))
    before = ce()
    for _ in range(5):
        model.classifier_step(model.backbone.encode(tokens), tf.constant(labels))
    assert ce() < before  # step 2b: the classifier learns y from z
    before = adv()
    for _ in range(5):
        model.encoder_classifier_step(tokens, tf.constant(labels))
    assert adv() < before  # step 3b: the encoder makes the classifier wrong


def test_bad_arguments(vocab, labelled):
    with pytest.raises(ValueError, match="num_decoders=3"):
        ARAETransfer(tiny_backbone(len(vocab)), num_classes=3)
    with pytest.raises(ValueError, match="adversary must be"):
        tiny_transfer(len(vocab), adversary="flip")
    model = tiny_transfer(len(vocab))
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        model.transfer_ids(labelled[0], 3)
    with pytest.raises(ValueError, match="one int per sentence"):
        model.transfer_ids(labelled[0], [0, 1])
    with pytest.raises(ValueError, match="no vocabulary attached"):
        model.transfer(["the food was bad ."], 1)


def test_keras_file_round_trip(tmp_path, vocab, labelled):
    tokens, labels = labelled
    model = tiny_transfer(len(vocab))
    model.train_step({"tokens": tf.constant(tokens), "label": tf.constant(labels)})
    path = str(tmp_path / "t.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, ARAETransfer) and loaded.num_classes == 3
    assert np.isclose(float(loaded.classifier_optimizer.learning_rate), 1e-2)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(model.transfer_ids(tokens, 2), loaded.transfer_ids(tokens, 2))
    loaded.train_step({"tokens": tf.constant(tokens), "label": tf.constant(labels)})


@pytest.fixture(scope="module")
def builtin_transfer(tmp_path_factory):
    from arae_tf.evaluation import load_trained
    from arae_tf.configs import arae_transfer_builtin
    workdir, _, metrics = train_workdir(tmp_path_factory, arae_transfer_builtin.get_config(), "transfer_builtin")
    model, _, _ = load_trained(workdir)  # vocabulary attached
    return model, metrics, workdir


def test_transfer_learned_between_three_classes(builtin_transfer):
    """Every (source, target) pair of the 3 classes: the output carries the target's attribute words
    (exact, by construction of the corpus), keeps the sentence's frame, and reconstruction still works."""
    model, metrics, _ = builtin_transfer
    assert metrics["val_token_acc"] >= 0.95 and metrics["val_bleu"] >= 90, metrics
    assert metrics["val_transfer_acc"] >= 0.9, metrics  # fastText on the validation sentences
    test = synthetic.generate(300, num_classes=3, seed=11)
    for src in range(3):
        texts = [t for t, y in test if y == src]
        for dst in range(3):
            out = model.transfer(texts, to=dst, max_len=12)
            acc = np.mean([synthetic.label_of(o) == dst for o in out])
            assert acc >= 0.9, (src, dst, acc, out[:5])
            if dst != src:  # the subject (second word) survives the transfer
                kept = np.mean([a.split()[:2] == b.split()[:2] for a, b in zip(texts, out)])
                assert kept >= 0.7, (src, dst, kept, list(zip(texts, out))[:5])
    # Transfers keep much of the source sentence (self-BLEU against the sources).
    assert metrics.get("val_transfer_self_bleu", 0) > 20


def test_evaluation_reports_transfer_metrics(builtin_transfer):
    from arae_tf import evaluation
    from arae_tf.metrics.lm import LMSettings
    _, _, workdir = builtin_transfer
    settings = evaluation.EvalSettings(num_samples=600, diagnostic_sentences=200, decode_max_len=12,
                                       lm=LMSettings(embed_dim=16, hidden_dim=32, steps=100))
    m = evaluation.evaluate_workdir(workdir, settings)
    tr = m["transfer"]
    assert tr["accuracy"] >= 0.9 and tr["classifier_test_accuracy"] >= 0.99, tr
    assert tr["self_bleu"] > 20 and tr["sentences"] == 1000 and tr["reverse_ppl_sentences"] == 600
    assert set(tr["accuracy_by_target"]) == {"0", "1", "2"}
    assert "## Transfer" in open(os.path.join(workdir, "eval", "report.md")).read()


def test_arae_table3_puts_the_papers_numbers_beside_ours():
    from arae_tf.evaluation import paper_tables as tables
    lm = {"steps": 1000, "seed": 0}

    def report(acc, **settings):
        return {"settings": {"lm": dict(lm), **settings},
                "transfer": {"sentences": 1000, "accuracy": acc, "self_bleu": 20.5, "forward_ppl": 96.66,
                             "reverse_ppl": 152.73, "reverse_ppl_sentences": 10000, "classifier_test_accuracy": 0.958}}

    lines = tables.transfer_table([("AE", report(0.3)), ("ARAE, λ₁ = 10", report(0.787))]).splitlines()
    assert lines[2] == "| AE | 30.0% | 20.50 | 96.7 | 152.7 | 59.3% | 37.28 | 31.9 | 68.9 |"
    assert lines[3].startswith("| ARAE, λ₁ = 10 | 78.7% |") and lines[3].endswith("| 81.8% | 20.18 | 27.7 | 77.0 |")
    assert "1,000 test sentences" in lines[-1] and "0.958" in lines[-1] and "10,000 transferred" in lines[-1]
    with pytest.raises(KeyError, match="known"):
        tables.transfer_table([("ARAE", report(0.5))])
    with pytest.raises(KeyError, match="no transfer metrics"):
        tables.transfer_table([("AE", {"settings": {"lm": lm}})])
    other = report(0.5)
    other["settings"]["lm"]["steps"] = 300
    with pytest.raises(ValueError, match="other LM settings"):
        tables.transfer_table([("AE", report(0.3)), ("ARAE, λ₁ = 1", other)])
    with pytest.raises(ValueError, match="test_max_words"):
        tables.transfer_table([("AE", report(0.3, test_max_words=20))])


def test_tables_binary_offers_every_paper_table():
    """`python -m arae_tf.tables --table` lists exactly `paper_tables.TABLES` (the binary does not import
    the evaluation package, so the list is written out there)."""
    import ast
    import re
    import arae_tf
    from arae_tf.evaluation import paper_tables
    # Read, not imported: importing a binary defines its absl flags (`--out` is also evaluate's).
    source = open(os.path.join(os.path.dirname(arae_tf.__file__), "tables.py")).read()
    listed = ast.literal_eval(re.search(r'DEFINE_enum\("table", "\w+", (\[[^\]]*\])', source).group(1))
    assert sorted(listed) == sorted(paper_tables.TABLES)
