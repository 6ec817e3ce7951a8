"""ARAETransfer (Algorithm 2): class routing, the signs of steps 2b/3b, serialization, and
transfer learned on the built-in corpus with three classes (class of any output known exactly)."""

import os
import shutil

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


def test_a_frozen_encoder_keeps_its_codes_while_the_decoders_train(vocab, labelled):
    """transfer.freeze_encoder: every train step leaves the encoder's weights (so the codes) as they
    were and moves the decoders; it is refused with a weight that would move the encoder, and saved."""
    tokens, labels = labelled
    batch = {"tokens": tf.constant(tokens), "label": tf.constant(labels)}
    model = tiny_transfer(len(vocab), class_weight=0.0, adv_weight=0.0, freeze_encoder=True)
    encoder = [v.numpy().copy() for v in model.backbone.encoder_variables]
    decoders = [(v, v.numpy().copy()) for v in model.backbone.decoder_variables]
    assert len(decoders) + len(encoder) == len(model.backbone.trainable_variables)
    z = model.backbone.encode(tokens).numpy()
    for _ in range(3):
        model.train_step(batch)
    for v, before in zip(model.backbone.encoder_variables, encoder):
        np.testing.assert_array_equal(v.numpy(), before)
    np.testing.assert_array_equal(model.backbone.encode(tokens).numpy(), z)
    assert any(not np.array_equal(v.numpy(), before) for v, before in decoders)
    # the same model unfrozen moves its encoder through the reconstruction step alone
    moving = tiny_transfer(len(vocab), class_weight=0.0, adv_weight=0.0)
    np.testing.assert_array_equal(moving.backbone.encode(tokens).numpy(), z)  # the same start
    moving.train_step(batch)
    assert not np.array_equal(moving.backbone.encode(tokens).numpy(), z)
    assert ARAETransfer.from_config(model.get_config()).freeze_encoder
    for weights in (dict(class_weight=0.1, adv_weight=0.0), dict(class_weight=0.0, adv_weight=0.01)):
        with pytest.raises(ValueError, match="freeze_encoder needs class_weight = adv_weight = 0"):
            tiny_transfer(len(vocab), freeze_encoder=True, **weights)


def test_backtranslation_step_reconstructs_each_sentence_from_the_code_of_its_greedy_transfer(vocab, labelled):
    """Step 1b (transfer.backtranslation = w): one step of the autoencoder's optimizer on
    w * L_rec(x | enc(x~), y), x~ the greedy (contrasted) transfer of x to the next class, computed
    here by hand from `transfer_ids`; train_step logs it as bt_loss; off by default; saved."""
    from arae_tf.data.vocab import BOS_ID
    from arae_tf.models.base import token_mean
    tokens, labels = labelled
    model = tiny_transfer(len(vocab), backtranslation=0.5, backtranslation_contrast=0.2)
    model.compile(ae_optimizer=keras.optimizers.SGD(0.1), classifier_optimizer=keras.optimizers.Adam(1e-2))
    variables = model.backbone.trainable_variables
    ids = model.transfer_ids(tokens, (labels + 1) % 3, method="greedy", contrast=0.2, max_len=tokens.shape[1])
    assert np.mean(ids != model.transfer_ids(tokens, labels, method="greedy", max_len=tokens.shape[1])) > 0.05
    transfers = np.concatenate([np.full((len(ids), 1), BOS_ID, np.int32), ids], axis=1)
    with tf.GradientTape() as tape:
        stats = model.reconstruction_stats(model.backbone.encode(transfers, training=True), tokens, labels,
                                           training=True)
        loss = 0.5 * token_mean(stats)
    want = [v.numpy() - 0.1 * tf.convert_to_tensor(g).numpy() for v, g in zip(variables, tape.gradient(loss, variables))]
    rec = model.backtranslation_step(tf.constant(tokens), tf.constant(labels), variables)
    assert float(rec) == pytest.approx(float(token_mean(stats)), rel=1e-5)
    for v, w in zip(variables, want):
        np.testing.assert_allclose(v.numpy(), w, rtol=1e-4, atol=1e-6)
    logs = model.train_step({"tokens": tf.constant(tokens), "label": tf.constant(labels)})
    assert np.isfinite(float(logs["bt_loss"]))
    assert "bt_loss" not in tiny_transfer(len(vocab)).train_step({"tokens": tf.constant(tokens),
                                                                  "label": tf.constant(labels)})
    restored = ARAETransfer.from_config(model.get_config())
    assert (restored.backtranslation, restored.backtranslation_contrast) == (0.5, pytest.approx(0.2))
    for bad in (dict(backtranslation=-1.0), dict(backtranslation_contrast=1.0)):
        with pytest.raises(ValueError, match="backtranslation"):
            tiny_transfer(len(vocab), **bad)


def test_next_classes_is_one_rule_for_tensors_arrays_and_lists():
    """Training's back-translation (tensors) and evaluation (lists, arrays) send class y to (y + 1) mod C."""
    from arae_tf.evaluation.transfer import next_classes as evaluation_next_classes
    from arae_tf.models.transfer import next_classes
    assert evaluation_next_classes is next_classes
    out = next_classes(tf.constant([0, 1, 2]), 3)
    assert tf.is_tensor(out) and out.numpy().tolist() == [1, 2, 0]
    assert next_classes([0, 1, 1], 2).tolist() == [1, 0, 0]
    assert next_classes(np.array([2, 0]), 3).tolist() == [0, 1]


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


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); `make test-slow`
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


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); `make test-slow`
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


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); `make test-slow`
def test_transfer_decoding_evaluated_and_published(builtin_transfer, tmp_path):
    """`evaluate --transfer_decoding` reports to its own eval-<options>/ with the options recorded, and
    `make_preset --transfer_decoding` publishes a preset whose `transfer` decodes so by default, with the
    card's figures read from that report; without the report, or for a model with one decoder, it
    refuses before writing anything."""
    import subprocess
    import sys

    from arae_tf import evaluation, preset_lib, zoo
    from arae_tf.metrics.lm import LMSettings
    from tests.conftest import REPO
    model, _, workdir = builtin_transfer
    spec = "method=beam,beam_size=3,contrast=0.2"
    cmd = [sys.executable, "-m", "arae_tf.make_preset", f"--workdir={workdir}", "--name=tiny_transfer",
           f"--zoo_dir={tmp_path}", f"--transfer_decoding={spec}", "--description=a tiny transfer model"]
    shutil.rmtree(os.path.join(workdir, "eval-beam3-c0.2"), ignore_errors=True)
    source = preset_lib.load_source(workdir)  # in-process (make_preset's CLI runs below, once)
    with pytest.raises(preset_lib.TransferDecodingError, match="--transfer_decoding=method=beam,beam_size=3,contrast=0.2 first"):
        preset_lib.write_preset(source, "tiny_transfer", zoo_dir=str(tmp_path), transfer_decoding=spec)
    assert os.listdir(tmp_path) == []
    settings = evaluation.EvalSettings(num_samples=100, diagnostic_sentences=20, decode_max_len=12,
                                       lm=LMSettings(embed_dim=8, hidden_dim=8, steps=5), transfer_decoding=spec)
    m = evaluation.evaluate_workdir(workdir, settings)
    assert m["transfer"]["decoding"] == {"method": "beam", "beam_size": 3, "contrast": 0.2}
    assert os.path.exists(os.path.join(workdir, "eval-beam3-c0.2", "metrics.json"))
    ok = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr[-2000:]
    preset = zoo.load(str(tmp_path / "tiny_transfer"), compile=False)
    assert preset.transfer_decoding == m["transfer"]["decoding"]
    texts = [t for t, _ in synthetic.generate(20, num_classes=3, seed=5)]
    assert preset.transfer(texts, to=1, max_len=12) == model.transfer(texts, to=1, max_len=12, **preset.transfer_decoding)
    card = (tmp_path / "tiny_transfer" / "MODEL_CARD.md").read_text()
    assert "Transfer decoding (the default of `m.transfer`" in card and "'contrast': 0.2" not in card
    assert "contrast=0.2" in card and f"{100 * m['transfer']['accuracy']:.1f}" in card
    one = preset_lib.Source(*((workdir, 0, model, None, None, [], "sentences")))
    with pytest.raises(preset_lib.TransferDecodingError, match="is for transfer models"):
        preset_lib.write_preset(one, "x", zoo_dir=str(tmp_path / "other"), transfer_decoding=spec)
    assert not os.path.exists(tmp_path / "other")


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); `make test-slow`
def test_transfer_sweep_on_validation(builtin_transfer, tmp_path):
    """`python -m arae_tf.transfer_sweep` scores every (checkpoint, β) on validation: β 0 with greedy
    decoding is exactly the model's greedy transfer; the table names each row and its command; a β
    outside [0, 1] is refused before any work."""
    import subprocess
    import sys

    from arae_tf.evaluation import transfer as transfer_lib
    from arae_tf.evaluation.transfer import transfer_scores
    from arae_tf.metrics import classifier as classifier_lib
    from tests.conftest import REPO
    model, _, workdir = builtin_transfer
    results, n = transfer_lib.decoding_sweep(workdir, [0], transfer_lib.decoding_grid("greedy", 4, 1.0, ["0", "0.5"]),
                                      sentences=60, cache_dir=str(tmp_path / "cache"), log=lambda m: None)
    assert n == 60 and [r[1]["contrast"] for r in results] == [0.0, 0.5]
    from arae_tf.data.sources import load_examples
    from arae_tf.workdir import load_trained
    _, _, config = load_trained(workdir)
    valid = load_examples(config.data, "valid")
    pick = sorted(np.random.default_rng(0).choice(len(valid), 60, replace=False))
    src = [valid[i][0] for i in pick]
    to = (np.array([valid[i][1] for i in pick]) + 1) % 3
    clf = classifier_lib.SentimentClassifier.load(str(tmp_path / "cache" / "fasttext"))
    greedy = transfer_scores(src, model.transfer(src, to=to, max_len=20, method="greedy"), to, 3, clf)
    assert results[0][2]["accuracy"] == greedy["accuracy"] and results[0][2]["self_bleu"] == greedy["self_bleu"]
    # options that differ only in γ share one beam search: the same transfers as each option's own
    cyc, _ = transfer_lib.decoding_sweep(workdir, [0], transfer_lib.decoding_grid("beam", 3, 1.0, ["0.2"], ["0", "0.5"]),
                                         sentences=60, cache_dir=str(tmp_path / "cache"), log=lambda m: None)
    for _, opts, scores in cyc:
        own = transfer_scores(src, model.transfer(src, to=to, max_len=20, **opts), to, 3, clf)
        assert (scores["accuracy"], scores["self_bleu"]) == (own["accuracy"], own["self_bleu"]), opts
    text = transfer_lib.sweep_table(results, n, "python -m arae_tf.transfer_sweep ...")
    assert "| final | greedy | 0.5 |" in text and "60 validation sentences" in text
    bad = subprocess.run([sys.executable, "-m", "arae_tf.transfer_sweep", f"--workdir={workdir}", "--contrast=0,1.5"],
                         cwd=REPO, capture_output=True, text=True)
    assert bad.returncode != 0 and "--contrast: 1.5 is not in [0, 1]" in bad.stderr


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
    assert "each sent to the other class (greedy)" in lines[-1]
    beam = report(0.86)
    beam["transfer"]["decoding"] = {"method": "beam", "contrast": 0.1}
    assert "(method='beam', contrast=0.1)" in tables.transfer_table([("ARAE, λ₁ = 1", beam)])
    with pytest.raises(ValueError, match=r"decoded its transfers otherwise \(greedy\) than row 'ARAE, λ₁ = 1'"):
        tables.transfer_table([("ARAE, λ₁ = 1", beam), ("AE", report(0.3))])


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


def test_transfer_decoding_is_the_default_of_transfer_saved_and_checked(vocab):
    """`transfer_decoding` options apply to `transfer` unless overridden, survive serialization, and
    are checked (unknown keys, sampling, contrast on one decoder) with the option named; the CLI
    string form parses to the same dict, and bad strings name the flag and the part."""
    from arae_tf.models.text_api import decoding_name, parse_decoding
    opts = parse_decoding("method=beam, beam_size=3,length_penalty=1,contrast=0.25")
    assert opts == {"method": "beam", "beam_size": 3, "length_penalty": 1.0, "contrast": 0.25}
    assert decoding_name(opts) == "beam3-lp1-c0.25" and decoding_name({}) == "" and parse_decoding("") == {}
    model = tiny_transfer(len(vocab), num_classes=2, transfer_decoding=opts)
    model.vocabulary = vocab
    texts = ["the food was good .", "bad service ."]
    assert model.transfer(texts, to=0) == model.transfer(texts, to=0, **opts)
    assert model.transfer(texts, to=0, method="greedy", contrast=0.0) == model.decode(model.encode(texts), decoder=0)
    assert model.transfer(texts, to=0, method="greedy") != model.transfer(texts, to=0)  # the options matter here
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    assert again.transfer_decoding == opts
    # An evaluation's explicit decoding replaces the model's whole (left-out options: plain greedy).
    from arae_tf.evaluation.transfer import _transfer_texts
    ex = [(t, 1) for t in texts]
    assert _transfer_texts(model, ex, 20)[2] == model.transfer(texts, to=0)
    assert _transfer_texts(model, ex, 20, decoding={"method": "greedy"})[2] == \
        model.transfer(texts, to=0, method="greedy", contrast=0.0)
    for bad, match in [({"top_k": 3}, r"unknown option\(s\) \['top_k'\]"), ({"method": "sample"}, "greedy or beam"),
                       ({"contrast": 2.0}, r"contrast must be a number in \[0, 1\]")]:
        with pytest.raises(ValueError, match=match):
            model.transfer_decoding = bad
    assert model.transfer_decoding == opts  # a refused value leaves the old one
    for spec, match in [("beam_size=4,method", "'method' is not key=value"), ("beam_size=four", "beam_size='four' is not a int"),
                        ("method=sample", "method must be greedy or beam"), ("contrast=0.1,contrast=0.2", "contrast given twice")]:
        with pytest.raises(ValueError, match="--transfer_decoding: " + match):
            parse_decoding(spec)


def test_one_nbest_list_reranked_at_any_cycle_weight_gives_the_transfers_of_that_weight(vocab, labelled):
    """`transfer_nbest_ids` + `rerank_nbest(..., γ)` is `transfer_ids(cycle=γ)` for every γ (what
    transfer_sweep relies on to search once per β); it refuses another method than beam search."""
    from arae_tf.models.decoding import rerank_nbest
    tokens, labels = labelled
    model = tiny_transfer(len(vocab))
    beam = dict(method="beam", beam_size=3, length_penalty=1.0, contrast=0.2)
    to = (labels + 1) % 3
    seqs, scores, cycle_terms = model.transfer_nbest_ids(tokens, to, **beam)
    assert seqs.shape == (len(tokens), 3, 20) and scores.shape == cycle_terms.shape == (len(tokens), 3)
    picks = []
    for gamma in (0.0, 0.5, 1e4):
        got = rerank_nbest(seqs, scores, cycle_terms, gamma).numpy()
        np.testing.assert_array_equal(got, model.transfer_ids(tokens, to, cycle=gamma, **beam))
        picks.append(got)
    assert not np.array_equal(picks[0], picks[2])  # the weight matters on these lists
    with pytest.raises(ValueError, match="method must be 'beam', got 'greedy'"):
        model.transfer_nbest_ids(tokens, to, method="greedy")


def test_cycle_reranking_keeps_the_beam_candidate_the_source_reads_back_from_best(vocab):
    """`cycle` γ: each transfer is the beam candidate maximising its beam score + γ * (per-token
    log-likelihood of the source under the other decoders, given the candidate's code). γ 0 is the
    beam's own best; a very large γ picks by the cycle term alone (recomputed here from the n-best
    list); it needs beam search and a number >= 0, named when refused."""
    from arae_tf.data.vocab import BOS_ID, PAD_ID
    from arae_tf.models.decoding import BeamSampler
    from arae_tf.models.text_api import decoding_name, parse_decoding
    model = tiny_transfer(len(vocab), num_classes=2)
    model.vocabulary = vocab
    texts = ["the food was good .", "bad service .", "the staff was rude and slow .", "great ."]
    beam = dict(method="beam", beam_size=3, length_penalty=1.0, contrast=0.2)
    tokens = model._texts_to_ids(texts)
    from arae_tf.models.decoding import cycle_transfer_by_class, decode_by_class
    np.testing.assert_array_equal(  # gamma 0 through the reranking code: the beam's own best
        cycle_transfer_by_class(model.backbone, tokens, np.ones(4, np.int32), 0.0, **beam).numpy(),
        decode_by_class(model.backbone, model.backbone.encode(tokens), np.ones(4, np.int32), **beam).numpy())
    # Scored a few candidate rows at a time (bounded memory): the same choices as all at once, eagerly
    # and in a graph (where the transfer and the SavedModel run it), also when no sentence goes to a class.
    import tensorflow as tf
    for classes in ([1, 0, 1, 1], [1, 1, 1, 1]):
        classes = np.array(classes, np.int32)
        whole = cycle_transfer_by_class(model.backbone, tokens, classes, 0.5, chunk_rows=1000, **beam).numpy()
        np.testing.assert_array_equal(
            cycle_transfer_by_class(model.backbone, tokens, classes, 0.5, chunk_rows=4, **beam).numpy(), whole)
        graph = tf.function(lambda t, c: cycle_transfer_by_class(model.backbone, t, c, 0.5, chunk_rows=4, **beam))
        np.testing.assert_array_equal(graph(tf.constant(tokens), tf.constant(classes)).numpy(), whole)
    with pytest.raises(ValueError, match="chunk_rows must be an integer >= 1, got 0"):
        cycle_transfer_by_class(model.backbone, tokens, classes, 0.5, chunk_rows=0, **beam)
    chosen = model.transfer_ids(tokens, 1, cycle=1e4, **beam)
    bb = model.backbone
    seqs, _ = BeamSampler(3, 1.0).nbest(bb, bb.encode(tokens), max_len=20, decoder=1, contrast=0.2)
    seqs = seqs.numpy()
    flat = seqs.reshape(-1, 20)
    z_cand = bb.encode(np.concatenate([np.full((len(flat), 1), BOS_ID, np.int32), flat], axis=1))
    x = np.repeat(tokens, 3, axis=0)
    per_token = (-bb.sentence_nll(z_cand, x, decoder=0).numpy() / (x[:, 1:] != PAD_ID).sum(1)).reshape(-1, 3)
    for i in range(len(texts)):
        hit = [k for k in range(3) if np.array_equal(seqs[i, k], chosen[i])]
        assert hit, (i, chosen[i], seqs[i])
        assert per_token[i, hit[0]] >= per_token[i].max() - 1e-4
    assert parse_decoding("method=beam,cycle=0.2") == {"method": "beam", "cycle": 0.2}
    assert decoding_name({"method": "beam", "beam_size": 8, "contrast": 0.3, "cycle": 0.1}) == "beam8-c0.3-cyc0.1"
    with pytest.raises(ValueError, match="cycle > 0 reranks a beam's candidates; it needs method=beam"):
        model.transfer(texts, to=1, method="greedy", cycle=0.1)
    with pytest.raises(ValueError, match="cycle must be a finite number >= 0"):
        model.transfer(texts, to=1, method="beam", cycle=-1.0)
    with pytest.raises(ValueError, match="--transfer_decoding: cycle > 0 reranks"):
        parse_decoding("cycle=0.1")
    with pytest.raises(ValueError, match="needs method=beam"):
        model.transfer_decoding = {"cycle": 0.1}
    model.transfer_decoding = {"method": "beam", "beam_size": 3, "cycle": 0.5}
    assert model.transfer(texts, to=0) == model.transfer(texts, to=0, method="beam", beam_size=3, cycle=0.5)
    assert model.transfer([], to=0) == []
    # The paper's greedy decoding overrides a stored reranking (it is for the beam), as the card says.
    assert model.transfer(texts, to=0, method="greedy", contrast=0) == model.decode(model.encode(texts), decoder=0)
    # Three classes: the source is scored by the mean over the decoders other than the target's.
    three = tiny_transfer(len(vocab), num_classes=3)
    three.vocabulary = vocab
    out = three.transfer_ids(tokens, [0, 1, 2, 1], cycle=1.0, **beam)
    assert out.shape == (4, 20) and all(out[i, 0] != PAD_ID for i in range(4))
    from arae_tf.evaluation import transfer as transfer_lib
    grid = transfer_lib.decoding_grid("beam", 8, 1.0, ["0.3"], ["0", "0.1"])
    assert grid == [{"method": "beam", "contrast": 0.3, "beam_size": 8, "length_penalty": 1.0},
                    {"method": "beam", "contrast": 0.3, "beam_size": 8, "length_penalty": 1.0, "cycle": 0.1}]
    with pytest.raises(ValueError, match="--cycle=0.1 reranks a beam's candidates"):
        transfer_lib.decoding_grid("greedy", 8, 1.0, ["0.3"], ["0.1"])
