"""Reliability of training (issue 17): the config is validated before anything is written, the
record of an earlier run is never overwritten, a damaged checkpoint is named and skipped, and resume
is exact: a run interrupted in training, in evaluation or while writing a checkpoint, and rerun,
ends with the same weights, bit for bit, as a run that was never interrupted."""

import json
import logging
import os
import types
import unittest.mock

import h5py
import numpy as np
import pytest

from arae_tf import train_lib
from arae_tf import workdir as workdir_lib
from arae_tf.config_base import ConfigError


def _config(model="arae", **overrides):
    if model == "wae":
        from arae_tf.configs import wae_builtin as cf
    elif model == "arae_transfer":
        from arae_tf.configs import arae_transfer_builtin as cf
    else:
        from arae_tf.configs import arae_builtin as cf
    c = cf.get_config("smoke")
    c.data.builtin_train_size, c.data.builtin_valid_size = 400, 50
    c.train.steps, c.train.eval_every, c.train.log_every = 6, 2, 1
    c.train.keep_checkpoints = 5
    for k, v in overrides.items():
        section, field = k.split("__")
        c[section][field] = v
    return c


def _weights(path):
    """{dataset name: array} of an .h5 weights file."""
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def _same(a, b):
    assert sorted(a) == sorted(b)
    diff = [k for k in a if not np.array_equal(a[k], b[k])]
    assert not diff, f"{len(diff)} of {len(a)} arrays differ, e.g. {diff[:3]}"


class Interrupt(Exception):
    """Stands for a kill: raised from inside the run, nothing of the run's own clean-up follows."""


def _nth_call_raises(fn, n):
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise Interrupt(f"interrupted in {fn.__name__}")
        return fn(*args, **kwargs)
    return wrapped


def _raise_in_training(at_step):
    real = train_lib.Progress.on_train_batch_end

    def hook(self, batch, logs=None):
        if int(self.model.train_iterations.numpy()) == at_step:
            raise Interrupt(f"interrupted at step {at_step}")
        return real(self, batch, logs)
    return unittest.mock.patch.object(train_lib.Progress, "on_train_batch_end", hook)


class _Straight(dict):
    """Final checkpoints of uninterrupted 6-iteration runs, trained on first use: {model: weights}."""

    def __init__(self, tmp_path_factory):
        super().__init__()
        self.factory = tmp_path_factory

    def __missing__(self, model):
        workdir = str(self.factory.mktemp(f"straight_{model}"))
        extra = {"arae": dict(backbone__sampled_softmax=8), "wae": dict(backbone__dropout=0.2)}.get(model, {})
        train_lib.train_and_evaluate(_config(model, **extra), workdir)
        self[model] = _weights(train_lib.checkpoint_at(workdir, 6))
        return self[model]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return _Straight(tmp_path_factory)


@pytest.mark.parametrize("where", ["training", pytest.param("evaluation", marks=pytest.mark.slow), "checkpoint write"])
def test_an_interrupted_run_resumes_to_the_uninterrupted_weights(tmp_path, uninterrupted, where):
    """ARAE with a sampled softmax (critic, generator, gradient-penalty and sampler noise) interrupted
    once, then rerun with the same command."""
    config = _config("arae", backbone__sampled_softmax=8)
    workdir = str(tmp_path)
    if where == "training":
        patch = _raise_in_training(3)  # inside the second chunk
    elif where == "evaluation":
        patch = unittest.mock.patch.object(train_lib, "evaluate", _nth_call_raises(train_lib.evaluate, 2))
    else:  # the weights of step 4 written to their temporary file, the marker not yet
        patch = unittest.mock.patch.object(workdir_lib, "file_sha256", _nth_call_raises(workdir_lib.file_sha256, 2))
    with patch, pytest.raises(Interrupt):
        train_lib.train_and_evaluate(config, workdir)
    assert train_lib.latest_checkpoint(workdir)[0] == 2
    train_lib.train_and_evaluate(config, workdir)
    _same(_weights(train_lib.checkpoint_at(workdir, 6)), uninterrupted["arae"])


@pytest.mark.slow
def test_wae_resumes_exactly(tmp_path, uninterrupted):
    """WAE-S with backbone dropout: the Gaussian encoder's noise, word dropout and dropout streams are
    restored too."""
    config = _config("wae", backbone__dropout=0.2)
    with _raise_in_training(5), pytest.raises(Interrupt):
        train_lib.train_and_evaluate(config, str(tmp_path))
    train_lib.train_and_evaluate(config, str(tmp_path))
    _same(_weights(train_lib.checkpoint_at(str(tmp_path), 6)), uninterrupted["wae"])


def test_a_damaged_newest_checkpoint_is_named_and_the_newest_intact_one_used(tmp_path, uninterrupted, caplog):
    caplog.set_level(logging.INFO, logger="absl")
    config = _config("arae", backbone__sampled_softmax=8)
    workdir = str(tmp_path)
    train_lib.train_and_evaluate(config, workdir)
    newest = train_lib.checkpoint_at(workdir, 6)
    data = open(newest, "rb").read()
    open(newest, "wb").write(data[: len(data) // 2])  # truncated
    import shutil
    shutil.rmtree(os.path.join(workdir, "final"))
    train_lib.train_and_evaluate(config, workdir)
    out = caplog.text
    assert f"skipping damaged checkpoint {newest}: its sha256 is not the one ckpt-6.json records" in out
    assert "[resume] from " + train_lib.checkpoint_at(workdir, 4) in out
    _same(_weights(train_lib.checkpoint_at(workdir, 6)), uninterrupted["arae"])  # redone, identically

    for step in (2, 4, 6):  # every checkpoint damaged: an error naming each, nothing trained
        path = train_lib.checkpoint_at(workdir, step)
        open(path, "r+b").write(b"\0" * 64)
    with pytest.raises(train_lib.CheckpointError, match=r"no intact checkpoint(.|\n)*ckpt-6(.|\n)*ckpt-4(.|\n)*ckpt-2"):
        train_lib.train_and_evaluate(config, workdir)


def test_the_config_is_validated_before_anything_is_written(tmp_path):
    config = _config("arae")
    config.data.batch_size = -1
    config.optim.ae_lr = float("nan")
    config.arae.lipschitz = "spectral"
    workdir = str(tmp_path / "run")
    with pytest.raises(ConfigError) as e:
        train_lib.train_and_evaluate(config, workdir)
    msg = str(e.value)
    assert "data.batch_size = -1: must be an integer >= 1" in msg
    assert "optim.ae_lr = nan: must be a finite number > 0" in msg
    assert "arae.lipschitz = 'spectral': must be one of 'gp', 'clip'" in msg
    assert not os.path.exists(workdir)


def test_a_frozen_encoder_with_a_weight_that_moves_it_is_refused_before_anything_is_written(tmp_path):
    config = _config("arae_transfer", transfer__freeze_encoder=True)  # class_weight and adv_weight are > 0
    workdir = str(tmp_path / "run")
    with pytest.raises(ConfigError, match=r"transfer.freeze_encoder = True: .*transfer.class_weight \(now 1.0\) "
                                          r"and arae.adv_weight \(now 0.01\) must be 0"):
        train_lib.train_and_evaluate(config, workdir)
    assert not os.path.exists(workdir)


def test_a_training_run_with_backtranslation_trains_in_the_graph_logs_it_and_saves_it(tmp_path, caplog):
    """transfer.backtranslation, end to end and compiled (not run eagerly): the greedy transfers are
    decoded inside the training step's graph, bt_loss is logged, the saved model carries the weight;
    out-of-range values are refused before anything is written."""
    caplog.set_level(logging.INFO, logger="absl")
    config = _config("arae_transfer", transfer__backtranslation=1.0, transfer__backtranslation_contrast=0.3)
    train_lib.train_and_evaluate(config, str(tmp_path / "run"))
    assert any("bt_loss=" in r.getMessage() for r in caplog.records if r.getMessage().startswith("[train] step"))
    model, _, _ = workdir_lib.load_trained(str(tmp_path / "run"))
    assert (model.backtranslation, model.backtranslation_contrast) == (1.0, pytest.approx(0.3))
    workdir = str(tmp_path / "bad")
    with pytest.raises(ConfigError, match=r"transfer.backtranslation = -1.0: must be a number >= 0(.|\n)*"
                                          r"transfer.backtranslation_contrast = 1.0: must be a number in \[0, 1\)"):
        train_lib.train_and_evaluate(_config("arae_transfer", transfer__backtranslation=-1.0,
                                             transfer__backtranslation_contrast=1.0), workdir)
    assert not os.path.exists(workdir)


def test_a_missing_data_file_is_named_before_anything_is_written(tmp_path):
    config = _config("arae")
    config.data.source = "files"
    config.data.train_files = (str(tmp_path / "train.txt"),)
    config.data.valid_files = (str(tmp_path / "train.txt"),)
    config.data.num_classes = 1
    with pytest.raises(ConfigError, match=r"data.train_files: .*train.txt is not a file"):
        train_lib.train_and_evaluate(config, str(tmp_path / "run"))
    assert not os.path.exists(tmp_path / "run")


def test_a_refused_run_leaves_the_earlier_record_and_a_changed_run_keeps_it(tmp_path):
    from arae_tf.data.vocab import VocabularyError
    config = _config("arae", train__run_eagerly=True)  # the record's keeping, not the graph: nothing traced
    config.train.steps = 2
    workdir = str(tmp_path)
    train_lib.train_and_evaluate(config, workdir)
    record = open(os.path.join(workdir, "config.json")).read()
    vocab_path = os.path.join(workdir, "vocabulary.txt")
    original = open(vocab_path).read()
    lines = original.splitlines()
    lines[5], lines[6] = lines[6], lines[5]
    open(vocab_path, "w").write("\n".join(lines) + "\n")
    config.train.steps = 4
    with pytest.raises(VocabularyError):
        train_lib.train_and_evaluate(config, workdir)
    assert open(os.path.join(workdir, "config.json")).read() == record  # untouched by the refused run
    open(vocab_path, "w").write(original)
    train_lib.train_and_evaluate(config, workdir)  # a changed config: the first record is kept
    assert open(os.path.join(workdir, "config.1.json")).read() == record
    assert json.load(open(os.path.join(workdir, "config.json")))["config"]["train"]["steps"] == 4
    train_lib.train_and_evaluate(config, workdir)  # the same again: nothing new to keep
    assert not os.path.exists(os.path.join(workdir, "config.2.json"))


def test_the_learning_rate_decays_by_period_down_to_its_floor(tmp_path, caplog):
    """optim.lr_decay: the rate is a step function of the iteration, logged at each change."""
    caplog.set_level(logging.INFO, logger="absl")
    config = _config("wae", optim__lr_decay=0.5, optim__lr_decay_every=2, train__run_eagerly=True)
    base = config.optim.ae_lr
    config.optim.lr_min = 0.3 * base
    train_lib.train_and_evaluate(config, str(tmp_path))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[lr]")]
    assert lines == [f"[lr] step 2: optimizer learning rate {0.5 * base:.4g}",
                     f"[lr] step 4: optimizer learning rate {0.3 * base:.4g}"]


def test_a_learning_rate_decay_can_start_at_a_later_iteration():
    """optim.lr_decay_start: the base rate until then, then the decay counted from that iteration
    (how a continued run is annealed from its own rate); a negative start is refused."""
    from arae_tf.callbacks import LearningRateDecay
    decay = LearningRateDecay(1.0, 0.5, 2, 0.2, start=4)
    assert [decay.rate(i) for i in range(11)] == [1, 1, 1, 1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.2]
    assert [LearningRateDecay(1.0, 0.5, 2, 0.0).rate(i) for i in range(4)] == [1, 1, 0.5, 0.5]
    with pytest.raises(ValueError, match="lr_decay_start"):
        LearningRateDecay(1.0, 0.5, 2, 0.0, start=-1)
    # The callback, built from a config, sets the rate at the iterations where it changes: resumed at
    # iteration 3 with the decay counted from 5 (odd) every 2, it changes at 7 and 9 (a callback that
    # looked at even iterations only would change it a step late).
    import tensorflow as tf

    from arae_tf.callbacks import lr_decay_callback
    config = _config("wae", optim__lr_decay=0.5, optim__lr_decay_every=2, optim__lr_decay_start=5)
    config.optim.ae_lr = 1.0
    callback = lr_decay_callback(config, batches_per_pass=100)
    model = types.SimpleNamespace(train_iterations=tf.Variable(3, dtype=tf.int64),
                                  optimizer=types.SimpleNamespace(learning_rate=tf.Variable(0.1)))
    callback.set_model(model)
    callback.on_train_begin()
    rates = []
    for _ in range(8):  # iterations 3..10
        callback.on_train_batch_begin(0)
        rates.append(float(model.optimizer.learning_rate.numpy()))
        callback.on_train_batch_end(0)
    assert rates == [1, 1, 1, 1, 0.5, 0.5, 0.25, 0.25]


def test_a_training_run_decays_the_adversaries_rates_when_asked(tmp_path, caplog):
    """optim.lr_decay_adversaries, end to end: the run's critic and generator rates follow the
    autoencoder's factor, each change printed."""
    caplog.set_level(logging.INFO, logger="absl")
    config = _config("arae", optim__lr_decay=0.5, optim__lr_decay_every=2, optim__lr_decay_adversaries=True,
                     train__run_eagerly=True)
    train_lib.train_and_evaluate(config, str(tmp_path))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[lr]")]
    gan = config.optim.gan_lr
    for step, factor in ((2, 0.5), (4, 0.25)):
        assert f"[lr] step {step}: critic_optimizer learning rate {factor * gan:.4g}" in lines
        assert f"[lr] step {step}: generator_optimizer learning rate {factor * gan:.4g}" in lines


def test_an_annealed_arae_decays_its_adversaries_by_the_same_factor_when_asked():
    """optim.lr_decay_adversaries: the other optimizers follow the autoencoder's factor from their
    own configured rates (the floor included); without it they keep their rates."""
    import tensorflow as tf

    from arae_tf.callbacks import lr_decay_callback

    def run(adversaries):
        config = _config("arae", optim__lr_decay=0.5, optim__lr_decay_every=2)
        config.optim.ae_lr, config.optim.lr_min = 1.0, 0.3
        config.optim.lr_decay_adversaries = adversaries
        opt = lambda lr: types.SimpleNamespace(learning_rate=tf.Variable(lr))  # noqa: E731
        model = types.SimpleNamespace(train_iterations=tf.Variable(0, dtype=tf.int64), optimizer=opt(1.0),
                                      critic_optimizer=opt(1e-4), classifier_optimizer=opt(2e-4))
        callback = lr_decay_callback(config, 100, {"optimizer": 1.0, "critic_optimizer": 1e-4,
                                                   "classifier_optimizer": 2e-4})
        callback.set_model(model)
        callback.on_train_begin()
        rates = []
        for _ in range(6):
            callback.on_train_batch_begin(0)
            rates.append(tuple(float(o.learning_rate.numpy()) for o in
                               (model.optimizer, model.critic_optimizer, model.classifier_optimizer)))
            callback.on_train_batch_end(0)
        return rates

    np.testing.assert_allclose(run(True), [(1, 1e-4, 2e-4)] * 2 + [(0.5, 5e-5, 1e-4)] * 2 + [(0.3, 3e-5, 6e-5)] * 2,
                               rtol=1e-6)
    np.testing.assert_allclose(run(False), [(1, 1e-4, 2e-4)] * 2 + [(0.5, 1e-4, 2e-4)] * 2 + [(0.3, 1e-4, 2e-4)] * 2,
                               rtol=1e-6)


def test_a_learning_rate_decay_period_of_zero_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="optim.lr_decay_every = 0"):
        train_lib.train_and_evaluate(_config("wae", optim__lr_decay=0.5, optim__lr_decay_every=0), str(tmp_path))
    assert not os.listdir(tmp_path)


@pytest.mark.slow
def test_a_decaying_learning_rate_resumes_exactly(tmp_path):
    """Interrupted after the rate changed, then rerun: the uninterrupted run's weights, and not the
    weights of the same run without decay."""
    config = _config("wae", optim__lr_decay=0.5, optim__lr_decay_every=2)
    straight = str(tmp_path / "straight")
    train_lib.train_and_evaluate(config, straight)
    resumed = str(tmp_path / "resumed")
    with _raise_in_training(5), pytest.raises(Interrupt):
        train_lib.train_and_evaluate(config, resumed)
    train_lib.train_and_evaluate(config, resumed)
    _same(_weights(train_lib.checkpoint_at(resumed, 6)), _weights(train_lib.checkpoint_at(straight, 6)))
    plain = str(tmp_path / "plain")
    train_lib.train_and_evaluate(_config("wae"), plain)
    with pytest.raises(AssertionError):
        _same(_weights(train_lib.checkpoint_at(plain, 6)), _weights(train_lib.checkpoint_at(straight, 6)))


def test_a_config_holds_its_models_sections_only():
    """config.model names the model; only the sections it reads are present (set_model)."""
    from arae_tf.config_base import set_model
    c = _config("arae")
    assert "arae" in c and "noise" in c and not any(s in c for s in ("wae", "vae", "ae", "transfer"))
    c.arae.gp_weight = 0.5
    set_model(c, "arae_transfer")  # keeps what it shares, adds the transfer section's defaults
    assert c.arae.gp_weight == 0.5 and c.transfer.class_weight == 1.0
    set_model(c, "wae")
    assert c.model == "wae" and "arae" not in c and "noise" not in c and c.wae.mmd_weight == 3.0 and "vae" in c


def test_a_section_the_model_does_not_read_is_refused(tmp_path):
    config = _config("arae")
    config.model = "wae"  # switched by hand: the arae sections stay, the wae ones are missing
    with pytest.raises(ConfigError) as e:
        train_lib.train_and_evaluate(config, str(tmp_path))
    assert "section arae: model 'wae' does not read it" in str(e.value)
    assert "section wae: missing" in str(e.value)
    assert not os.listdir(tmp_path)


def _wae_streams(dropout, states=None):
    """A smoke WAE with a sampled softmax (and backbone dropout when > 0), its streams set to `states`."""
    from arae_tf.models import build_model
    c = _config("wae", backbone__sampled_softmax=8, backbone__dropout=dropout)
    model = build_model(c, 50)
    for v in model.variables:
        if v.path in (states or {}):
            v.assign(np.asarray(states[v.path], dtype=v.dtype))
    return model


def test_random_streams_are_restored_by_name_and_a_resume_may_add_one(caplog):
    """A run trained without backbone dropout resumed with it: the recorded streams are set by name,
    the new dropout stream starts from its seed; and back the other way."""
    caplog.set_level(logging.INFO, logger="absl")
    trained = _wae_streams(0.0, {"model_seed/seed_generator_state": [7, 3], "sampler_seed/seed_generator_state": [5, 2]})
    saved = workdir_lib.seed_states(trained)
    assert [p for p, _ in saved] == ["model_seed/seed_generator_state", "sampler_seed/seed_generator_state"]
    resumed = _wae_streams(0.2)
    workdir_lib.restore_seed_states(resumed, saved, "ckpt-4.json")
    assert dict(workdir_lib.seed_states(resumed)) == {"model_seed/seed_generator_state": [7, 3],
                                                     "sampler_seed/seed_generator_state": [5, 2],
                                                     "dropout_seed/seed_generator_state": [1, 0]}
    assert "no state for the random-number stream dropout_seed/seed_generator_state" in caplog.text
    back = _wae_streams(0.0)
    workdir_lib.restore_seed_states(back, workdir_lib.seed_states(resumed), "ckpt-6.json")
    assert dict(workdir_lib.seed_states(back)) == dict(saved)
    assert "dropout_seed/seed_generator_state, which the model does not have" in caplog.text


def test_unnamed_random_streams_of_older_markers_are_restored_in_order_or_refused():
    older = [["seed_generator_1/seed_generator_state", [7, 3]], ["seed_generator/seed_generator_state", [5, 2]]]
    model = _wae_streams(0.0)
    workdir_lib.restore_seed_states(model, older, "ckpt-4.json")
    assert [s for _, s in workdir_lib.seed_states(model)] == [[7, 3], [5, 2]]
    with pytest.raises(workdir_lib.CheckpointError, match=r"ckpt-4.json records 2 random-number states .* the model "
                                                            r"has 3 .*predates named streams"):
        workdir_lib.restore_seed_states(_wae_streams(0.2), older, "ckpt-4.json")


def test_the_exact_softmax_finish_switches_once_and_resumes_exactly(tmp_path, caplog):
    """`train.exact_softmax_from`: iterations before it train with the sampled softmax (the same weights as
    a sampled run there), after it with the exact one (different weights), and a run stopped at the switch
    and rerun ends with the same weights, bit for bit, as one that went straight through."""
    def config(steps, switch):
        return _config("wae", backbone__sampled_softmax=5, train__exact_softmax_from=switch, train__steps=steps)

    sampled, straight, resumed = (str(tmp_path / n) for n in ("sampled", "straight", "resumed"))
    train_lib.train_and_evaluate(config(6, 0), sampled)
    with caplog.at_level(logging.INFO):
        train_lib.train_and_evaluate(config(6, 4), straight)
    assert sum("uses the exact softmax from here" in r.getMessage() for r in caplog.records) == 1
    _same(_weights(train_lib.checkpoint_at(straight, 4)), _weights(train_lib.checkpoint_at(sampled, 4)))
    with pytest.raises(AssertionError, match="arrays differ"):
        _same(_weights(train_lib.checkpoint_at(straight, 6)), _weights(train_lib.checkpoint_at(sampled, 6)))
    train_lib.train_and_evaluate(config(4, 4), resumed)  # stops at the switch ...
    train_lib.train_and_evaluate(config(6, 4), resumed)  # ... and is rerun with the finish
    _same(_weights(train_lib.checkpoint_at(resumed, 6)), _weights(train_lib.checkpoint_at(straight, 6)))
    for bad, message in ((dict(backbone__sampled_softmax=0, train__exact_softmax_from=4), "exact softmax already"),
                         (dict(backbone__sampled_softmax=5, train__exact_softmax_from=3), "multiple of train.eval_every")):
        with pytest.raises(ConfigError, match=message):
            train_lib.train_and_evaluate(_config("wae", **bad), str(tmp_path / "bad"))
    assert not os.path.exists(tmp_path / "bad")
