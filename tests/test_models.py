"""AE / ARAE: objective signs, serialization and saving round trips, compile survival."""


import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from arae_tf.models import ARAE
from tests.conftest import tiny_ae, tiny_arae


def _f(model, z):
    return float(tf.reduce_mean(model.critic(z, training=True)))


@pytest.mark.parametrize("batchnorm, lipschitz", [(False, "gp"), (True, "gp"), (False, "clip")])
def test_critic_step_raises_w_on_its_batch(vocab, batch, batchnorm, lipschitz):
    model = tiny_arae(len(vocab), critic_batchnorm=batchnorm, lipschitz=lipschitz, gp_weight=0.0)
    model.critic_optimizer.learning_rate.assign(1e-3)
    for v in model.critic.trainable_variables:  # start inside the clipping box: the step is the gradient's
        if v.constraint is not None:
            v.assign(v.constraint(v) * 0.5)
    z = model.backbone.encode(batch)
    z_fake = model.fake_codes(len(batch), training=True)
    before = _f(model, z) - _f(model, z_fake)
    model.critic_step(z, z_fake)
    after = _f(model, z) - _f(model, z_fake)
    assert after > before


def test_weight_clipping_bounds_critic_weights(vocab, batch):
    model = tiny_arae(len(vocab), lipschitz="clip", clip_value=0.01)
    model.critic_optimizer.learning_rate.assign(0.5)
    model.critic_step(model.backbone.encode(batch))
    for v in model.critic.trainable_variables:
        if "gamma" not in v.path and "beta" not in v.path:
            assert np.abs(v.numpy()).max() <= 0.01 + 1e-7, v.path


def test_gradient_penalty_is_per_example_and_positive(vocab, batch):
    model = tiny_arae(len(vocab), critic_batchnorm=False, gp_weight=1.0)
    z = model.backbone.encode(batch)
    _, w, gp = model.critic_loss(z, model.fake_codes(len(batch), training=True))
    assert float(gp) > 0.0
    # A critic with unit-norm input gradient everywhere has no penalty: f(z) = z . u, |u| = 1.
    u = np.zeros((8, 1), "float32"); u[0] = 1.0
    for layer in model.critic.layers:
        for v in layer.trainable_variables:
            v.assign(np.zeros(v.shape, "float32"))
    linear = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, use_bias=False)])
    linear.layers[0].kernel.assign(u)
    model.critic = linear
    _, _, gp = model.critic_loss(z, model.fake_codes(len(batch), training=True))
    assert abs(float(gp)) < 1e-5


def test_encoder_step_lowers_real_scores(vocab, batch):
    model = tiny_arae(len(vocab), critic_batchnorm=False, adv_weight=1.0)
    model.optimizer.learning_rate.assign(0.1)
    before = _f(model, model.backbone.encode(batch))
    model.encoder_adversarial_step(batch)
    assert _f(model, model.backbone.encode(batch)) < before


def test_generator_step_raises_fake_scores(vocab):
    model = tiny_arae(len(vocab), critic_batchnorm=False)
    model.generator_optimizer.learning_rate.assign(1e-3)
    noise = model.prior_noise(16, seed=3)
    before = _f(model, model.fake_codes(training=True, noise=noise))
    model.generator_step(16, noise=noise)
    assert _f(model, model.fake_codes(training=True, noise=noise)) > before


def test_train_step_updates_every_player(vocab, batch):
    model = tiny_arae(len(vocab))
    snap = lambda vs: [v.numpy().copy() for v in vs]
    parts = {"enc": model.backbone.encoder_variables, "critic": model.critic.trainable_variables,
             "gen": model.generator.trainable_variables,
             "dec": model.backbone.decoder_lstms[0].trainable_variables}
    before = {k: snap(v) for k, v in parts.items()}
    logs = model.train_step({"tokens": tf.constant(batch), "label": tf.zeros([len(batch)], tf.int32)})
    for k, vs in parts.items():
        assert any(not np.allclose(a, b.numpy()) for a, b in zip(before[k], vs)), k
    assert int(model.train_iterations.numpy()) == 1
    assert {"rec_loss", "token_acc", "critic_w", "gp", "z_norm", "zfake_norm"} <= set(logs)


def test_code_noise_anneals(vocab):
    model = tiny_arae(len(vocab), noise_anneal=0.5, noise_anneal_every=10)
    model.train_iterations.assign(25)
    assert np.isclose(float(model.current_code_noise()), 0.1 * 0.25)


@pytest.mark.parametrize("prior", ["gaussian", "sphere"])
def test_fixed_prior_has_no_generator(vocab, batch, prior):
    model = tiny_arae(len(vocab), prior=prior)
    assert model.generator is None
    z = model.sample_codes(64, seed=1).numpy()
    assert z.shape == (64, 8)
    if prior == "sphere":
        np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-5)
    model.train_step({"tokens": tf.constant(batch), "label": tf.zeros([len(batch)], tf.int32)})


def test_bad_constructor_arguments(vocab):
    with pytest.raises(ValueError, match="prior must be one of"):
        tiny_arae(len(vocab), prior="uniform")
    with pytest.raises(ValueError, match="lipschitz must be"):
        tiny_arae(len(vocab), lipschitz="spectral")


def _all_weights(model):
    return [v.numpy() for v in model.weights]


def tiny_arae_skip(vocab_size, compile=True):
    """A tiny ARAE whose generator has the linear skip path, noise at the code size (8)."""
    return tiny_arae(vocab_size, compile=compile, generator_skip=True, noise_dim=8)


@pytest.mark.parametrize("factory", [tiny_arae, tiny_ae, tiny_arae_skip])
def test_config_round_trip(vocab, factory):
    model = factory(len(vocab), compile=False)
    clone = type(model).from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert [v.shape for v in clone.weights] == [v.shape for v in model.weights]


@pytest.mark.parametrize("factory", [tiny_arae, tiny_ae, tiny_arae_skip])
def test_weights_round_trip_exact(tmp_path, vocab, batch, factory):
    model = factory(len(vocab))
    model.train_step({"tokens": tf.constant(batch), "label": tf.zeros([len(batch)], tf.int32)})
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    clone = type(model).from_config(model.get_config())
    clone.compile() if isinstance(clone, ARAE) else clone.compile(optimizer="adam")
    clone.load_weights(path)
    for a, b in zip(_all_weights(model), _all_weights(clone)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.optimizer.variables, clone.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(model.reconstruct_ids(batch), clone.reconstruct_ids(batch))
    np.testing.assert_array_equal(model.generate_ids(4, seed=2), clone.generate_ids(4, seed=2))


def test_keras_file_round_trip_keeps_custom_compile(tmp_path, vocab, batch):
    model = tiny_arae(len(vocab))
    model.compile(ae_optimizer=keras.optimizers.SGD(0.5, global_clipnorm=1.0),
                  critic_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                  generator_optimizer=keras.optimizers.Adam(3e-4, beta_1=0.5),
                  encoder_optimizer=keras.optimizers.SGD(0.25))
    model.train_step({"tokens": tf.constant(batch), "label": tf.zeros([len(batch)], tf.int32)})
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, ARAE)
    assert np.isclose(float(loaded.optimizer.learning_rate), 0.5)
    assert loaded.optimizer.global_clipnorm == 1.0
    assert np.isclose(float(loaded.critic_optimizer.learning_rate), 2e-4)
    assert np.isclose(float(loaded.generator_optimizer.learning_rate), 3e-4)
    assert np.isclose(float(loaded.encoder_optimizer.learning_rate), 0.25)
    for a, b in zip(_all_weights(model), _all_weights(loaded)):
        np.testing.assert_array_equal(a, b)
    loaded.train_step({"tokens": tf.constant(batch), "label": tf.zeros([len(batch)], tf.int32)})  # trains on


def test_ae_code_gaussian(vocab, examples):
    from arae_tf.data import pipeline
    model = tiny_ae(len(vocab))
    ds = pipeline.make_dataset(examples, vocab, 32, 12, shuffle=False)
    assert model.fit_code_distribution(ds) == len(examples)
    codes = np.concatenate([model.encode_ids(b["tokens"]).numpy() for b in ds])
    samples = model.sample_codes(4000, seed=0).numpy()
    np.testing.assert_allclose(samples.mean(0), codes.mean(0), atol=0.05)
    np.testing.assert_allclose(np.cov(samples, rowvar=False), np.cov(codes, rowvar=False), atol=0.02)


def test_fit_prior_trains_only_the_gan_and_moves_the_prior_to_the_codes(vocab):
    """`fit_prior` on constructed codes (all near one direction of the sphere): the generated codes'
    mean turns towards theirs, critic and generator change, nothing else does; bad input is refused."""
    import keras
    model = tiny_arae(len(vocab), compile=False, critic_batchnorm=False)
    model.compile(critic_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
                  generator_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
    rng = np.random.default_rng(0)
    target = np.eye(8, dtype=np.float32)[0]
    codes = target + 0.05 * rng.standard_normal((512, 8)).astype(np.float32)
    codes /= np.linalg.norm(codes, axis=1, keepdims=True)
    frozen = {v.path: v.numpy().copy() for v in model.backbone.weights}
    gen_before = [v.numpy().copy() for v in model.generator.weights]
    history = model.fit_prior(codes, 300, batch_size=64, seed=1, log_every=100, log=lambda m: None)
    assert [h[0] for h in history] == [100, 200, 300]
    for v in model.backbone.weights:
        np.testing.assert_array_equal(v.numpy(), frozen[v.path])
    assert any(not np.array_equal(a, v.numpy()) for a, v in zip(gen_before, model.generator.weights))
    fake = model.sample_codes(512, seed=3).numpy()
    cos = fake.mean(0) @ target / np.linalg.norm(fake.mean(0))
    assert cos > 0.9, (cos, fake.mean(0))
    with pytest.raises(ValueError, match=r"codes must be \[N, 8\]"):
        model.fit_prior(codes[:, :4], 1)
    with pytest.raises(ValueError, match="needs a learned prior"):
        tiny_arae(len(vocab), prior="gaussian").fit_prior(codes, 1)


def test_fit_prior_warms_the_critic_up_before_the_first_generator_update(vocab):
    """critic_warmup: that many iterations of critic updates alone, then the usual iterations."""
    model = tiny_arae(len(vocab), critic_batchnorm=False)
    codes = np.random.default_rng(0).standard_normal((64, 8)).astype(np.float32)
    history = model.fit_prior(codes, 2, batch_size=16, critic_warmup=3, log=lambda m: None)
    assert [h[0] for h in history] == [2]
    assert int(model.critic_optimizer.iterations.numpy()) == (3 + 2) * model.critic_steps
    assert int(model.generator_optimizer.iterations.numpy()) == 2
    with pytest.raises(ValueError, match="critic_warmup must be >= 0"):
        model.fit_prior(codes, 1, critic_warmup=-1)


def test_a_moment_initialised_skip_generator_is_the_codes_gaussian_fit(vocab):
    """generator_skip + prior_lib.moment_init_generator: g(s) = mean + L s exactly (L the Cholesky factor
    of the codes' covariance), in training and inference mode, under the generator's own variable paths;
    generators that cannot hold a full-rank Gaussian are refused by name."""
    from arae_tf import prior_lib
    model = tiny_arae_skip(len(vocab))
    assert all(v.path.startswith("generator/") for v in model.generator.weights)
    assert {"generator/skip/kernel", "generator/out/kernel"} <= {v.path for v in model.generator.weights}
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((300, 8)) @ rng.standard_normal((8, 8)) * 0.1 + 0.3
    prior_lib.moment_init_generator(model, codes)
    tril = np.linalg.cholesky(np.cov(codes, rowvar=False) + 1e-6 * np.eye(8))
    s = rng.standard_normal((5, 8)).astype(np.float32)
    want = codes.mean(0) + s @ tril.T
    for training in (False, True):
        np.testing.assert_allclose(model.fake_codes(noise=tf.constant(s), training=training).numpy(), want,
                                   rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="linear skip path"):
        prior_lib.moment_init_generator(tiny_arae(len(vocab)), codes)
    with pytest.raises(ValueError, match="noise_dim >= latent_dim"):
        prior_lib.moment_init_generator(tiny_arae(len(vocab), generator_skip=True, noise_dim=4), codes)
    with pytest.raises(ValueError, match=r"codes must be \[N, 8\]"):
        prior_lib.moment_init_generator(model, codes[:, :4])
    for field in ("generator_normalize", "generator_tanh"):
        squashed = tiny_arae(len(vocab), generator_skip=True, noise_dim=8, **{field: True})
        with pytest.raises(ValueError, match=f"arae.{field} is set"):
            prior_lib.moment_init_generator(squashed, codes)


@pytest.mark.slow
def test_fit_prior_binary_rebuilds_the_critic_and_keeps_the_autoencoder(builtin_run, tmp_path):
    import subprocess
    import sys

    from arae_tf.evaluation import load_trained
    from tests.conftest import REPO
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")

    def fit_prior(out, *flags):
        return subprocess.run([sys.executable, "-m", "arae_tf.fit_prior", f"--source={builtin_run[0]}",
                               f"--workdir={out}", *flags], cwd=REPO, capture_output=True, text=True, timeout=600, env=env)

    out = str(tmp_path / "prior")
    r = fit_prior(out, "--iterations=20")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "iteration 20/20" in r.stdout + r.stderr  # absl logging: standard error
    source, _, _ = load_trained(builtin_run[0])
    refit, _, config = load_trained(out)
    assert config.arae.critic_batchnorm is False
    assert not any("batch_normalization" in v.path or "/bn_" in v.path for v in refit.critic.weights)
    for a, b in zip(source.backbone.weights, refit.backbone.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    again = fit_prior(out)
    assert again.returncode != 0 and "already holds a model" in again.stderr
    # Another generator size starts a fresh generator of that size; the autoencoder is kept.
    out2 = str(tmp_path / "prior_wide")
    wide = fit_prior(out2, "--iterations=5", "--noise_dim=12", "--generator_hidden=24,24")
    assert wide.returncode == 0, wide.stderr[-2000:]
    refit2, _, config2 = load_trained(out2)
    assert config2.arae.noise_dim == 12 and tuple(config2.arae.generator_hidden) == (24, 24)
    assert refit2.generator.weights[0].shape == (12, 24) and refit2.sample_codes(3, seed=0).shape == (3, refit2.latent_dim)
    for a, b in zip(source.backbone.weights, refit2.backbone.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    bad = fit_prior(tmp_path / "bad", "--generator_hidden=24,x")
    assert bad.returncode != 0 and "--generator_hidden=24,x" in bad.stderr and not os.path.exists(tmp_path / "bad")
    # A skip generator at the code size, started at the codes' Gaussian fit, saved and loaded again.
    out3 = str(tmp_path / "prior_moment")
    d = source.latent_dim
    moment = fit_prior(out3, "--iterations=2", f"--noise_dim={d}", "--generator_skip", "--moment_init",
                       "--critic_warmup=2", "--generator_lr=1e-5")
    assert moment.returncode == 0, moment.stderr[-2000:]
    assert "started at the Gaussian fit" in moment.stderr and "critic warm-up: 2 iterations" in moment.stderr
    refit_record = json.load(open(os.path.join(out3, "config.json")))["prior_refit"]
    assert refit_record["moment_init"] and refit_record["critic_warmup"] == 2
    assert refit_record["generator_lr"] == pytest.approx(1e-5)
    refit3, _, config3 = load_trained(out3)
    assert config3.arae.generator_skip is True and refit3.generator_skip
    assert refit3.generator.get_layer("skip").kernel.shape == (d, d)
    assert refit3.sample_codes(3, seed=0).shape == (3, d)
    # Without the skip path (or with too little noise) moment initialisation is refused, nothing written.
    for flags in (("--moment_init",), ("--moment_init", "--generator_skip", "--noise_dim=2")):
        refused = fit_prior(tmp_path / "refused", "--iterations=2", *flags)
        assert refused.returncode != 0 and "moment initialisation needs" in refused.stderr
        assert not os.path.exists(tmp_path / "refused")
    refused = fit_prior(tmp_path / "refused", "--generator_lr=0")
    assert refused.returncode != 0 and "--generator_lr=0: must be > 0" in refused.stderr
    assert not os.path.exists(tmp_path / "refused")
