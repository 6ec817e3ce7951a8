"""Refitting an ARAE's learned prior on its frozen encoder's codes (`python -m arae_tf.fit_prior`)."""

import os
import sys
import time

from absl import logging

import numpy as np


def _log(msg):
    logging.info(f"[fit_prior] {msg}")


def _refuse_images(model, what):
    if model.modality == "image":
        raise ValueError(f"{what} reads training sentences; image models are not supported here")


def load_source(preset=None, source=None, data_dir=""):
    """(model, vocab, config) of a zoo preset (its recorded data paths checked, looked up in
    `data_dir` when given: `evaluation.preset_config`) or of a training workdir."""
    from arae_tf import evaluation, zoo
    if source:
        return evaluation.load_trained(source)
    model = zoo.load(preset)
    return model, model.vocabulary, evaluation.preset_config(model, data_dir)


def check_generator_sizes(noise_dim, generator_hidden):
    """ValueError unless the generator's noise size and hidden widths (None: the source's) are positive."""
    if (noise_dim is not None and noise_dim < 1) or (
            generator_hidden is not None and (not generator_hidden or min(generator_hidden) < 1)):
        raise ValueError(f"noise_dim and generator_hidden must be positive, got {noise_dim} and {generator_hidden}")


def check_refit_schedule(critic_warmup, generator_lr):
    """ValueError naming the flag unless critic_warmup >= 0 and generator_lr (None: the source's) > 0."""
    if critic_warmup < 0:
        raise ValueError(f"--critic_warmup={critic_warmup}: must be >= 0")
    if generator_lr is not None and not generator_lr > 0:
        raise ValueError(f"--generator_lr={generator_lr:g}: must be > 0")


def rebuild_with_new_critic(model, config, critic_batchnorm=False, gp_weight=None, generator_normalize=False,
                            fresh_generator=False, noise_dim=None, generator_hidden=None, seed=None,
                            generator_skip=None):
    """A model built from `config` with the critic settings changed, holding every weight of `model`
    (matched by variable path) except the critic's, which start fresh. With `fresh_generator` (implied
    by a new `noise_dim`, `generator_hidden` or `generator_skip`), the generator starts fresh too, with
    those settings (None: the source's).
    `seed` (default: the config's) seeds the fresh weights and becomes the new config's seed.
    Returns (new model, new config)."""
    import keras

    from arae_tf.models import build_model
    config = config.copy_and_resolve_references()
    config.arae.critic_batchnorm = critic_batchnorm
    config.arae.generator_normalize = generator_normalize
    if gp_weight is not None:
        config.arae.gp_weight = gp_weight
    check_generator_sizes(noise_dim, generator_hidden)
    if noise_dim is not None and noise_dim != config.arae.noise_dim:
        config.arae.noise_dim, fresh_generator = int(noise_dim), True
    if generator_hidden is not None and tuple(generator_hidden) != tuple(config.arae.generator_hidden):
        config.arae.generator_hidden, fresh_generator = tuple(int(u) for u in generator_hidden), True
    if generator_skip is not None and bool(generator_skip) != bool(config.arae.get("generator_skip", False)):
        config.arae.generator_skip, fresh_generator = bool(generator_skip), True
    fresh = ("critic/", "generator/") if fresh_generator else ("critic/",)
    if seed is not None:
        config.seed = seed
    keras.utils.set_random_seed(config.seed)
    new = build_model(config, model.backbone.vocab_size)
    if not hasattr(new, "fit_prior"):
        raise ValueError(f"model {config.model!r} has no learned prior to fit")
    old = {v.path: v for v in model.weights}
    kept = 0
    for v in new.weights:
        if v.path.startswith(fresh) or v.path not in old:
            continue
        v.assign(old[v.path].numpy())
        kept += 1
    new.vocabulary = model.vocabulary
    _log(f"kept {kept} of {len(new.weights)} weights; new critic ({len(new.critic.weights)} weights, "
         f"batchnorm={critic_batchnorm})" + (f"; new generator (noise {config.arae.noise_dim}, hidden "
                                              f"{tuple(config.arae.generator_hidden)}, linear skip "
                                              f"{bool(config.arae.get('generator_skip', False))})"
                                              if fresh_generator else ""))
    return new, config


def check_moment_init(model):
    """ValueError unless `model`'s generator can start at a Gaussian fit (`moment_init_generator`)."""
    if getattr(model, "generator", None) is None or not getattr(model, "generator_skip", False):
        raise ValueError("moment initialisation needs a learned prior with a linear skip path "
                         "(arae.generator_skip / --generator_skip)")
    for field in ("generator_normalize", "generator_tanh"):
        if getattr(model, field, False):
            raise ValueError(f"moment initialisation needs a linear generator output; arae.{field} is set (the "
                             "Gaussian fit would be projected or squashed)")
    if model.noise_dim < model.latent_dim:
        raise ValueError(f"moment initialisation needs noise_dim >= latent_dim ({model.latent_dim}) to cover a "
                         f"full-rank Gaussian; noise_dim is {model.noise_dim}")


def moment_init_generator(model, codes):
    """Starts the generator at the Gaussian fitted to `codes` [N, latent_dim]: its linear skip path
    maps the noise s ~ N(0, I) to mean + L s (L the Cholesky factor of the codes' covariance, the
    noise dimensions past latent_dim unused) and the MLP's output layer is zeroed, so that g(s) is
    exactly `evaluation.samples.gaussian_code_sampler`'s distribution until adversarial training moves
    it (`ARAE.fit_prior`). Returns the model."""
    check_moment_init(model)
    from arae_tf.models.base import gaussian_fit
    codes = np.asarray(codes, np.float64)
    if codes.ndim != 2 or codes.shape[1] != model.latent_dim or codes.shape[0] < 2:
        raise ValueError(f"codes must be [N, {model.latent_dim}] with N >= 2, got shape {codes.shape}")
    mean, tril = gaussian_fit(codes)
    kernel = np.zeros((model.noise_dim, model.latent_dim), np.float32)
    kernel[: model.latent_dim] = tril.T
    skip, out = model.generator.get_layer("skip"), model.generator.get_layer("out")
    skip.kernel.assign(kernel)
    skip.bias.assign(mean.astype(np.float32))
    out.kernel.assign(np.zeros(out.kernel.shape, np.float32))
    out.bias.assign(np.zeros(out.bias.shape, np.float32))
    _log(f"generator started at the Gaussian fit of {len(codes)} codes (mean norm {np.linalg.norm(mean):.3f}, "
         f"tr cov {np.sum(tril ** 2):.3f})")
    return model


def training_codes(model, config, batch=2000):
    """The encoder's codes [N, latent] of the config's training sentences (encoder-decoder data: of
    their sources, the contexts a reply is generated from)."""
    _refuse_images(model, "training_codes (fit_prior, evaluate --prior=gaussian_fit)")
    from arae_tf.data.pipeline import source_of
    from arae_tf.data.sources import load_examples
    from arae_tf.arithmetic import codes
    return codes(model, [source_of(e) for e in load_examples(config.data, "train")], batch).astype(np.float32)


def refit_prior_to_workdir(preset, source, workdir, iterations, batch_size=128, gp_weight=None,
                           generator_normalize=False, seed=0, fresh_generator=False, noise_dim=None,
                           generator_hidden=None, generator_skip=None, moment_init=False, critic_warmup=0,
                           generator_lr=None):
    """The whole binary: load, rebuild the critic, fit the prior, write `workdir` (see fit_prior.py)."""
    from arae_tf import workdir as workdir_lib
    from arae_tf.metrics import latent
    if os.path.exists(os.path.join(workdir, "final")) or os.path.exists(os.path.join(workdir, "config.json")):
        raise FileExistsError(f"{workdir} already holds a model; give a new --workdir")
    model, vocab, config = load_source(preset, source)
    model, config = rebuild_with_new_critic(model, config, gp_weight=gp_weight,
                                            generator_normalize=generator_normalize, fresh_generator=fresh_generator,
                                            noise_dim=noise_dim, generator_hidden=generator_hidden, seed=seed,
                                            generator_skip=generator_skip)
    if moment_init:
        check_moment_init(model)  # before the codes are computed
    check_refit_schedule(critic_warmup, generator_lr)
    if generator_lr is not None:
        model.generator_optimizer.learning_rate.assign(generator_lr)
    t = time.time()
    codes = training_codes(model, config)
    _log(f"{len(codes)} training codes ({time.time() - t:.0f}s), mean norm {np.linalg.norm(codes, axis=1).mean():.3f}")
    if moment_init:
        moment_init_generator(model, codes)
    t = time.time()
    history = model.fit_prior(codes, iterations, batch_size=batch_size, seed=seed, log_every=max(1, iterations // 10),
                              log=_log, critic_warmup=critic_warmup)
    z_fake = model.sample_codes(2000, seed=seed).numpy()
    stats = latent.code_statistics(z_fake)
    _log(f"{iterations} iterations in {time.time() - t:.0f}s; prior codes: norm {stats['norm']:.3f}, "
         f"tr cov {stats['cov_trace']:.3f}")
    os.makedirs(workdir, exist_ok=True)
    vocab.save(os.path.join(workdir, "vocabulary.txt"))
    record = {"config": config.to_dict(), "command": sys.argv, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
              "prior_refit": {"source": preset or source, "iterations": iterations, "batch_size": batch_size,
                              "moment_init": bool(moment_init), "critic_warmup": critic_warmup,
                              "generator_lr": float(model.generator_optimizer.learning_rate.numpy()),
                              "history": history}}
    workdir_lib.record_run(workdir, record)
    samples = model.sample(20, seed=seed)
    metrics = {"step": int(model.train_iterations.numpy()), "prior_code_norm": stats["norm"],
               "prior_code_cov_trace": stats["cov_trace"]}
    workdir_lib.save_final(model, vocab, config, workdir, metrics, samples)
    for s in samples[:5]:
        _log(f"[sample] {s}")
    _log(f"wrote {workdir}: evaluate it with python -m arae_tf.evaluate --workdir={workdir}")
    return model
