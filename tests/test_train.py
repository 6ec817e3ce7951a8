"""The training binary and library: smoke run, resume after interruption, learning on the built-in corpus."""

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from arae_tf import train_lib
from arae_tf.config_base import ConfigError
from arae_tf.data import synthetic
from arae_tf.data.vocab import Vocabulary
from tests.conftest import REPO, SHARED_DATA


def _env():
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return env


@pytest.mark.skipif(not os.path.isdir(os.path.join(SHARED_DATA, "yelp")), reason="needs ../shared/data/yelp")
@pytest.mark.parametrize("name", ["arae_yelp", pytest.param("ae_yelp", marks=pytest.mark.slow),
                                  pytest.param("arae_snli", marks=pytest.mark.slow)])
def test_one_step_on_smoke_configs(tmp_path, name):
    import importlib
    config = importlib.import_module(f"configs.{name}").get_config("smoke")
    config.train.steps = 1
    config.train.eval_every = 1
    workdir = str(tmp_path / name)
    metrics = train_lib.train_and_evaluate(config, workdir)
    assert metrics["step"] == 1 and "val_token_acc" in metrics and "bleu_signature" in metrics
    for f in ("config.json", "vocabulary.txt", "metrics.jsonl", "final/model.weights.h5", "final/config.json",
              "final/vocabulary.txt", "final/experiment.json", "checkpoints/ckpt-1.weights.h5"):
        assert os.path.exists(os.path.join(workdir, f)), f
    assert os.listdir(os.path.join(workdir, "tensorboard", "validation"))
    recorded = json.load(open(os.path.join(workdir, "config.json")))
    assert recorded["config"]["model"] == config.model and "command" in recorded
    # Re-running a finished run trains nothing more and re-evaluates the same weights.
    again = train_lib.train_and_evaluate(config, workdir)
    assert again["step"] == 1 and np.isclose(again["val_token_acc"], metrics["val_token_acc"])


def _eager_smoke():
    """The built-in ARAE's smoke config, run eagerly: for tests of a run's mechanics (resume, refusals,
    records), not of its graph; a few eager steps of a tiny model cost less than tracing them."""
    from arae_tf.configs import arae_builtin
    config = arae_builtin.get_config("smoke")
    config.train.run_eagerly = True
    return config


def test_unknown_model_lists_registered(tmp_path):
    from arae_tf.configs import arae_builtin
    config = arae_builtin.get_config("smoke")
    config.model = "gan"
    with pytest.raises(ConfigError, match=r"model = 'gan': must be a registered model, one of \['ae', 'arae'"):
        train_lib.train_and_evaluate(config, str(tmp_path))


def test_vocabulary_mismatch_is_refused(tmp_path):
    config = _eager_smoke()
    train_lib.train_and_evaluate(config, str(tmp_path))
    Vocabulary(["only", "three", "words"]).save(str(tmp_path / "vocabulary.txt"))
    with pytest.raises(Exception, match="does not belong to this checkpoint"):
        train_lib.train_and_evaluate(config, str(tmp_path))


@pytest.mark.slow  # ~40 s; the default suite interrupts in-process (tests/test_reliability.py)
def test_binary_resumes_after_interruption(tmp_path):
    """The binary SIGKILLed after its first checkpoint and rerun continues from there and ends with the
    weights of an uninterrupted run, bit for bit."""
    workdir = str(tmp_path / "run")
    args = ["--config=configs/arae_builtin.py:smoke", "--config.train.steps=400", "--config.train.eval_every=20",
            "--config.train.log_every=10", "--config.data.builtin_train_size=2000", "--config.train.keep_checkpoints=30"]
    cmd = [sys.executable, "-m", "arae_tf.train", f"--workdir={workdir}"] + args
    proc = subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 240
    while not train_lib.latest_checkpoint(workdir)[1]:
        assert proc.poll() is None and time.time() < deadline, "training died before its first checkpoint"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)  # an interruption: no clean-up code runs
    proc.wait()
    killed_at, _ = train_lib.latest_checkpoint(workdir)
    assert 20 <= killed_at < 400 and not os.path.exists(os.path.join(workdir, "final"))

    out = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    log = out.stdout + out.stderr
    resumed = int(log.split("[resume] from ")[1].split(" at step ")[1].split()[0])
    assert resumed >= killed_at
    assert f"[train] step {resumed + 10}/400" in log  # continues where it was, not from 0
    assert "[train] step 10/400" not in log
    final = json.load(open(os.path.join(workdir, "final", "metrics.json")))
    assert final["step"] == 400
    assert "--config.train.steps=400" in json.load(open(os.path.join(workdir, "config.json")))["command"]

    straight = str(tmp_path / "straight")
    out = subprocess.run([sys.executable, "-m", "arae_tf.train", f"--workdir={straight}"] + args, cwd=REPO,
                         env=_env(), capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stderr[-3000:]
    from tests.test_reliability import _same, _weights
    _same(_weights(train_lib.checkpoint_at(workdir, 400)), _weights(train_lib.checkpoint_at(straight, 400)))


def test_arae_learns_builtin_corpus(builtin_run):
    """ARAE on the synthetic corpus: reconstruction accuracy >= 0.95 and mostly grammatical prior samples."""
    workdir, config, metrics = builtin_run
    assert metrics["val_token_acc"] >= 0.95, metrics
    assert metrics["val_bleu"] >= 90.0, metrics
    vocab = Vocabulary.load(os.path.join(workdir, "vocabulary.txt"))
    model = train_lib.build_model(config, len(vocab))
    model.load_weights(os.path.join(workdir, "final", "model.weights.h5"))
    samples = [vocab.decode(r) for r in model.generate_ids(200, seed=0, max_len=12).numpy()]
    grammatical = np.mean([synthetic.is_grammatical(s) for s in samples])
    assert grammatical >= 0.8, samples[:20]
    assert len(set(samples)) >= 20, "prior samples collapsed to a few sentences"
    z_fake = model.sample_codes(1000, seed=0).numpy()
    assert 0.7 < np.linalg.norm(z_fake, axis=1).mean() < 1.3  # the generator found the sphere
    # ARAE Fig. 3 statistics are logged at each evaluation.
    assert 0.7 < metrics["prior_code_norm"] < 1.3 and metrics["val_code_norm"] == pytest.approx(1.0, abs=1e-4)
    assert metrics["val_code_cov_trace"] > 0 and metrics["prior_code_cov_trace"] > 0


def test_validation_subset_mixes_classes_and_is_fixed():
    examples = [("bad %d" % i, 0) for i in range(500)] + [("good %d" % i, 1) for i in range(500)]
    order = train_lib.validation_order(examples, seed=0)
    assert sorted(order) == sorted(examples) and order == train_lib.validation_order(examples, seed=0)
    first = [y for _, y in order[:200]]  # what a 200-sentence validation decodes: both classes, not file 0 only
    assert 70 <= sum(first) <= 130


def test_a_chosen_checkpoint_is_loaded_and_a_missing_one_named(tmp_path):
    from arae_tf.evaluation import load_trained
    config = _eager_smoke()
    config.train.steps, config.train.eval_every, config.train.keep_checkpoints = 4, 2, 2
    workdir = str(tmp_path)
    train_lib.train_and_evaluate(config, workdir)
    early, _, _ = load_trained(workdir, checkpoint=2)
    final, _, _ = load_trained(workdir)
    assert int(early.train_iterations.numpy()) == 2 and int(final.train_iterations.numpy()) == 4
    with pytest.raises(FileNotFoundError, match=r"no complete checkpoint of step 3; it has \[2, 4\]"):
        load_trained(workdir, checkpoint=3)


def test_divergence_stops_training_keeps_the_last_finite_checkpoint_and_fails_the_binary(tmp_path):
    """A run whose losses turn non-finite (here made certain: a gradient-penalty weight of 1e30
    from step 5 on) stops at the next logging interval with the step and the losses named, writes
    no checkpoint or final/ after the divergence, keeps the finite checkpoint, and the binary
    exits non-zero. A preset is never made from non-finite weights (tests/test_zoo_export.py)."""
    config = _eager_smoke()
    config.train.steps, config.train.eval_every, config.train.log_every = 4, 4, 2
    workdir = str(tmp_path / "run")  # (an infinite weight is refused by the config check; 1e30 is not)
    train_lib.train_and_evaluate(config, workdir)
    finite = sorted(os.listdir(os.path.join(workdir, "checkpoints")))
    import shutil
    shutil.rmtree(os.path.join(workdir, "final"))
    config.train.steps = 8
    config.arae.gp_weight = 1e30
    with pytest.raises(train_lib.TrainingDiverged, match=r"by step [5-6]: non-finite training losses .*'rec_loss': nan"):
        train_lib.train_and_evaluate(config, workdir)
    assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == finite  # ckpt-4 only, untouched
    assert not os.path.exists(os.path.join(workdir, "final"))
    r = subprocess.run([sys.executable, "-m", "arae_tf.train", "--config=configs/arae_builtin.py:smoke",
                        f"--workdir={workdir}", "--config.train.steps=8", "--config.train.eval_every=4",
                        "--config.train.log_every=2", "--config.arae.gp_weight=1e30", "--config.train.run_eagerly=true"],
                       cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode != 0 and "training diverged by step" in r.stderr and "ckpt-4" in r.stderr, r.stderr[-2000:]
    assert "Traceback" not in r.stderr


def test_a_resumed_run_trains_with_the_configs_learning_rates(tmp_path, caplog):
    """Keras saves each optimizer's learning rate with its state; on resume the config's rates win."""
    caplog.set_level(logging.INFO, logger="absl")
    config = _eager_smoke()
    config.train.steps, config.train.eval_every = 2, 2
    workdir = str(tmp_path / "run")
    train_lib.train_and_evaluate(config, workdir)
    config.train.steps, config.optim.ae_lr, config.optim.gan_lr = 4, 5e-4, 2e-5
    seen = {}
    real_fit = train_lib.keras.Model.fit

    def spy(model, *args, **kwargs):
        seen.update(train_lib.learning_rates(model))
        return real_fit(model, *args, **kwargs)
    import unittest.mock
    with unittest.mock.patch.object(train_lib.keras.Model, "fit", spy):
        train_lib.train_and_evaluate(config, workdir)
    assert seen["optimizer"] == pytest.approx(5e-4) and seen["generator_optimizer"] == pytest.approx(2e-5)
    assert seen["critic_optimizer"] == pytest.approx(2e-5)
    assert "optimizer learning rate 0.003 (checkpoint) -> 0.0005 (config)" in caplog.text


def test_a_reordered_vocabulary_is_refused_on_resume(tmp_path):
    """The checkpoint stores the vocabulary's digest: two lines swapped (same size) are refused,
    naming both files; the untouched vocabulary resumes."""
    from arae_tf.data.vocab import VocabularyError
    config = _eager_smoke()
    config.train.steps, config.train.eval_every = 2, 2
    workdir = str(tmp_path / "run")
    train_lib.train_and_evaluate(config, workdir)
    path = os.path.join(workdir, "vocabulary.txt")
    original = open(path, encoding="utf-8").read()
    lines = original.splitlines()
    lines[5], lines[6] = lines[6], lines[5]
    open(path, "w", encoding="utf-8").write("\n".join(lines) + "\n")
    config.train.steps = 4
    with pytest.raises(VocabularyError, match=r"vocabulary.txt is not the vocabulary checkpoint .*ckpt-2.json"):
        train_lib.train_and_evaluate(config, workdir)
    open(path, "w", encoding="utf-8").write(original)
    assert train_lib.train_and_evaluate(config, workdir)["step"] == 4


def test_experiment_variants_combine_with_smoke_and_bad_ones_are_named():
    """`get_config("ae,smoke")` and the like: the experiment's own variants with the shared `smoke`,
    in any order; an unknown or repeated variant is refused with the argument named."""
    import importlib
    yahoo, snli = (importlib.import_module(f"configs.{n}") for n in ("arae_yahoo_transfer", "arae_snli"))
    for arg in ("ae,smoke", "smoke,ae"):
        c = yahoo.get_config(arg)
        assert c.arae.adv_weight == 0.0 and c.transfer.class_weight == 0.0 and c.train.steps == 4
    c = yahoo.get_config(None)
    assert c.arae.adv_weight > 0 and c.transfer.class_weight > 0
    assert snli.get_config("aae,smoke").arae.prior == "sphere" and snli.get_config("ae").model == "ae"
    for bad, message in [("ae,ae", "names a variant twice"), ("ae,typo", r"\['typo'\] in 'ae,typo'; known: ae, aae, smoke"),
                         ("ae,aae", "exclude each other")]:
        with pytest.raises(ValueError, match=message):
            snli.get_config(bad)


def test_a_pass_counts_the_sentences_the_length_filter_keeps(tmp_path, caplog):
    """train.epochs = 1 with steps derived: one pass over the training sentences within data.max_len
    (policy "filter"), not over all of them."""
    caplog.set_level(logging.INFO, logger="absl")
    from arae_tf.configs import arae_builtin
    from arae_tf.data.sources import load_examples
    config = arae_builtin.get_config("smoke")
    config.data.max_len = 6
    config.data.builtin_train_size = 400  # a pass of about 25 iterations
    config.train.steps, config.train.epochs, config.train.eval_every = 0, 1.0, 10000
    examples = load_examples(config.data, "train")
    kept = sum(len(t.split()) <= 6 for t, _ in examples)
    assert 0 < kept < len(examples)
    metrics = train_lib.train_and_evaluate(config, str(tmp_path / "run"))
    expected = -(-kept // config.data.batch_size)
    assert metrics["step"] == expected
    assert f"{len(examples)} train ({kept} within data.max_len=6: one pass)" in caplog.text
    assert f"{expected} iterations of batch {config.data.batch_size} = 1.0 passes" in caplog.text


def test_resuming_on_other_training_data_warns(tmp_path, caplog):
    """Each checkpoint records the sha256 of its training examples: resuming on the same data is
    silent, on other data (here a larger built-in corpus) it warns, naming the checkpoint, and trains on."""
    caplog.set_level(logging.INFO, logger="absl")
    config = _eager_smoke()
    config.train.steps, config.train.eval_every = 2, 2
    workdir = str(tmp_path / "run")
    train_lib.train_and_evaluate(config, workdir)
    marker = json.load(open(os.path.join(workdir, "checkpoints", "ckpt-2.json")))
    assert len(marker["data_sha256"]) == 64
    config.train.steps = 4
    train_lib.train_and_evaluate(config, workdir)
    assert "trained on other training data" not in caplog.text
    config.train.steps = 6
    config.data.builtin_train_size += 100
    assert train_lib.train_and_evaluate(config, workdir)["step"] == 6
    assert re.search(r"ckpt-4\.json was trained on other training data \(sha256 \w{12}\.\.\. against", caplog.text)


def test_a_run_warm_starts_from_a_preset_and_refuses_another_models(tmp_path, caplog):
    """`train.init_from`: a new run starts from a preset's weights (its iteration counter from 0) and
    vocabulary; once it has checkpoints it resumes them; a preset of other sizes is refused, naming
    the weight, before anything is written; a workdir holding another vocabulary is refused."""
    caplog.set_level(logging.INFO, logger="absl")
    import unittest.mock
    from arae_tf import workdir as workdir_lib, zoo
    from arae_tf.configs import arae_builtin
    from arae_tf.data.vocab import VocabularyError
    config = _eager_smoke()
    config.train.steps, config.train.eval_every = 2, 2
    source = str(tmp_path / "source")
    train_lib.train_and_evaluate(config, source)
    model, vocab, _ = workdir_lib.load_trained(source)
    preset = zoo.save_preset(model, vocab, str(tmp_path / "warm"),
                             {"name": "warm", "description": "test", "training": {"config": config.to_dict()}},
                             dtype="float32")
    stored = {v.path: np.asarray(v.numpy()) for v in model.weights}

    config.train.init_from = preset
    seen = {}
    real_fit = train_lib.keras.Model.fit

    def spy(m, *args, **kwargs):
        seen.update({v.path: np.asarray(v.numpy()) for v in m.weights})
        return real_fit(m, *args, **kwargs)
    run = str(tmp_path / "run")
    with unittest.mock.patch.object(train_lib.keras.Model, "fit", spy):
        assert train_lib.train_and_evaluate(config, run)["step"] == 2
    counter = lambda weights: [v for k, v in weights.items() if k.endswith("/train_iterations")]  # noqa: E731
    assert counter(stored) == [2] and counter(seen) == [0]  # the model's name (its prefix) differs in-process
    plain = lambda weights: {k: v for k, v in weights.items() if not k.endswith("/train_iterations")}  # noqa: E731
    assert plain(seen).keys() == plain(stored).keys()
    for path, value in plain(stored).items():
        np.testing.assert_array_equal(seen[path], value, err_msg=path)
    assert "[init] " in caplog.text and "iterations count from 0" in caplog.text
    assert open(os.path.join(run, "vocabulary.txt")).read() == open(os.path.join(preset, "vocabulary.txt")).read()

    caplog.clear()  # with checkpoints the run resumes them and reads the preset no more
    config.train.steps = 4
    assert train_lib.train_and_evaluate(config, run)["step"] == 4
    assert "[resume] from" in caplog.text and "is not read again" in caplog.text

    other = arae_builtin.get_config("smoke")
    other.backbone.latent_dim = 12
    other.train.init_from = preset
    refused = str(tmp_path / "refused")
    with pytest.raises(zoo.PresetError, match=r"warm/weights.npz has no weight .code_projection/kernel.: train.init_from needs a config"):
        train_lib.train_and_evaluate(other, refused)
    assert not os.path.exists(refused)  # nothing written, not even the folder
    other = arae_builtin.get_config("smoke")
    other.data.lowercase, other.train.init_from = False, preset
    with pytest.raises(zoo.PresetError, match=r"trained with data.lowercase=True, this config has False"):
        train_lib.train_and_evaluate(other, refused)
    assert not os.path.exists(refused)
    other.data.lowercase, other.train.init_from = True, "arae_mnist"  # the shipped image preset
    with pytest.raises(zoo.PresetError, match=r"arae_mnist is an image model's preset; this config trains on sentences"):
        train_lib.train_and_evaluate(other, refused)
    assert not os.path.exists(refused)

    config.train.steps = 2
    elsewhere = str(tmp_path / "elsewhere")
    os.makedirs(elsewhere)
    Vocabulary(["only", "three", "words"]).save(os.path.join(elsewhere, "vocabulary.txt"))
    with pytest.raises(VocabularyError, match=r"elsewhere/vocabulary.txt is not the vocabulary of .*warm/vocabulary.txt"):
        train_lib.train_and_evaluate(config, elsewhere)
    config.train.init_from = "no_such_preset"
    with pytest.raises(zoo.PresetError, match="unknown preset 'no_such_preset'"):
        train_lib.train_and_evaluate(config, str(tmp_path / "unknown"))
