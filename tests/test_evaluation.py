"""fastText transfer classifier, latent diagnostics and the evaluation binary's library."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from arae_tf import evaluation
from arae_tf.data import synthetic
from arae_tf.metrics import classifier as classifier_lib
from arae_tf.metrics import latent
from arae_tf.data.vocab import Vocabulary
from arae_tf.metrics import lm as lm_lib
from arae_tf.metrics.lm import LMSettings
from tests.conftest import REPO, tiny_ae


# -- fastText classifier ------------------------------------------------------
@pytest.fixture(scope="module")
def three_class():
    return synthetic.generate(3000, num_classes=3, seed=0), synthetic.generate(300, num_classes=3, seed=5)


def test_classifier_learns_three_classes_deterministically(tmp_path, three_class):
    train, test = three_class
    texts, labels = [t for t, _ in test], [y for _, y in test]
    clf = classifier_lib.SentimentClassifier.train(train, verbose=False)
    assert clf.num_classes == 3
    assert clf.accuracy(texts, labels) >= 0.99  # class words are disjoint by construction
    again = classifier_lib.SentimentClassifier.train(train, verbose=False)
    np.testing.assert_array_equal(clf.probabilities(texts[:50]), again.probabilities(texts[:50]))
    clf.save(str(tmp_path))
    loaded = classifier_lib.SentimentClassifier.load(str(tmp_path))
    np.testing.assert_array_equal(clf.probabilities(texts[:50]), loaded.probabilities(texts[:50]))
    probs = np.array(clf.probabilities(["a line\nwith a newline", ""]))
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-3)


def test_classifier_is_trained_on_a_shuffled_file(three_class):
    """Examples sorted by label must give the same classifier as any other order (fastText reads in order)."""
    train, test = three_class
    texts = [t for t, _ in test]
    sorted_clf = classifier_lib.SentimentClassifier.train(sorted(train, key=lambda e: e[1]), verbose=False)
    assert sorted_clf.accuracy(texts, [y for _, y in test]) >= 0.99
    shares = np.bincount(sorted_clf.predict(texts), minlength=3) / len(texts)
    assert shares.min() > 0.2, shares


def test_classifier_bad_input():
    with pytest.raises(ValueError, match="at least two classes"):
        classifier_lib.SentimentClassifier.train([("a b", 0), ("c d", 0)], verbose=False)
    with pytest.raises(ValueError, match="empty"):
        classifier_lib.SentimentClassifier.train([], verbose=False)


def test_cached_classifier_reuses_and_retrains(tmp_path, three_class):
    train, _ = three_class
    d = str(tmp_path)
    classifier_lib.cached_classifier(d, train[:600])
    stamp = os.path.getmtime(os.path.join(d, "fasttext.bin"))
    classifier_lib.cached_classifier(d, train[:600])
    assert os.path.getmtime(os.path.join(d, "fasttext.bin")) == stamp
    classifier_lib.cached_classifier(d, train[:900])  # different data size: retrained
    assert json.load(open(os.path.join(d, "fasttext.json")))["num_train"] == 900


# -- latent diagnostics -------------------------------------------------------
def test_code_statistics_hand_values():
    stats = latent.code_statistics([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    assert stats["norm"] == pytest.approx(1.0)
    assert stats["cov_trace"] == pytest.approx(2 * (2 / 3))  # each coordinate: values 1,-1,0,0, ddof 1
    with pytest.raises(ValueError, match="N >= 2"):
        latent.code_statistics([[1.0, 2.0]])


def test_samples_report_without_a_reference_lm():
    """`real_lm=None`: the distribution figures alone (no forward PPL, no LM trained), in-vocabulary UniKL
    through the vocabulary's own round trip: samples that are real text as the model writes it score
    what real text scores there."""
    from arae_tf.evaluation import samples
    from arae_tf.evaluation.suite import EvalSettings
    from arae_tf.metrics import distribution
    train = ["a b c", "a b d", "b c e"] * 20 + ["a b x", "a b y"]
    held_out = ["a b x", "x b a"] * 10
    vocab = Vocabulary.build(train, min_count=2)  # 'x' and 'y', seen once each, are outside it
    m = samples.samples_report(vocab.restrict(held_out), train, held_out, vocab,
                               EvalSettings(reverse_samples=-1, unikl_sentences=20), None)
    assert "forward_ppl" not in m and "reverse_ppl" not in m
    assert m["n"] == 20 and m["unigram_kl_n"] == 20
    assert m["unigram_kl_vocab"] == pytest.approx(m["unigram_kl_vocab_real"], abs=1e-12)
    assert m["unigram_kl"] > m["unigram_kl_real"] + 0.15  # raw, 'x' written as <unk> costs (here 1.53 vs 1.30)
    # The in-vocabulary corpus entropy is the restricted training text's: 'x' and 'y' merge into <unk>.
    restricted = distribution.unigram_entropy(distribution.unigram_counts(vocab.restrict(train)))
    assert m["corpus_entropy_vocab"] == pytest.approx(restricted, abs=1e-12)
    assert m["corpus_entropy_vocab"] < m["corpus_entropy"] - 0.005


def test_perturb_swap_and_substitute():
    rng = np.random.default_rng(0)
    words = list(range(10, 20))
    swapped = latent.perturb(words, 1, rng)
    assert sorted(swapped) == words and sum(a != b for a, b in zip(swapped, words)) == 2
    assert latent.perturb(words, 0, rng) == words
    for k in (1, 2, 3):
        sub = latent.perturb(words, k, rng, "substitute", vocab_size=50)
        assert sum(a != b for a, b in zip(sub, words)) == k and min(sub) >= 4
    with pytest.raises(ValueError, match="vocab_size"):
        latent.perturb(words, 1, rng, "substitute")


def test_swap_curve_and_cosine_run_on_an_untrained_model(vocab, examples):
    model = tiny_ae(len(vocab))
    texts = [t for t, _ in examples[:40]]
    curve = latent.swap_nll_curve(model, vocab, texts, max_k=2)
    assert [c["k"] for c in curve] == [0, 1, 2] and all(c["nll_token"] > 0 for c in curve)
    cos = latent.edit_cosine(model, vocab, texts)
    assert len(cos["by_edits"]) == 3 and -1 <= cos["random_pairs"] <= 1
    assert latent.sigma_values(model, vocab, texts) is None  # deterministic encoder
    model.vocabulary = vocab
    path = model.interpolate(texts[0], texts[1], steps=4, max_len=6)
    assert len(path) == 4 and all(isinstance(p, str) for p in path)


# -- one code-fit path for training and evaluation ------------------------------
def test_evaluation_refits_the_ae_gaussian_training_saved(tmp_path):
    """The AE's code Gaussian has one fitting path (`evaluation.samples`, `eval.code_fit_batches` batches of the
    training stream): the evaluation's refit of a trained AE finds the Gaussian its last validation fitted."""
    from arae_tf import config_base, train_lib
    from arae_tf.evaluation import samples
    config = config_base.apply_variant(config_base.base_config("ae"), "smoke")
    config.data.source, config.data.num_classes = "builtin", 2
    config.data.builtin_train_size, config.data.builtin_valid_size = 400, 50
    train_lib.train_and_evaluate(config, str(tmp_path))
    model, vocab, config = evaluation.load_trained(str(tmp_path))
    assert model.fits_codes and model.decoder_classes == 1
    saved = [model.code_mean.numpy(), model.code_scale_tril.numpy()]
    model.code_mean.assign(np.zeros_like(saved[0]))
    stream = samples.code_fit_dataset(train_lib.load_examples(config.data, "train"), vocab, config)
    assert samples.fit_codes(model, stream, config) == config.eval.code_fit_batches * config.data.batch_size
    np.testing.assert_allclose(model.code_mean.numpy(), saved[0], atol=1e-6)
    np.testing.assert_allclose(model.code_scale_tril.numpy(), saved[1], atol=1e-5)


# -- the whole evaluation -----------------------------------------------------
def test_evaluate_trained_builtin_model(builtin_run):
    """evaluate_workdir on the trained built-in ARAE: files written, numbers that a good model must show."""
    workdir, _, _ = builtin_run
    lm_settings = LMSettings(embed_dim=32, hidden_dim=64, epochs=3)
    settings = evaluation.EvalSettings(num_samples=1000, diagnostic_sentences=300, decode_max_len=12, lm=lm_settings)
    m = evaluation.evaluate_workdir(workdir, settings)
    out = os.path.join(workdir, "eval")
    for f in ("metrics.json", "report.md", "samples.txt", "training_curves.png", "swap_nll.png", "code_norms.png"):
        assert os.path.getsize(os.path.join(out, f)) > 0, f
    recorded = json.load(open(os.path.join(out, "metrics.json")))
    assert recorded["samples"]["n"] == 1000
    # No folder of this machine in the report: the workdir as a checkout's `workdirs/<name>`.
    assert recorded["workdir"] == "workdirs/" + os.path.basename(workdir)
    assert os.path.dirname(os.path.abspath(workdir)) not in json.dumps(recorded)
    assert m["reconstruction"]["bleu"] >= 90 and m["reconstruction"]["token_acc"] >= 0.95
    assert m["classifier"]["test_accuracy"] >= 0.99
    assert min(m["classifier"]["sample_class_shares"]) > 0.1  # samples of both sentiments
    # Template-like samples: low forward PPL under the real-data LM, reverse PPL near the real LM's.
    assert m["samples"]["forward_ppl"] < 2.5 * m["lm"]["test_ppl_real"]
    # Reverse PPL: as good as an LM trained on as many *real* sentences, within 50%.
    train = synthetic.generate(1000, num_classes=2, seed=0)
    test = synthetic.generate(1000, num_classes=2, seed=2)  # the built-in "test" split
    vocab = Vocabulary.load(os.path.join(workdir, "vocabulary.txt"))
    real_reverse = lm_lib.reverse_ppl([t for t, _ in train], [t for t, _ in test], vocab, lm_settings)
    assert m["samples"]["reverse_ppl"] < 1.5 * real_reverse, (m["samples"]["reverse_ppl"], real_reverse)
    assert m["samples"]["unigram_kl"] < 0.5
    curve = [c["nll_sentence"] for c in m["latent"]["swap_nll"]]
    assert curve[0] < 1.0 and curve[4] > curve[0] + 1.0, curve  # swaps move the code away
    cos = m["latent"]["edit_cosine"]
    assert cos["by_edits"][0]["cosine"] > cos["random_pairs"]
    report = open(os.path.join(out, "report.md")).read()
    assert "forward PPL" in report and "![k-swap" in report
    # UniKL also in the model's own vocabulary (the synthetic corpus has no word outside it: the same figure).
    assert m["samples"]["unigram_kl_vocab"] == pytest.approx(m["samples"]["unigram_kl"])
    assert m["samples"]["corpus_entropy_vocab"] == pytest.approx(m["samples"]["corpus_entropy"])
    assert "In the model's vocabulary" in report
    by_len = m["reconstruction"]["bleu_by_length"]
    assert sum(b["sentences"] for b in by_len) == m["reconstruction"]["sentences"] and "BLEU by reference length" in report
    table = evaluation.comparison_table([m, m], ["a", "b"])
    assert table.count("\n") == 18 and "| reverse PPL |" in table
    # ARAE Table 1's baselines, measured like this report: real sentences, and samples of the reference LM.
    from arae_tf.evaluation import paper_tables
    rows = paper_tables.lm_rows(workdir)
    assert rows["Real data"]["sentences"] == rows["LM samples"]["sentences"] == 1000
    assert rows["Real data"]["reverse_ppl"] < 1.5 * real_reverse  # the same recipe as `real_reverse`, other sentences
    assert rows["LM samples"]["forward_ppl"] < 2 * m["lm"]["test_ppl_real"]  # the LM's own samples are likely under it
    assert os.path.exists(os.path.join(out, "lm_rows.json")) and paper_tables.lm_rows(workdir) == rows
    text = paper_tables.arae_generation_table([("ARAE samples", m)], rows).splitlines()
    assert text[2].startswith("| Real data |") and text[2].endswith("| 27.4 | – |")
    assert text[4].startswith(f"| ARAE samples | {m['samples']['reverse_ppl']:.1f} |") and "82.2 | 44.3 |" in text[4]


def test_evaluate_binary_errors_on_missing_workdir(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    r = subprocess.run([sys.executable, "-m", "arae_tf.evaluate", f"--workdir={tmp_path}/nothing"],
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert r.returncode != 0 and "is 'nothing'" not in r.stderr
    assert "config.json not found" in r.stderr and "training workdir" in r.stderr
    r = subprocess.run([sys.executable, "-m", "arae_tf.evaluate", f"--workdir={tmp_path}", "--model=arae_yelp"],
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert r.returncode != 0 and "exactly one of --workdir" in r.stderr
    r = subprocess.run([sys.executable, "-m", "arae_tf.evaluate", "--model=no_such_preset"],
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert r.returncode != 0 and "unknown preset 'no_such_preset'; known presets: " in r.stderr
    assert "arae_yelp" in r.stderr.split("known presets: ")[-1]
    r = subprocess.run([sys.executable, "-m", "arae_tf.evaluate", f"--workdir={tmp_path}",
                        "--reconstruction_decoding=method=beam,cycle=1"],
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert r.returncode != 0 and "--reconstruction_decoding: ['cycle'] are transfer options" in r.stderr
    assert os.listdir(tmp_path) == []  # refused before anything is written


def test_the_gaussian_fit_prior_draws_from_the_codes_mean_and_covariance():
    """evaluate --prior=gaussian_fit: ARAE Table 1's AE baseline samples from N(mean, cov) of the codes."""
    from arae_tf.evaluation import samples as samples_lib
    rng = np.random.default_rng(0)
    mix = np.array([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.0, 0.5, 2.0]])
    codes = rng.normal(size=(5000, 3)) @ mix.T + np.array([1.0, -2.0, 0.5])
    draw = samples_lib.gaussian_code_sampler(codes)
    z = draw(20000, 3).numpy()
    assert np.allclose(z.mean(0), codes.mean(0), atol=0.05)
    assert np.allclose(np.cov(z, rowvar=False), np.cov(codes, rowvar=False), atol=0.1)
    assert np.array_equal(draw(10, 3).numpy(), draw(10, 3).numpy())
    assert not np.array_equal(draw(10, 3).numpy(), draw(10, 4).numpy())


def test_a_gaussian_fit_report_has_its_own_folder():
    assert evaluation.eval_dir("w", 0, "gaussian_fit") == os.path.join("w", "eval-gaussian_fit")
    assert evaluation.eval_dir("w", 500) == os.path.join("w", "eval-500")
    assert evaluation.eval_dir("w", 0, "model", 20) == os.path.join("w", "eval-max20")
    # Another split's files: their own folder, so a validation run does not overwrite the test report.
    assert evaluation.eval_dir("w", 500, "gaussian_fit", test_files=("../shared/data/snli/valid.txt",)) == \
        os.path.join("w", "eval-500-gaussian_fit-on-valid")
    assert evaluation.eval_dir("w", 0, test_files=("a/x.txt", "b/y.tsv")) == os.path.join("w", "eval-on-x+y")
    # Reconstructions decoded otherwise than greedy: their own folder too.
    assert evaluation.eval_dir("w", 500, reconstruction_decoding="method=beam,beam_size=8") == \
        os.path.join("w", "eval-500-rec-beam8")


def test_reconstruction_decoding_options_are_checked_and_used(vocab, examples):
    """`--reconstruction_decoding`: beam options reach the decoder (the report's hypotheses are the beam's,
    recorded as such); transfer-only options and unknown keys are refused, naming the argument."""
    from arae_tf.evaluation import paper_tables, reconstruction
    from arae_tf.models.text_api import parse_reconstruction_decoding
    from arae_tf import config_base
    assert parse_reconstruction_decoding("") == {}
    beam = parse_reconstruction_decoding("method=beam,beam_size=3,length_penalty=1")
    assert beam == {"method": "beam", "beam_size": 3, "length_penalty": 1.0}
    with pytest.raises(ValueError, match=r"--reconstruction_decoding: \['contrast'\] are transfer options"):
        parse_reconstruction_decoding("method=beam,contrast=0.1")
    with pytest.raises(ValueError, match="--reconstruction_decoding: 'beams=3' is not key=value"):
        parse_reconstruction_decoding("beams=3")
    with pytest.raises(ValueError, match="reconstruction_decoding: method must be greedy or beam"):
        evaluation.eval_dir("w", reconstruction_decoding="method=sample")
    model = tiny_ae(len(vocab))
    config = config_base.base_config("ae")
    texts = examples[:12]
    calls, decode = [], model.decode_ids
    model.decode_ids = lambda z, **kw: calls.append(kw) or decode(z, **kw)
    metrics, pairs, hyps = reconstruction.reconstruction_report(model, vocab, texts, config, 8, decoding=beam)
    assert calls == [{"max_len": 8, **beam}]
    ds = reconstruction.heldout_dataset(texts, vocab, config)
    tokens = np.concatenate([b["tokens"].numpy() for b in ds])
    assert hyps == [vocab.decode(r) for r in decode(model.encode_ids(tokens), max_len=8, **beam).numpy()]
    assert metrics["decoding"] == "beam3-lp1"
    assert reconstruction.reconstruction_report(model, vocab, texts, config, 8)[0]["decoding"] == "greedy"
    # The paper's table compares greedy reconstructions only.
    row = {"reconstruction": {"bleu": 50.0, "decoding": "beam3-lp1"},
           "samples": {"unigram_kl": 0.1, "entropy": 5.0, "avg_len": 9.0, "corpus_entropy": 5.5, "corpus_avg_len": 10.0}}
    with pytest.raises(ValueError, match=r"rows \['DAE'\] were reconstructed with other decoding than greedy"):
        paper_tables.wae_table([("DAE", row)])


def test_a_preset_report_folder_names_its_options_as_a_workdirs_does(monkeypatch):
    """`evaluate --model=NAME` without --out: `eval_<name>` plus the same options suffix as a workdir's
    folder, so a validation or Gaussian-fit run of a preset does not overwrite its test report."""
    from arae_tf import zoo
    from arae_tf.evaluation import suite
    where = []
    monkeypatch.setattr(zoo, "load", lambda name: object())
    monkeypatch.setattr(suite, "preset_config", lambda model, data_dir="": None)
    monkeypatch.setattr(suite, "evaluate_model", lambda model, vocab, config, out, settings, source: where.append(out))
    valid_fit = evaluation.EvalSettings(prior="gaussian_fit", test_files=("../shared/data/snli/valid.txt",))
    suite.evaluate_presets(["wae_snli"], evaluation.EvalSettings())
    suite.evaluate_presets(["wae_snli"], valid_fit)
    suite.evaluate_presets(["a", "zoo/b"], valid_fit)
    suite.evaluate_presets(["wae_snli"], valid_fit, out="mine")
    assert where == ["eval_wae_snli", "eval_wae_snli-gaussian_fit-on-valid",
                     os.path.join("eval-gaussian_fit-on-valid", "a"), os.path.join("eval-gaussian_fit-on-valid", "b"),
                     "mine"]


@pytest.mark.slow
def test_evaluate_with_the_gaussian_fit_prior(builtin_run):
    """evaluate --prior=gaussian_fit on the built-in ARAE: its own report folder, samples that a
    Gaussian of unit-norm codes gives (well-formed sentences of both classes, recorded as such)."""
    workdir, _, _ = builtin_run
    test = synthetic.generate(1000, num_classes=2, seed=2)  # the built-in "test" split
    short = 6  # and --test_max_words: only test sentences of at most 6 words are scored
    expected = sum(len(t.split()) <= short for t, _ in test)
    assert 0 < expected < len(test)
    settings = evaluation.EvalSettings(num_samples=500, reverse_samples=-1, diagnostic_sentences=100,
                                       decode_max_len=12, prior="gaussian_fit", test_max_words=short,
                                       lm=LMSettings(embed_dim=32, hidden_dim=64, epochs=1),
                                       reconstruction_decoding="method=beam,beam_size=4")
    m = evaluation.evaluate_workdir(workdir, settings)
    assert m["reconstruction"]["sentences"] == expected and m["reconstruction"]["decoding"] == "beam4"
    out = os.path.join(workdir, "eval-gaussian_fit-max6-rec-beam4")  # and --reconstruction_decoding
    report = open(os.path.join(out, "report.md")).read()
    assert "(sentences of at most 6 words)" in report and "| BLEU (beam4) |" in report
    assert json.load(open(os.path.join(out, "metrics.json")))["samples"]["prior"] == "gaussian_fit"
    assert m["samples"]["n"] == 500 and min(m["classifier"]["sample_class_shares"]) > 0.1
    assert m["samples"]["forward_ppl"] < 5 * m["lm"]["test_ppl_real"]


def test_reports_record_no_machine_folder_and_find_the_cache_again(tmp_path):
    """A report records its workdir as `workdirs/<name>` and its cache relative to the workdir, which
    `lm_rows` resolves back on the machine; a preset's report is refused by name."""
    from arae_tf.evaluation import paper_tables, suite
    runs = tmp_path / "runs"
    (runs / "cache" / "x").mkdir(parents=True)
    (runs / "w").mkdir()
    source, settings = suite._recorded(f"{runs / 'w'} checkpoint 5", evaluation.EvalSettings(cache_dir=str(runs / "cache" / "x")))
    assert source == "workdirs/w checkpoint 5" and settings["cache_dir"] == "../cache/x"
    assert str(tmp_path) not in json.dumps(settings)
    assert paper_tables._local_path(settings["cache_dir"], str(runs / "w")) == str(runs / "cache" / "x")
    assert paper_tables._local_path("/elsewhere/cache", str(runs / "w")) == "/elsewhere/cache"  # older reports
    source, settings = suite._recorded("zoo:arae_yelp", evaluation.EvalSettings(cache_dir="c"))
    assert source == "zoo:arae_yelp" and settings["cache_dir"] == "c"
    # a preset's report with an absolute cache: placed as the report folder beside it is
    source, settings = suite._recorded("zoo:wae_snli", evaluation.EvalSettings(cache_dir=str(runs / "cache" / "x")),
                                       out=str(runs / "eval_wae_snli"))
    assert settings["cache_dir"] == "workdirs/cache/x", settings["cache_dir"]
    from arae_tf.preset_lib import portable
    assert portable(["--model=wae_snli", f"--out={runs / 'eval_p'}", f"--cache_dir={runs / 'cache' / 'x'}"]) == [
        "--model=wae_snli", "--out=workdirs/eval_p", "--cache_dir=workdirs/cache/x"]
    with pytest.raises(ValueError, match="zoo preset's report"):
        paper_tables._report_workdir("eval_arae_yelp", {"workdir": "zoo:arae_yelp"})


def _rows(*pairs):
    return [{"checkpoint": step, "bleu": bleu, "unigram_kl_vocab": kl} for step, bleu, kl in pairs]


def test_checkpoint_choice_is_the_best_bleu_within_the_bounds():
    """`checkpoints.choose`: highest validation BLEU among rows within both bounds; ties to the earlier
    checkpoint; None where no row qualifies."""
    from arae_tf.evaluation import checkpoints
    rows = _rows((1000, 76.0, 0.110), (2000, 79.0, 0.125), (3000, 78.0, 0.117), (4000, 78.0, 0.112))
    assert checkpoints.choose(rows)["checkpoint"] == 2000
    assert checkpoints.choose(rows, max_unikl=0.118)["checkpoint"] == 3000  # 3000 and 4000 tie: the earlier
    assert checkpoints.choose(rows, min_bleu=76.5, max_unikl=0.111) is None
    assert checkpoints.choose(rows, min_bleu=76.5, max_unikl=0.112)["checkpoint"] == 4000


def test_checkpoint_sweep_measures_validation_and_caches_by_weights(builtin_run, tmp_path, monkeypatch):
    """`checkpoints.sweep` on a copy of the built-in ARAE's workdir with its checkpoint also as step 500:
    BLEU of every validation sentence (as training's validation, which scores its first 200), the real
    sentences UniKL is set beside are the validation split's (not the test split's), per-seed UniKL of
    prior samples, rows cached and measured again only when the weights change; a missing step and bad
    settings refused before anything is measured; the binary prints the table and the choice."""
    import shutil

    from arae_tf.evaluation import checkpoints
    workdir, config, metrics = builtin_run
    work = tmp_path / "w"
    shutil.copytree(workdir, work, ignore=shutil.ignore_patterns("eval*", "checkpoint_sweep"))
    ckpt = work / "checkpoints"
    for ext in (".weights.h5", ".json"):
        shutil.copy(ckpt / f"ckpt-1000{ext}", ckpt / f"ckpt-500{ext}")
    with pytest.raises(FileNotFoundError, match=r"no complete checkpoint of step 700; it has \[500, 1000\]"):
        checkpoints.sweep(str(work), [500, 700])
    with pytest.raises(ValueError, match=r"seeds must be distinct integers, at least one: got \[1, 1\]"):
        checkpoints.sweep(str(work), [500], seeds=(1, 1))
    with pytest.raises(ValueError, match=r"num_samples must be in \[1, 100000\]"):
        checkpoints.sweep(str(work), [500], num_samples=100001)
    with pytest.raises(FileNotFoundError, match="is '.*nowhere' a training workdir"):
        checkpoints.sweep(str(tmp_path / "nowhere"))
    assert not (work / "checkpoint_sweep").exists()
    rows = checkpoints.sweep(str(work), (), seeds=(1, 2), num_samples=300, max_len=config.eval.decode_max_len)
    assert [r["checkpoint"] for r in rows] == [500, 1000]
    r = rows[1]
    assert r["sentences"] == 1000 and r["bleu"] == pytest.approx(metrics["val_bleu"], abs=0.01)
    assert rows[0]["bleu"] == r["bleu"] and rows[0]["unigram_kl_vocab"] == r["unigram_kl_vocab"]  # same weights
    assert set(r["samples"]) == {"1", "2"} and r["samples"]["1"]["n"] == 300
    assert r["samples"]["1"]["unigram_kl_vocab"] != r["samples"]["2"]["unigram_kl_vocab"]  # two draws
    assert r["unigram_kl_vocab"] == pytest.approx(
        (r["samples"]["1"]["unigram_kl_vocab"] + r["samples"]["2"]["unigram_kl_vocab"]) / 2)
    assert 0 < r["unigram_kl_vocab"] < 0.5 and r["unigram_kl_vocab_real"] < 0.5
    from arae_tf.data.sources import load_examples
    from arae_tf.data.vocab import Vocabulary
    from arae_tf.metrics import distribution
    vocab = Vocabulary.load(os.path.join(workdir, "vocabulary.txt"))
    train = [t for t, _ in load_examples(config.data, "train")]
    real = {split: distribution.in_vocabulary_unigram_kl(
        ["x"] * 300, [t for t, _ in load_examples(config.data, split)], train, vocab.restrict, 300)["unigram_kl_vocab_real"]
        for split in ("valid", "test")}
    assert real["valid"] != real["test"] and r["unigram_kl_vocab_real"] == pytest.approx(real["valid"])

    def measured(*a, **k):
        raise AssertionError("measured again")
    monkeypatch.setattr(checkpoints, "validation_measures", measured)
    again = checkpoints.sweep(str(work), (), seeds=(1, 2), num_samples=300, max_len=config.eval.decode_max_len)
    assert [x["bleu"] for x in again] == [x["bleu"] for x in rows]
    marker = json.loads((ckpt / "ckpt-500.json").read_text())
    marker["weights_sha256"] = "0" * 64  # other weights at step 500: measured again
    (ckpt / "ckpt-500.json").write_text(json.dumps(marker))
    again = checkpoints.sweep(str(work), [1000], seeds=(2, 1), num_samples=300, max_len=config.eval.decode_max_len)
    assert again[0]["bleu"] == r["bleu"]  # the seeds in another order: the same row
    with pytest.raises(AssertionError, match="measured again"):
        checkpoints.sweep(str(work), [500], seeds=(1, 2), num_samples=300, max_len=config.eval.decode_max_len)
    monkeypatch.undo()

    out = tmp_path / "sweep.md"
    run = subprocess.run([sys.executable, "-m", "arae_tf.checkpoint_sweep", f"--workdir={work}", "--checkpoint=1000",
                          "--num_samples=300", f"--max_len={config.eval.decode_max_len}", "--min_bleu=50",
                          "--max_unikl=0.5", f"--out={out}"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Chosen: checkpoint 1000." in run.stdout and f"| **1000** | **{r['bleu']:.2f}** |" in run.stdout
    assert out.read_text() == run.stdout.rstrip("\n") + "\n"
    for flag, message in (("--seeds=1,x", "--seeds must be integers, got '1,x'"),
                          ("--checkpoint=700", "no complete checkpoint of step 700; it has [500, 1000]")):
        bad = subprocess.run([sys.executable, "-m", "arae_tf.checkpoint_sweep", f"--workdir={work}", flag],
                             capture_output=True, text=True, cwd=REPO, timeout=120)
        assert bad.returncode != 0 and message in bad.stderr, bad.stderr[-2000:]
