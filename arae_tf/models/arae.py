"""Adversarially regularized autoencoder, Algorithm 1 of Zhao et al. (2018); SPEC 2.2.

Each `train_step` (one iteration) on a batch x:

1. Autoencoder (phi, psi): minimise L_rec(x) with N(0, r^2) noise added to
   z = enc(x); r = code_noise * noise_anneal ** (iteration // noise_anneal_every).
2. Critic (w), `critic_steps` times: maximise E[f(z)] - E[f(z~)], i.e. minimise
       L_critic = -f(z) + f(z~)          (z, z~ constants)
   plus, with `lipschitz="gp"`, lambda_gp * (||grad f(z^)||_2 - 1)^2 at
   z^ = a z + (1 - a) z~, a ~ U(0, 1) per example; with `lipschitz="clip"`,
   weights clipped to [-clip_value, clip_value] after every update.
3. Adversarial:
       generator (theta) minimises  L_gen = -E[f(g(s))]   (raises the fake codes' score),
       encoder   (phi)   minimises  L_enc = +lambda_1 * E[f(enc(x))]   (lowers the real codes' score),
   the encoder step with the autoencoder's optimizer (gradient clipping included)
   unless a separate `encoder_optimizer` is compiled in.

z for the critic steps is the batch's code after step 1 (computed once); each
critic step draws fresh generator noise. With `prior="gaussian"` or `"sphere"`
(the AAE baseline) z~ comes from a fixed distribution and there is no generator.
Hand-written losses are divided by the number of replicas.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from arae_tf.distribute import apply_gradients, num_replicas
from arae_tf.layers.mlp import critic_mlp, generator_mlp
from arae_tf.models.backbone import unit_norm
from arae_tf.models.base import TextAutoencoder
from arae_tf.models.decoding import as_seed

PRIORS = ("learned", "gaussian", "sphere")


@keras.saving.register_keras_serializable(package="arae_tf")
class ARAE(TextAutoencoder):
    """ARAE with a learned (GAN) prior, or the AAE baseline with a fixed prior, over a pluggable
    autoencoder: the same class and `train_step` for sentences and for binarized images (ARAE §5);
    only the backbone differs.

    Args:
        backbone: `SentenceAutoencoderBackbone`, or `ImageAutoencoderBackbone` for images
            (normalize_code=True in the paper).
        prior: "learned" (generator g(s)), "gaussian" N(0, I) or "sphere" (uniform on the unit sphere).
        noise_dim: size of the generator's input s ~ N(0, I).
        generator_hidden / critic_hidden: MLP widths.
        generator_tanh: tanh on the generator output (the paper) or linear (the Yelp reference code).
        critic_batchnorm: BatchNorm on the critic's hidden layers after the first (the reference code).
            Off by default: called on the real and the fake batch separately, BatchNorm normalises
            each with its own statistics, so the critic cannot see a difference of scale or spread
            and the learned prior collapses (docs/arae_prior.md).
        critic_steps: k critic updates per iteration.
        lipschitz: "gp" (gradient penalty, `gp_weight`) or "clip" (weight clipping, `clip_value`).
        adv_weight: lambda_1, the scale of the critic's gradient entering the encoder.
        generator_normalize: L2-normalise the generator's output onto the unit sphere, where the
            encoder's normalised codes live (not in the paper: its generator must learn the norm,
            and on Yelp ours stayed at ||z~|| ~ 0.5 while ||z|| = 1; docs/arae_prior.md).
        generator_skip: a linear path from the noise to the code beside the generator's MLP (not in
            the paper; `layers.mlp.generator_mlp`). With noise_dim >= latent_dim the prior can then
            cover codes of full rank; `prior_lib.moment_init_generator` starts it at their Gaussian fit.
    """

    def __init__(self, backbone, prior="learned", noise_dim=32, generator_hidden=(128, 128), critic_hidden=(128, 128),
                 generator_tanh=False, critic_batchnorm=False, critic_steps=5, lipschitz="gp", gp_weight=0.1,
                 clip_value=0.01, adv_weight=0.01, generator_normalize=False, generator_skip=False, **kwargs):
        super().__init__(backbone, **kwargs)
        if prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")
        if lipschitz not in ("gp", "clip"):
            raise ValueError(f"lipschitz must be 'gp' or 'clip', got {lipschitz!r}")
        # === Config ===
        self.prior = prior
        self.noise_dim = noise_dim
        self.generator_hidden = tuple(generator_hidden)
        self.critic_hidden = tuple(critic_hidden)
        self.generator_tanh = generator_tanh
        self.critic_batchnorm = critic_batchnorm
        self.critic_steps = critic_steps
        self.lipschitz = lipschitz
        self.gp_weight = gp_weight
        self.clip_value = clip_value
        self.adv_weight = adv_weight
        self.generator_normalize = bool(generator_normalize)
        self.generator_skip = bool(generator_skip)
        # === Layers ===
        d = self.latent_dim
        self.generator = (generator_mlp(noise_dim, self.generator_hidden, d, generator_tanh, self.generator_skip)
                          if prior == "learned" else None)
        self.critic = critic_mlp(d, self.critic_hidden, critic_batchnorm,
                                 clip_value if lipschitz == "clip" else None)
        # === Metrics ===
        self.w_tracker = keras.metrics.Mean(name="critic_w")
        self.gp_tracker = keras.metrics.Mean(name="gp")
        self.zfake_norm_tracker = keras.metrics.Mean(name="zfake_norm")
        self.gen_loss_tracker = keras.metrics.Mean(name="gen_loss")
        self.built = True

    @property
    def metrics(self):
        return super().metrics + [self.w_tracker, self.gp_tracker, self.zfake_norm_tracker, self.gen_loss_tracker]

    def compile(self, ae_optimizer=None, critic_optimizer=None, generator_optimizer=None, encoder_optimizer=None,
                **kwargs):
        """Three players, three optimizers, built on their variables up front.

        Defaults follow the paper / reference code: SGD(lr 1, global grad-norm clip 1)
        for the autoencoder, Adam(1e-4, beta_1 0.5) for critic and generator.
        The adversarial encoder step uses `encoder_optimizer` if given, else the
        autoencoder's optimizer (the paper). A separate one matters when the
        autoencoder uses Adam: Adam's update is invariant to the scale lambda_1
        of the adversarial gradient, and would mix it into the reconstruction moments.
        """
        ae_optimizer = ae_optimizer or keras.optimizers.SGD(1.0, global_clipnorm=1.0)
        critic_optimizer = critic_optimizer or keras.optimizers.Adam(1e-4, beta_1=0.5)
        generator_optimizer = generator_optimizer or keras.optimizers.Adam(1e-4, beta_1=0.5)
        ae_optimizer = self._build_optimizer(ae_optimizer, self.backbone.trainable_variables)
        self.critic_optimizer = self._build_optimizer(critic_optimizer, self.critic.trainable_variables)
        self.generator_optimizer = (self._build_optimizer(generator_optimizer, self.generator.trainable_variables)
                                    if self.generator is not None else None)
        self.encoder_optimizer = (self._build_optimizer(encoder_optimizer, self.backbone.encoder_variables)
                                  if encoder_optimizer is not None else None)
        super().compile(optimizer=ae_optimizer, **kwargs)

    def get_compile_config(self):
        ser = keras.saving.serialize_keras_object
        return {"ae_optimizer": ser(self.optimizer), "critic_optimizer": ser(self.critic_optimizer),
                "generator_optimizer": ser(self.generator_optimizer) if self.generator_optimizer else None,
                "encoder_optimizer": ser(self.encoder_optimizer) if self.encoder_optimizer else None,
                "jit_compile": bool(self.jit_compile)}

    def get_config(self):
        config = super().get_config()
        config.update(prior=self.prior, noise_dim=self.noise_dim, generator_hidden=list(self.generator_hidden),
                      critic_hidden=list(self.critic_hidden), generator_tanh=self.generator_tanh,
                      critic_batchnorm=self.critic_batchnorm, critic_steps=self.critic_steps,
                      lipschitz=self.lipschitz, gp_weight=self.gp_weight, clip_value=self.clip_value,
                      adv_weight=self.adv_weight, generator_normalize=self.generator_normalize,
                      generator_skip=self.generator_skip)
        return config

    # -- the prior ------------------------------------------------------------
    def prior_noise(self, n, seed=None):
        """Input noise of the prior: s for the generator, or the fixed prior's Gaussian draw.

        `seed` None: the model's own noise stream (training); else a stateless seed.
        """
        shape = (n, self.noise_dim if self.prior == "learned" else self.latent_dim)
        if seed is None:
            return keras.random.normal(shape, seed=self.seed_generator)
        return tf.random.stateless_normal(shape, as_seed(seed))

    def fake_codes(self, n=None, training=False, seed=None, noise=None):
        """z~ from the prior: g(s), s ~ N(0, I), or the fixed prior (from `noise` if given)."""
        eps = self.prior_noise(n, seed) if noise is None else noise
        if self.prior == "learned":
            z = self.generator(eps, training=training)
            return unit_norm(z) if self.generator_normalize else z
        if self.prior == "sphere":
            return eps / ops.norm(eps, axis=-1, keepdims=True)
        return eps

    def sample_codes(self, n, seed=0):
        return self.fake_codes(n, training=False, seed=seed)

    # -- Algorithm 1 ----------------------------------------------------------
    def critic_loss(self, z_real, z_fake, training=True):
        """(L_critic = mean f(z~) - mean f(z) + gp, W estimate, gp), unscaled."""
        f_real = self.critic(z_real, training=training)
        f_fake = self.critic(z_fake, training=training)
        w = ops.mean(f_real) - ops.mean(f_fake)
        gp = ops.zeros(())
        if self.lipschitz == "gp":
            alpha = keras.random.uniform((ops.shape(z_real)[0], 1), seed=self.seed_generator)
            z_hat = alpha * z_real + (1.0 - alpha) * z_fake
            with tf.GradientTape() as inner:
                inner.watch(z_hat)
                f_hat = self.critic(z_hat, training=training)
            g = inner.gradient(f_hat, z_hat)
            gp = self.gp_weight * ops.mean(ops.square(ops.sqrt(ops.sum(ops.square(g), axis=-1) + 1e-12) - 1.0))
        return -w + gp, w, gp

    def critic_step(self, z_real, z_fake=None):
        """One critic update on constant real codes and (fresh, unless given) fake codes; returns (W, gp, z~)."""
        z_real = tf.stop_gradient(z_real)
        if z_fake is None:
            z_fake = self.fake_codes(ops.shape(z_real)[0], training=True)
        z_fake = tf.stop_gradient(z_fake)
        variables = self.critic.trainable_variables
        with tf.GradientTape() as tape:
            loss, w, gp = self.critic_loss(z_real, z_fake)
            loss = loss / num_replicas()
        apply_gradients(self.critic_optimizer, tape.gradient(loss, variables), variables)
        return w, gp, z_fake

    def generator_step(self, batch_size, noise=None):
        """Generator update: minimise -E[f(g(s))] (s drawn fresh unless `noise` is given)."""
        variables = self.generator.trainable_variables
        if noise is None:
            noise = self.prior_noise(batch_size)
        with tf.GradientTape() as tape:
            z_fake = self.fake_codes(training=True, noise=noise)
            loss = -ops.mean(self.critic(z_fake, training=True))
            scaled = loss / num_replicas()
        apply_gradients(self.generator_optimizer, tape.gradient(scaled, variables), variables)
        return loss

    def encoder_adversarial_step(self, tokens):
        """Encoder update: minimise lambda_1 * E[f(enc(x))], with the autoencoder's optimizer."""
        variables = self.backbone.encoder_variables
        with tf.GradientTape() as tape:
            z = self.backbone.encode(tokens, training=True)
            loss = self.adv_weight * ops.mean(self.critic(z, training=True)) / num_replicas()
        apply_gradients(self.encoder_optimizer or self.optimizer, tape.gradient(loss, variables), variables)

    def critic_phase(self, tokens):
        """Step 2: `critic_steps` critic updates on this batch's (updated) codes; returns those codes."""
        z_real = self.backbone.encode(tokens, training=True)
        for _ in range(self.critic_steps):
            w, gp, z_fake = self.critic_step(z_real)
        self.w_tracker.update_state(w)
        self.gp_tracker.update_state(gp)
        self.zfake_norm_tracker.update_state(ops.mean(ops.norm(z_fake, axis=-1)))
        return z_real

    # -- a GAN phase on fixed codes --------------------------------------------
    def fit_prior(self, codes, iterations, batch_size=128, seed=0, log_every=0, log=print, critic_warmup=0):
        """Trains the critic and the generator on fixed real codes, the autoencoder frozen.

        Each iteration is Algorithm 1's steps 2 and 3 without the encoder: `critic_steps` critic
        updates, each on a fresh batch of `codes` drawn uniformly (seeded) and fresh generator noise,
        then one generator update, with the compiled critic and generator optimizers. It lets the
        learned prior catch up with codes that the joint training moved faster than the generator
        could follow (a collapsed prior: ||z~|| far from ||z||, few distinct samples); nothing the
        decoders or the encoder compute changes. Returns [(iteration, W estimate, mean ||z~||)] every
        `log_every` iterations (and the last).

        Args:
            codes: [N, latent_dim] real codes, e.g. the encoder's codes of the training sentences.
            iterations: generator updates.
            critic_warmup: iterations of critic updates alone before the first generator update (their
                code batches drawn after the `iterations`' own), so that a generator that starts well
                (`prior_lib.moment_init_generator`) is not first moved by a critic that knows nothing.
        """
        if self.generator is None:
            raise ValueError(f"fit_prior needs a learned prior; this model's prior is {self.prior!r}")
        codes = tf.convert_to_tensor(np.asarray(codes, np.float32))
        if codes.shape.rank != 2 or codes.shape[1] != self.latent_dim or codes.shape[0] < 1:
            raise ValueError(f"codes must be [N, {self.latent_dim}] with N >= 1, got shape {tuple(codes.shape)}")
        if iterations < 1 or batch_size < 1:
            raise ValueError(f"iterations and batch_size must be >= 1, got {iterations} and {batch_size}")
        if critic_warmup < 0:
            raise ValueError(f"critic_warmup must be >= 0, got {critic_warmup}")
        n = int(codes.shape[0])

        @tf.function
        def one_iteration(i, generator=True):
            for k in range(self.critic_steps):
                idx = tf.random.stateless_uniform([batch_size], [seed, i * self.critic_steps + k], 0, n, tf.int32)
                w, _, z_fake = self.critic_step(tf.gather(codes, idx))
            if generator:
                self.generator_step(batch_size)
            return w, ops.mean(ops.norm(z_fake, axis=-1))

        for i in range(critic_warmup):
            w, _ = one_iteration(tf.constant(iterations + i, tf.int32), generator=False)
        if critic_warmup and log_every:
            log(f"[prior] critic warm-up: {critic_warmup} iterations without generator updates, W {float(w):.4f}")
        history = []
        for i in range(iterations):
            w, norm = one_iteration(tf.constant(i, tf.int32))
            if (log_every and (i + 1) % log_every == 0) or i + 1 == iterations:
                history.append((i + 1, float(w), float(norm)))
                if log_every:
                    log(f"[prior] iteration {i + 1}/{iterations}: W {float(w):.4f} |z~| {float(norm):.3f}")
        return history

    def train_step(self, data):
        tokens = self.inputs_of(data)  # token ids, or pixels with an image backbone
        # 1. autoencoder
        self.reconstruction_step(tokens, self.optimizer, self.backbone.trainable_variables)
        # 2. critic, k times
        self.critic_phase(tokens)
        # 3. adversarial: encoder and generator
        self.encoder_adversarial_step(tokens)
        if self.generator is not None:
            self.gen_loss_tracker.update_state(self.generator_step(ops.shape(tokens)[0]))
        self.train_iterations.assign_add(1)
        return {m.name: m.result() for m in self.metrics}
