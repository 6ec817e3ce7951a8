"""The WAE family (SPEC 2.4): regularisers against brute force, the models' training pieces, learning on the built-in corpus."""

import itertools
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from arae_tf.data.vocab import BOS_ID, PAD_ID, UNK_ID
from arae_tf.models import VAE, WAE, AE, regularizers
from tests.conftest import tiny_backbone, train_workdir

SCALES = regularizers.KERNEL_SCALES


# -- regularisers ---------------------------------------------------------------
def _brute_kernel(a, b, kernel, prior_var=1.0):
    d = a.shape[-1]
    out = 0.0
    for s in SCALES:
        c = 2 * d * prior_var * s
        dist = np.sum((a - b) ** 2)
        out += c / (c + dist) if kernel == "imq" else np.exp(-dist / c)
    return out


def _brute_mmd(x, y, kernel, prior_var=1.0):
    n, m = len(x), len(y)
    kxx = sum(_brute_kernel(x[i], x[j], kernel, prior_var) for i, j in itertools.permutations(range(n), 2))
    kyy = sum(_brute_kernel(y[i], y[j], kernel, prior_var) for i, j in itertools.permutations(range(m), 2))
    kxy = sum(_brute_kernel(x[i], y[j], kernel, prior_var) for i in range(n) for j in range(m))
    return kxx / (n * (n - 1)) + kyy / (m * (m - 1)) - 2 * kxy / (n * m)


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
@pytest.mark.parametrize("n,m", [(7, 7), (5, 9)])
def test_mmd_matches_brute_force(kernel, n, m):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(n, 3)), rng.normal(0.5, 1.5, size=(m, 3))
    got = float(regularizers.mmd(x.astype(np.float32), y.astype(np.float32), kernel, prior_var=2.0))
    assert np.isclose(got, _brute_mmd(x, y, kernel, prior_var=2.0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_near_zero_for_one_distribution_and_positive_for_shifted(kernel):
    rng = np.random.default_rng(1)
    same = [float(regularizers.mmd(rng.normal(size=(256, 8)).astype(np.float32),
                                   rng.normal(size=(256, 8)).astype(np.float32), kernel)) for _ in range(5)]
    shifted = float(regularizers.mmd(rng.normal(size=(256, 8)).astype(np.float32),
                                     rng.normal(1.0, 1.0, size=(256, 8)).astype(np.float32), kernel))
    assert abs(np.mean(same)) < 0.01 * shifted
    assert shifted > 0.1


def test_mmd_is_unbiased_whatever_the_batch_size():
    """Same distributions at N = 8 and N = 256: the unbiased estimator has the same mean (a 1/N^2 or
    constant-N estimator would not)."""
    rng = np.random.default_rng(2)

    def mean_mmd(n, draws):
        return np.mean([float(regularizers.mmd(rng.normal(size=(n, 4)).astype(np.float32),
                                               rng.normal(0.7, 1.0, size=(n, 4)).astype(np.float32)))
                        for _ in range(draws)])

    small, large = mean_mmd(8, 400), mean_mmd(256, 20)
    assert abs(small - large) < 0.1 * large, (small, large)
    # The biased estimator (diagonal included, 1/N^2) is far off at N = 8.
    x, y = rng.normal(size=(8, 4)), rng.normal(0.7, 1.0, size=(8, 4))
    biased = (sum(_brute_kernel(a, b, "imq") for a in x for b in x) / 64
              + sum(_brute_kernel(a, b, "imq") for a in y for b in y) / 64
              - 2 * sum(_brute_kernel(a, b, "imq") for a in x for b in y) / 64)
    assert biased - _brute_mmd(x, y, "imq") > 0.5 * large


def test_mmd_of_a_single_code_is_zero_and_a_batch_of_one_trains(vocab, batch):
    """A pass's last, partial length bucket can hold one sentence: the unbiased MMD has no estimate
    for N = 1, so it is 0 there (finite, with a finite gradient) instead of 0/0 = NaN in every weight."""
    one = tf.Variable(np.ones((1, 4), np.float32))
    prior = tf.constant(np.random.default_rng(0).normal(size=(1, 4)).astype(np.float32))
    with tf.GradientTape() as tape:
        value = regularizers.mmd(one, prior)
    assert float(value) == 0.0 and np.all(np.isfinite(tape.gradient(value, one).numpy()))
    assert float(regularizers.mmd(np.ones((2, 4), np.float32), prior)) == 0.0  # M = 1 as well
    model = tiny_wae(len(vocab), stochastic=True, kl_weight=0.01)
    logs = model.train_step({"tokens": tf.constant(batch[:1])})
    assert all(np.isfinite(float(v)) for v in logs.values()), logs
    assert all(np.all(np.isfinite(w.numpy())) for w in model.trainable_weights)


def test_kl_terms_match_closed_forms():
    rng = np.random.default_rng(3)
    mu, log_var = rng.normal(size=(4, 5)).astype(np.float32), rng.normal(size=(4, 5)).astype(np.float32)
    var = np.exp(log_var)
    expected = 0.5 * np.sum(var + mu ** 2 - 1 - log_var, axis=1)
    np.testing.assert_allclose(regularizers.gaussian_kl(mu, log_var), expected, rtol=1e-5)
    aux = np.sum(-np.log(np.sqrt(var)) + (var - 1) / 2, axis=1)
    np.testing.assert_allclose(regularizers.auxiliary_kl(log_var), aux, rtol=1e-5)
    zeros = np.zeros((2, 5), np.float32)
    np.testing.assert_allclose(regularizers.gaussian_kl(zeros, zeros), 0.0, atol=1e-7)
    np.testing.assert_allclose(regularizers.auxiliary_kl(zeros), 0.0, atol=1e-7)  # any mu: N(mu, I) itself
    assert float(regularizers.auxiliary_kl(np.full((1, 5), -8.0, np.float32))[0]) > 15  # sigma -> 0 is penalised


def test_sigmoid_schedule():
    w = [float(regularizers.sigmoid_weight(t, 2.0, 0.01, 1000)) for t in (0, 1000, 5000)]
    assert w[0] < 0.01 and np.isclose(w[1], 1.0) and np.isclose(w[2], 2.0, atol=1e-6)


# -- models -------------------------------------------------------------------------
def tiny_wae(vocab_size, stochastic=False, **kw):
    keras.utils.set_random_seed(1)
    model = WAE(tiny_backbone(vocab_size, normalize_code=False, stochastic=stochastic), **kw)
    model.compile(optimizer="adam")
    return model


def tiny_vae(vocab_size, **kw):
    keras.utils.set_random_seed(1)
    model = VAE(tiny_backbone(vocab_size, normalize_code=False, stochastic=True), **kw)
    model.compile(optimizer="adam")
    return model


def test_bad_constructor_arguments(vocab):
    with pytest.raises(ValueError, match="normalize_code=False"):
        WAE(tiny_backbone(len(vocab)))
    with pytest.raises(ValueError, match="Gaussian encoder"):
        WAE(tiny_backbone(len(vocab), normalize_code=False), kl_weight=0.1)
    with pytest.raises(ValueError, match="Gaussian encoder"):
        VAE(tiny_backbone(len(vocab), normalize_code=False))
    with pytest.raises(ValueError, match="kernel"):
        WAE(tiny_backbone(len(vocab), normalize_code=False), kernel="laplace")
    with pytest.raises(ValueError, match="annealing"):
        VAE(tiny_backbone(len(vocab), normalize_code=False, stochastic=True), annealing="linear")


def test_word_dropout_replaces_only_words_at_the_scheduled_rate(vocab, batch):
    model = tiny_vae(len(vocab), word_dropout=0.5, word_dropout_step=0.05, word_dropout_every=10)
    assert float(model.current_word_dropout()) == 0.0
    model.train_iterations.assign(35)
    assert np.isclose(float(model.current_word_dropout()), 0.15)
    model.train_iterations.assign(1000)
    assert np.isclose(float(model.current_word_dropout()), 0.5)
    tokens = tf.constant(np.tile(batch, (200, 1)))
    inputs = model.decoder_inputs(tokens).numpy()
    orig = tokens.numpy()[:, :-1]
    words = (orig != PAD_ID) & (orig != BOS_ID)
    np.testing.assert_array_equal(inputs[~words], orig[~words])  # <bos> and padding untouched
    changed = inputs[words] != orig[words]
    assert np.all(inputs[words][changed] == UNK_ID)
    assert abs(changed.mean() - 0.5) < 0.02


def test_vae_kl_weight_freezes_at_the_peak(vocab):
    model = tiny_vae(len(vocab), kl_weight=1.0, anneal_rate=0.01, anneal_midpoint=100, anneal_check_every=10)
    weighted = [1.0] * 10 + [2.0] * 10 + [3.0] * 10 + [2.5] * 10  # window means rise, rise, then fall
    for it, v in enumerate(weighted):
        model.train_iterations.assign(it)
        w = model.current_kl_weight()
        model._track_peak(tf.constant(v), w)
        if it < 39:
            assert float(model.frozen_kl_weight) < 0, it
    frozen = float(model.frozen_kl_weight)
    assert np.isclose(frozen, float(regularizers.sigmoid_weight(39, 1.0, 0.01, 100)))
    model.train_iterations.assign(10000)
    assert np.isclose(float(model.current_kl_weight()), frozen)  # no longer follows the schedule
    const = tiny_vae(len(vocab), kl_weight=0.3, annealing="constant")
    assert np.isclose(float(const.current_kl_weight()), 0.3)


@pytest.mark.parametrize("factory,kw", [(tiny_wae, {}), (tiny_wae, dict(stochastic=True, kl_weight=0.1)),
                                        (tiny_vae, dict(word_dropout=0.3))])
def test_train_step_lowers_loss_and_round_trips(tmp_path, vocab, batch, factory, kw):
    model = factory(len(vocab), **kw)
    data = {"tokens": tf.constant(batch)}
    first = model.train_step(data)
    for _ in range(15):  # eagerly: a few steps on one batch
        last = model.train_step(data)
    assert float(last["rec_loss"]) < float(first["rec_loss"])
    assert int(model.train_iterations.numpy()) == 16
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model) and loaded.get_config() == model.get_config()
    assert loaded.optimizer.get_config() == model.optimizer.get_config()  # compiled as saved
    np.testing.assert_array_equal(model.reconstruct_ids(batch), loaded.reconstruct_ids(batch))
    np.testing.assert_array_equal(model.generate_ids(3, seed=4), loaded.generate_ids(3, seed=4))
    mu, log_var = model.encode_distribution(batch)
    assert mu.shape == (len(batch), 8) and (log_var is None) == (not model.backbone.stochastic)
    loaded.train_step(data)  # and trains on


def test_prior_is_standard_normal(vocab):
    model = tiny_wae(len(vocab))
    z = model.sample_codes(20000, seed=3).numpy()
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1.0) < 0.02
    np.testing.assert_array_equal(z, model.sample_codes(20000, seed=3).numpy())
    ae = AE(tiny_backbone(len(vocab), normalize_code=False), prior="normal")
    assert ae.fit_code_distribution([{"tokens": np.ones((2, 3), np.int32)}]) == 0  # nothing to fit
    np.testing.assert_array_equal(ae.sample_codes(5, seed=3).numpy(), model.sample_codes(5, seed=3).numpy())


def test_source_batch_is_encoded_and_tokens_decoded(vocab, batch):
    """Encoder-decoder data (dialog): the code comes from "source", the loss from "tokens"."""
    model = tiny_wae(len(vocab))
    src, tgt = tf.constant(batch), tf.constant(batch[::-1].copy())
    model.train_step({"source": src, "tokens": tgt})
    for m in model.metrics:
        m.reset_state()
    out = model.test_step({"source": src, "tokens": tgt})
    z_src = model.backbone.encode(src)
    expected = model.backbone.reconstruction(z_src, tgt)
    assert np.isclose(float(out["rec_loss"]), float(expected["nll_sum"] / expected["tokens"]), rtol=1e-5)


# -- learning on the built-in corpus --------------------------------------------------
@pytest.fixture(scope="module")
def wae_runs(tmp_path_factory):
    from arae_tf.configs import wae_builtin
    return {name: train_workdir(tmp_path_factory, wae_builtin.get_config(name), name.replace(",", "_"), steps=600)
            for name in ("wae_d", "wae_s,0.1")}


def test_wae_learns_the_builtin_corpus(wae_runs):
    from arae_tf.data import synthetic
    from arae_tf.evaluation import load_trained
    workdir, config, metrics = wae_runs["wae_d"]
    assert metrics["val_bleu"] > 60, metrics
    # Codes are pulled towards N(0, I) (16 dims): per-dimension variance of order 1, not collapsed or exploding.
    assert 4 < metrics["val_code_cov_trace"] < 40, metrics
    model, _, _ = load_trained(workdir)
    samples = model.sample(200, seed=0)
    assert np.mean([synthetic.is_grammatical(s) for s in samples]) > 0.7, samples[:10]


def test_wae_s_reconstruction_pushes_sigma_down_and_only_the_kl_term_holds_it(wae_runs):
    """Why WAE-S's sigma collapses without lambda_KL (Bahuleyan et al.): for a decoder that reads the
    code, the reconstruction loss is lower with less encoder noise, so its gradient drives sigma to 0;
    the KL term (closed form tested above) is the only term that pulls sigma back to 1. Measured on a
    trained WAE-S (any model whose reconstruction BLEU meets the bar), with common random numbers:
    the same noise draws at the encoder's sigma and at half of it. (Whether sigma has visibly fallen
    after a short run depends on the run, so that is not asserted.)"""
    import tensorflow as tf
    from arae_tf.data import pipeline, synthetic
    from arae_tf.evaluation import load_trained
    workdir, _, metrics = wae_runs["wae_s,0.1"]
    assert metrics["val_bleu"] > 40, metrics  # the decoder reads the code
    model, _, _ = load_trained(workdir)
    tokens = pipeline.padded_batch([t for t, _ in synthetic.generate(256, num_classes=1, seed=5)], model.vocabulary)
    mu, log_var = model.backbone.encode_distribution(tokens)
    sigma = tf.exp(0.5 * log_var)
    nll = {1.0: 0.0, 0.5: 0.0}
    for draw in range(8):
        eps = tf.random.stateless_normal(tf.shape(mu), [draw, 0])
        for scale in nll:
            stats = model.backbone.reconstruction(mu + scale * sigma * eps, tokens)
            nll[scale] += float(stats["nll_sum"] / stats["tokens"])
    assert nll[0.5] < nll[1.0], nll


def test_paper_table_puts_the_papers_numbers_beside_ours():
    from arae_tf.evaluation import paper_tables as tables
    m = {"reconstruction": {"bleu": 50.0}, "samples": {"forward_ppl": 80.0, "unigram_kl": 0.1, "entropy": 5.0,
                                                        "avg_len": 9.0, "corpus_entropy": 5.5, "corpus_avg_len": 10.0}}
    text = tables.wae_table([("DAE", m), ("WAE-S λ_KL=0.01", m)])
    lines = text.splitlines()
    assert lines[2].startswith("| DAE | 50.00 | 80.0 | 0.100 | 5.00 | 9.0 | 86.35 | 146.2 | 0.178 | 6.23 | 11.0 |")
    # The corpus row's UniKL is real test text's at the rows' count; "–" for evaluations that lack it.
    assert lines[-1] == "| corpus (test) | – | – | – | 5.50 | 10.0 | – | – | 0.000 | 5.65 | 9.6 |"
    m["samples"]["unigram_kl_real"] = 0.098
    assert tables.wae_table([("DAE", m)]).splitlines()[-1].startswith("| corpus (test) | – | – | 0.098 | 5.50 |")
    with pytest.raises(KeyError, match="known"):
        tables.wae_table([("WAE-X", m)])
    # An evaluation without forward PPL (samples_report(real_lm=None)) shows "–" there, not a KeyError.
    del m["samples"]["forward_ppl"]
    assert tables.wae_table([("DAE", m)]).splitlines()[2].startswith("| DAE | 50.00 | – | 0.100 |")


def test_model_card_gives_unikl_in_the_models_vocabulary_where_measured():
    """A WAE preset card states the in-vocabulary UniKL and entropy beside the raw table (evaluations since
    session 24), with or without the paper's row, and says nothing of it for older evaluations."""
    from arae_tf import preset_lib
    s = {"forward_ppl": 80.0, "unigram_kl": 0.2, "entropy": 5.3, "avg_len": 9.0, "corpus_entropy": 5.66,
         "corpus_avg_len": 10.0, "unigram_kl_real": 0.099}
    m = {"reconstruction": {"bleu": 50.0, "token_acc": 0.9}, "samples": dict(s)}
    for row in ("", "WAE-S λ_KL=0.01"):
        assert "model's vocabulary" not in "\n".join(preset_lib._evaluation_section("text", m, row))
    m["samples"].update(unigram_kl_vocab=0.106, unigram_kl_vocab_real=0.061, unigram_kl_n=5000,
                        corpus_entropy_vocab=5.56)
    for row in ("", "WAE-S λ_KL=0.01"):
        card = "\n".join(preset_lib._evaluation_section("text", m, row))
        assert ("UniKL 0.106 (real text 0.061, n 5000), sample entropy 5.30 (corpus 5.56)." in card), card
    m["reconstruction"]["bleu_by_length"] = [{"words": "1-10", "sentences": 3, "avg_words": 8.0, "bleu": 89.4}]
    assert "BLEU by reference length: 1-10 words 89.40 (3 sentences, avg 8.0)." in "\n".join(
        preset_lib._evaluation_section("text", m, ""))
    # A missing figure is "–" in the card's own table, as in the paper tables (one formatter: report.num).
    del m["samples"]["forward_ppl"]
    assert "| 50.00 | 0.900 | – | 0.200 | 5.30 | 9.0 |" in preset_lib._evaluation_section("text", m, "")
    transfer = preset_lib._evaluation_section("transfer", {"reconstruction": {"bleu": 50.0}, "transfer": {}}, "")
    assert transfer[2] == "| – | – | – | – | 50.00 | – |"


def test_one_formatter_for_missing_figures():
    from arae_tf.evaluation.report import num
    assert (num(None, 2), num(float("nan"), 1), num(3.14159, 2), num(0, 3)) == ("–", "–", "3.14", "0.000")


def test_table_rows_read_a_workdirs_report_or_a_checkpoints_report(tmp_path):
    import json
    from arae_tf.evaluation import paper_tables as tables
    for d, bleu in (("eval", 1.0), ("eval-4000", 2.0)):
        os.makedirs(tmp_path / d)
        (tmp_path / d / "metrics.json").write_text(json.dumps({"reconstruction": {"bleu": bleu}}))
    assert tables.load_eval(str(tmp_path))["reconstruction"]["bleu"] == 1.0
    assert tables.load_eval(str(tmp_path / "eval-4000"))["reconstruction"]["bleu"] == 2.0
    with pytest.raises(FileNotFoundError, match="nowhere.*run `python -m arae_tf.evaluate"):
        tables.load_eval(str(tmp_path / "nowhere"))


# -- dialog: encoder-decoders from context to reply ------------------------------
def test_pairs_file_gives_examples_with_sources(tmp_path, vocab):
    from arae_tf.data import pipeline
    p = tmp_path / "pairs.tsv"
    p.write_text("the food was bad .\tthe food was good .\nthe staff was rude .\twhy was the staff rude ?\n")
    ex = pipeline.read_text_file(str(p), text_column=1, source_column=0)
    assert ex == [("the food was good .", 0), ("why was the staff rude ?", 0)]  # unpacks as (text, label)
    assert [e.source for e in ex] == ["the food was bad .", "the staff was rude ."]
    batch = next(iter(pipeline.make_dataset(ex, vocab, 8, 12, shuffle=False, bucket=False)))
    assert vocab.decode(batch["source"].numpy()[1]) == "the staff was rude ."
    assert vocab.decode(batch["tokens"].numpy()[0]) == "the food was good ."
    # The length policy applies to both sides: a long text or source drops the pair.
    seqs, _, src = pipeline.encode_examples(ex, vocab, max_len=5, with_sources=True)
    assert len(seqs) == 1 and vocab.decode(src[0]) == "the food was bad ."
    short = [pipeline.Example("the food was good .", 0, "i thought the food was very bad .")]
    with pytest.raises(pipeline.DataError, match="no examples left"):
        pipeline.encode_examples(short, vocab, max_len=5, with_sources=True)
    (tmp_path / "bad.tsv").write_text("a .\tb .\n \tc .\n")
    with pytest.raises(pipeline.DataError, match=r"bad.tsv, line 2: empty source \(column 0\)"):
        pipeline.read_text_file(str(tmp_path / "bad.tsv"), text_column=1, source_column=0)
    with pytest.raises(ValueError, match="source_column needs text_column"):
        pipeline.read_text_file(str(p), source_column=0)


@pytest.fixture(scope="module")
def dialog_run(tmp_path_factory):
    from arae_tf.configs import wae_builtin
    c = wae_builtin.get_config("wae_d,3")
    c.data.builtin_task = "dialog"
    return train_workdir(tmp_path_factory, c, "wed_builtin", steps=1500)


def test_wed_learns_to_reply_on_the_builtin_dialog_task(dialog_run):
    """WED-D reads the context and writes "why {verb} {subj} {adj} ?" with the context's three choices."""
    from arae_tf import evaluation, train_lib
    from arae_tf.data import synthetic
    from arae_tf.metrics.lm import LMSettings

    workdir, _, metrics = dialog_run
    model, vocab, config = evaluation.load_trained(workdir)
    held_out = synthetic.generate_dialog(200, seed=7)
    replies = model.respond([e.source for e in held_out], max_len=10)
    exact = np.mean([r == e[0] for r, e in zip(replies, held_out)])
    assert exact >= 0.8, (exact, list(zip(replies[:5], held_out[:5])))
    assert metrics["val_bleu"] > 70  # validation BLEU of replies decoded from the contexts' codes
    settings = evaluation.EvalSettings(num_samples=50, reverse_samples=-1, diagnostic_sentences=20, decode_max_len=10,
                                       lm=LMSettings(embed_dim=8, hidden_dim=8, steps=3))
    m = evaluation.evaluate_workdir(workdir, settings)
    d = m["dialog"]
    assert d["code"] == "posterior mean" and d["pairs"] == 1000 and d["bleu4"] > 70 and d["bleu2"] >= d["bleu4"]
    assert abs(d["reference"]["avg_len"] - 6.0) < 1e-9  # "why was the food bad ?"-shaped replies
    # The deterministic encoder's replies are the reconstruction report's, reused: the same figures as
    # decoding them again, and a reply list of the wrong length is refused.
    test = train_lib.load_examples(config.data, "test")
    again = evaluation.dialog_report(model, vocab, test, config, 10)
    assert {k: again[k] for k in ("bleu2", "bleu4", "dist1", "entropy")} == \
        {k: d[k] for k in ("bleu2", "bleu4", "dist1", "entropy")}
    with pytest.raises(ValueError, match="greedy_replies has 3 replies for 1000 pairs"):
        evaluation.dialog_report(model, vocab, test, config, 10, greedy_replies=["a", "b", "c"])
    from arae_tf.evaluation import paper_tables as tables
    text = tables.dialog_table([("WED-D", m)])
    assert text.count("\n") == 3 and "| WED-D | " in text and "| test replies | – | – |" in text
    with pytest.raises(KeyError, match="not rows of the paper's table"):
        tables.dialog_table([("WED-Q", m)])


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); `make test-slow`
def test_make_preset_of_a_dialog_model(dialog_run, tmp_path):
    """`make_preset` publishes a WED: a loadable preset whose card shows `respond` and the paper's row; a
    wrong --paper_row is refused before anything is written."""
    import subprocess
    import sys

    from arae_tf import evaluation, zoo
    from arae_tf.data import synthetic
    from arae_tf.metrics.lm import LMSettings
    from tests.conftest import REPO

    workdir, _, _ = dialog_run
    if not os.path.exists(os.path.join(workdir, "eval", "metrics.json")):
        evaluation.evaluate_workdir(workdir, evaluation.EvalSettings(
            num_samples=50, reverse_samples=-1, diagnostic_sentences=20, decode_max_len=10,
            lm=LMSettings(embed_dim=8, hidden_dim=8, steps=3)))
    cmd = [sys.executable, "-m", "arae_tf.make_preset", f"--workdir={workdir}", "--name=wed_tiny",
           f"--zoo_dir={tmp_path}", "--description=a tiny WED-D"]
    bad = subprocess.run(cmd + ["--paper_row=WED-Q"], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode != 0 and "not a row of the WAE paper tables" in bad.stderr
    blank = subprocess.run(cmd + ["--description= "], cwd=REPO, capture_output=True, text=True)
    assert blank.returncode != 0 and "--description must say in one line what the preset is" in blank.stderr
    assert os.listdir(tmp_path) == []
    ok = subprocess.run(cmd + ["--paper_row=WED-D", "--code_fit"], cwd=REPO, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert os.listdir(tmp_path) == ["wed_tiny"]  # no ".partial" left behind
    card = (tmp_path / "wed_tiny" / "MODEL_CARD.md").read_text()
    assert "m.respond([" in card and "| WED-D | " in card and "m.transfer(" not in card
    assert re.search(r"\d+\.\d% of 1,000 greedy test replies are identical", card), card
    model = zoo.load(str(tmp_path / "wed_tiny"), compile=False)
    ctx = [e.source for e in synthetic.generate_dialog(20, seed=7)]
    trained, _, _ = evaluation.load_trained(workdir)
    same = np.mean([a == b for a, b in zip(model.respond(ctx, max_len=10), trained.respond(ctx, max_len=10))])
    assert same >= 0.9  # float16 storage
    # --code_fit: the Gaussian fit of the contexts' codes travels with the preset, shown in the card.
    assert model.code_fit is not None and len(model.sample(3, seed=0, prior="gaussian_fit")) == 3
    assert model.preset["code_fit"]["codes"] > 100
    assert 'prior="gaussian_fit")  # from the Gaussian fit' in card and "Fitted by `make_preset --code_fit`" in card


def test_paper_configs_read_their_data():
    """configs/wae_snli.py and configs/wed_dailydialog.py point at ../shared/data with the right columns."""
    from arae_tf import train_lib
    from arae_tf.configs import wae_snli, wed_dailydialog
    dialog = train_lib.load_examples(wed_dailydialog.get_config("wae_d,3").data, "test")
    assert len(dialog) == 2517 and all(e.source for e in dialog[:50])
    assert dialog[0].source != dialog[0][0]  # context and reply are different columns
    snli = train_lib.load_examples(wae_snli.get_config("vae").data, "test")
    assert len(snli) == 5000 and not hasattr(snli[0], "source")


@pytest.mark.parametrize("module", ["wae_snli", "wed_dailydialog", "wae_builtin"])
def test_every_table_row_of_the_paper_configs_builds(module):
    """Each row variant builds its model (WAE-D under the WAE-S paper settings once kept λ_KL 0.01
    and failed at start-up)."""
    import importlib

    from arae_tf.models import build_model
    get_config = importlib.import_module(f"configs.{module}").get_config
    for variant in ("dae", "vae", "wae_d,3", "wae_d,10", "wae_s,0", "wae_s,0.01", "wae_s,0.1"):
        c = get_config(variant)
        c.backbone.embed_dim = c.backbone.hidden_dim = c.backbone.latent_dim = 8
        model = build_model(c, 30)
        stochastic = variant.startswith(("vae", "wae_s"))
        assert bool(getattr(model.backbone, "stochastic", False)) == stochastic, variant


def test_the_gaussian_fit_of_a_dialog_model_is_of_its_contexts_codes(vocab):
    """Encoder-decoder data: a reply is generated from its context's code, so the codes a Gaussian fit
    (`evaluate --prior=gaussian_fit`, `add_code_fit`) is made of are the contexts', not the replies'."""
    from arae_tf import config_base
    from arae_tf.arithmetic import codes
    from arae_tf.data import synthetic
    from arae_tf.prior_lib import training_codes
    from tests.conftest import tiny_ae
    config = config_base.base_config()
    config.data.source, config.data.builtin_task, config.data.builtin_train_size = "builtin", "dialog", 50
    pairs = synthetic.generate_dialog(50, seed=config.seed)
    model = tiny_ae(len(vocab))
    model.vocabulary = vocab
    got = training_codes(model, config)
    np.testing.assert_allclose(got, codes(model, [e.source for e in pairs]), atol=1e-6)
    assert not np.allclose(got, codes(model, [e[0] for e in pairs]), atol=1e-3)
