"""Shared machinery of the autoencoder models.

`TextAutoencoder` is a Keras model around a backbone, the pluggable autoencoder: a
`SentenceAutoencoderBackbone` (sentences, LSTMs) or an `ImageAutoencoderBackbone` (binarized
images, MLPs). It holds the reconstruction step, evaluation, decoding helpers compiled as
`tf.function`s, metric trackers and `tf.distribute`-correct loss scaling. Subclasses (AE, ARAE,
VAE/WAE, ARAETransfer) add a regulariser and their own `train_step`; what they read of a batch is
`inputs_of(batch)`, the entry the backbone names (`backbone.input_key`: "tokens" or "pixels").
The string API (`TextAPI`) serves text backbones, the image API (`ImageAPI`) image backbones;
each refuses the other kind with a `TypeError` saying which methods to use.
"""

import contextlib

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from arae_tf.distribute import apply_gradients, global_sum
from arae_tf.models.decoding import as_seed
from arae_tf.models.image_api import ImageAPI
from arae_tf.models.text_api import MAX_ROWS, TextAPI, check_decode_options, check_prior

def gaussian_fit(codes):
    """(mean [d], Cholesky factor L [d, d] of the covariance + 1e-6 I) of codes [N, d], float64: the
    Gaussian of `TextAutoencoder.fit_gaussian_to_codes`, the AE's fitted prior,
    `evaluation.samples.gaussian_code_sampler` and `prior_lib.moment_init_generator`."""
    codes = np.asarray(codes, np.float64)
    mean, cov = codes.mean(0), np.cov(codes, rowvar=False)
    return mean, np.linalg.cholesky(cov + 1e-6 * np.eye(len(mean)))


def gaussian_codes(mean, scale_tril, n, seed):
    """`n` codes mean + L eps from N(mean, L L^T) (float32 `mean` [d] and `scale_tril` [d, d]), eps ~ N(0, I)
    drawn statelessly from `seed`: the same seed, the same codes."""
    eps = tf.random.stateless_normal([n, scale_tril.shape[-1]], as_seed(seed))
    return mean[None] + tf.matmul(eps, scale_tril, transpose_b=True)


NO_CODE_FIT = ("this model carries no Gaussian fit of its codes: presets made with `make_preset --code_fit` or "
               "given one by `python -m arae_tf.add_code_fit --model=NAME` have one (zoo.load sets it), or fit one "
               "with model.fit_gaussian_to_codes(arae_tf.arithmetic.codes(model, training_sentences))")

# Compute dtype policies a model can be built in. float16 would need loss scaling in every custom
# train step, so it is not offered.
DTYPE_POLICIES = ("float32", "mixed_bfloat16")


@contextlib.contextmanager
def dtype_policy(name, field="dtype policy"):
    """Within the block, layers are built with the Keras dtype policy `name` (variables stay float32;
    sublayers made in `__init__` take the global policy). The previous policy is restored on the way
    out. A name outside `DTYPE_POLICIES` raises ValueError naming `field`."""
    if name not in DTYPE_POLICIES:
        raise ValueError(f"{field} must be one of {DTYPE_POLICIES}, got {name!r}")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def token_mean(stats):
    """Replica-correct mean NLL per token: local NLL sum / global token count.

    Summed over replicas (as gradients are), this is exactly the mean over
    every real token of the global batch, whatever each replica's share.
    """
    return stats["nll_sum"] / ops.maximum(tf.stop_gradient(global_sum(stats["tokens"])), 1.0)


class _FunctionCache:
    """Compiled inference functions by key (a plain object, invisible to checkpoint tracking)."""

    def __init__(self):
        self.functions = {}


class TextAutoencoder(TextAPI, ImageAPI, keras.Model):
    """Base class: backbone + reconstruction. Not used directly.

    Args:
        backbone: a `SentenceAutoencoderBackbone` or `ImageAutoencoderBackbone` (or its config dict).
        code_noise: std r of Gaussian noise added to z in reconstruction steps.
        noise_anneal: r is multiplied by this every `noise_anneal_every` iterations.
        seed: seed of the model's noise streams.
    """

    # -- capabilities (what evaluation reads) ---------------------------------
    @property
    def decoder_classes(self):
        """Attribute classes with a decoder of their own (`backbone.num_decoders`). Above 1 (ARAETransfer),
        a sentence is reconstructed by its class's decoder (`decode_by_class`) and can be transferred."""
        return self.backbone.num_decoders

    @property
    def fits_codes(self):
        """Whether the prior is fitted to training codes (`fit_code_distribution`) before sampling."""
        return False

    def __init__(self, backbone, code_noise=0.0, noise_anneal=1.0, noise_anneal_every=100, seed=0, **kwargs):
        super().__init__(**kwargs)
        # === Layers ===
        if isinstance(backbone, dict):
            backbone = keras.saving.deserialize_keras_object(backbone)
        self.backbone = backbone
        # === Config ===
        self.code_noise = code_noise
        self.noise_anneal = noise_anneal
        self.noise_anneal_every = noise_anneal_every
        self.seed = seed
        # === State ===
        # Named streams (model_seed here, sampler_seed / dropout_seed in the backbone): a checkpoint's
        # random-number states are restored by name, so a resume may add a stream (`workdir.restore_seed_states`).
        self.seed_generator = keras.random.SeedGenerator(seed, name="model_seed")
        self.train_iterations = self.add_weight(name="train_iterations", shape=(), dtype="int64",
                                                initializer="zeros", trainable=False)
        self._decode_fns = _FunctionCache()  # not a dict: SavedModel export must not track it
        self.rec_loss_tracker = keras.metrics.Mean(name="rec_loss")
        self.token_acc_tracker = keras.metrics.Mean(name="token_acc")
        self.z_norm_tracker = keras.metrics.Mean(name="z_norm")

    @property
    def latent_dim(self):
        return self.backbone.latent_dim

    @property
    def modality(self):
        """"text" or "image": what the backbone autoencodes."""
        return getattr(self.backbone, "modality", "text")

    def inputs_of(self, batch):
        """The autoencoder's input in a batch dict: `batch[backbone.input_key]` (token ids or pixels)."""
        return batch[self.backbone.input_key]

    # -- Keras plumbing -------------------------------------------------------
    def call(self, tokens, training=False):
        """Returns the codes of a token batch."""
        return self.backbone.encode(tokens, training=training)

    @property
    def reconstruction_metrics(self):
        """The trackers validation reports (the regularisers' are training-time quantities)."""
        return [self.rec_loss_tracker, self.token_acc_tracker, self.z_norm_tracker]

    @property
    def metrics(self):
        return self.reconstruction_metrics

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Every layer and optimizer is built in the constructor and `compile`, so Keras's symbolic
        # build has nothing to do; skipping it also avoids its `strategy.reduce` of the first batch,
        # which fails on dict batches under MultiWorkerMirroredStrategy (keras-team/keras#20329).
        if all(layer.built for layer in self._flatten_layers()):
            return None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def _make_function(self, step_function):
        # Keras reduces the logged values of each step with strategy.reduce("MEAN", axis=0), which
        # under MultiWorkerMirroredStrategy fails on scalars: give them an axis for the reduction
        # (the result is the mean over workers) and take it away again.
        if not isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return super()._make_function(step_function)

        def with_axis(data):
            return tf.nest.map_structure(lambda v: tf.reshape(v, (1,)), step_function(data))

        function = super()._make_function(with_axis)
        return lambda iterator: tf.nest.map_structure(lambda v: tf.reshape(v, ()), function(iterator))

    def get_config(self):
        config = super().get_config()
        config.update(backbone=keras.saving.serialize_keras_object(self.backbone), code_noise=self.code_noise,
                      noise_anneal=self.noise_anneal, noise_anneal_every=self.noise_anneal_every, seed=self.seed)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)

    def compile(self, optimizer="adam", **kwargs):
        """One optimizer for the whole backbone (AE, WAE, VAE), built on its variables up front."""
        optimizer = self._build_optimizer(optimizer, self.backbone.trainable_variables)
        super().compile(optimizer=optimizer, **kwargs)

    def get_compile_config(self):
        return {"optimizer": keras.saving.serialize_keras_object(self.optimizer), "jit_compile": bool(self.jit_compile)}

    def compile_from_config(self, config):
        """Inverse of `get_compile_config`: `optimizer` and every `*_optimizer` entry go back to `compile`
        (models with more optimizers only extend `get_compile_config`)."""
        de = keras.saving.deserialize_keras_object
        self.compile(**{k: de(v) if v else None for k, v in config.items()
                        if k == "optimizer" or k.endswith("_optimizer")}, jit_compile=config.get("jit_compile", False))

    def _build_optimizer(self, optimizer, variables):
        optimizer = keras.optimizers.get(optimizer)
        optimizer.build(variables)
        return optimizer

    # -- training pieces ------------------------------------------------------
    def current_code_noise(self):
        steps = ops.cast(self.train_iterations // self.noise_anneal_every, "float32")
        return self.code_noise * ops.power(self.noise_anneal, steps)

    def reconstruction_stats(self, z, tokens, labels=None, training=False):
        """Reconstruction statistics of `tokens` from codes `z` (subclasses route by label); `training`
        selects the backbone's training loss (its sampled softmax, when it has one)."""
        return self.backbone.reconstruction(z, tokens, training=training)

    def reconstruction_step(self, tokens, optimizer, variables, labels=None, source=None):
        """One gradient step on L_rec with annealed code noise (the encoder reads `source` if given).

        Returns (stats dict, codes z before noise).
        """
        with tf.GradientTape() as tape:
            z = self.backbone.encode(tokens if source is None else source, training=True)
            z_in = z
            if self.code_noise:
                z_in = z + self.current_code_noise() * keras.random.normal(ops.shape(z), seed=self.seed_generator)
            stats = self.reconstruction_stats(z_in, tokens, labels, training=True)
            loss = token_mean(stats)
        apply_gradients(optimizer, tape.gradient(loss, variables), variables)
        self.track_reconstruction(stats, z)
        return stats, z

    def track_reconstruction(self, stats, z):
        n = ops.maximum(stats["tokens"], 1.0)
        self.rec_loss_tracker.update_state(stats["nll_sum"] / n, sample_weight=stats["tokens"])
        self.token_acc_tracker.update_state(stats["correct"] / n, sample_weight=stats["tokens"])
        self.z_norm_tracker.update_state(ops.mean(ops.norm(z, axis=-1)))

    def test_step(self, data):
        """Reconstruction metrics only (the regularisers' trackers are training-time quantities)."""
        tokens = self.inputs_of(data)
        z = self.backbone.encode(data.get("source", tokens))  # "source": encoder-decoder (dialog) data
        self.track_reconstruction(self.reconstruction_stats(z, tokens, data.get("label")), z)
        return {m.name: m.result() for m in self.reconstruction_metrics}

    # -- inference on token ids ---------------------------------------------
    def encode_ids(self, tokens):
        """Codes of a token batch [B, T] (numpy or tensor) as a tensor [B, latent_dim]."""
        return self.encode_inputs(tokens)

    def encode_inputs(self, inputs):
        """Codes [B, latent_dim] (tensor) of a batch of the backbone's inputs (token ids [B, T] or pixels
        [B, n]), through one compiled function."""
        spec = self.backbone.input_signature
        return self._compiled("encode", lambda t: self.backbone.encode(t), [spec])(tf.cast(inputs, spec.dtype))

    def decode_ids(self, z, seed=0, **decode_kwargs):
        """Token ids [B, max_len] from codes; see `SentenceAutoencoderBackbone.decode` for options
        (method greedy/sample/beam, max_len, temperature, top_k, top_p, beam_size, decoder). Every
        option is checked first (`ValueError`/`TypeError` naming it)."""
        check_decode_options(decode_kwargs, self.backbone.num_decoders)
        z = self._code_batch(z)
        key = ("decode",) + tuple(sorted(decode_kwargs.items()))
        fn = self._compiled(key, lambda z, s: self.backbone.decode(z, seed=s, **decode_kwargs),
                            [tf.TensorSpec([None, self.latent_dim], tf.float32), tf.TensorSpec([2], tf.int32)])
        return fn(z, as_seed(seed))

    def _code_batch(self, z):
        """`z` as float32 codes [N, latent_dim], N <= MAX_ROWS (`ValueError` otherwise)."""
        z = np.asarray(z, np.float32) if not tf.is_tensor(z) else tf.cast(z, tf.float32)
        if len(z.shape) != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"codes must have shape [N, {self.latent_dim}], got {list(z.shape)}")
        if z.shape[0] > MAX_ROWS:
            raise ValueError(f"at most {MAX_ROWS} codes per call, got {z.shape[0]}")
        return tf.cast(z, tf.float32)

    def reconstruct_ids(self, tokens, **decode_kwargs):
        return self.decode_ids(self.encode_ids(tokens), **decode_kwargs)

    def sample_codes(self, n, seed=0):
        raise NotImplementedError

    # -- a Gaussian fitted to the codes (`sample(n, prior="gaussian_fit")`) ----
    @property
    def code_fit(self):
        """(mean [d], scale_tril [d, d]) float32 numpy arrays of a Gaussian fitted to training codes, or
        None. `set_code_fit` / `fit_gaussian_to_codes` set it; a preset's `code_fit.npz` sets it on
        `zoo.load`. `sample(n, prior="gaussian_fit")` and `gaussian_fit_codes` draw from it."""
        return getattr(self, "_code_fit", None)

    def set_code_fit(self, mean, scale_tril):
        """Keeps N(mean, L L^T) as `code_fit` (checked: shapes [d] and [d, d], finite, L lower triangular
        with a positive diagonal)."""
        d = self.latent_dim
        mean, tril = np.asarray(mean, np.float32), np.asarray(scale_tril, np.float32)
        if mean.shape != (d,) or tril.shape != (d, d):
            raise ValueError(f"code fit: mean must have shape [{d}] and scale_tril [{d}, {d}], got "
                             f"{list(mean.shape)} and {list(tril.shape)}")
        if not (np.isfinite(mean).all() and np.isfinite(tril).all()):
            raise ValueError("code fit: mean and scale_tril must be finite")
        if np.any(np.triu(tril, 1)) or np.any(np.diag(tril) <= 0):
            raise ValueError("code fit: scale_tril must be a Cholesky factor (lower triangular, positive diagonal)")
        object.__setattr__(self, "_code_fit", (mean, tril))  # plain attribute: not a Keras weight

    def fit_gaussian_to_codes(self, codes):
        """Fits a full-covariance Gaussian to `codes` [N, d] (`gaussian_fit`: mean and the Cholesky factor
        of the covariance + 1e-6 I) and keeps it as `code_fit`; returns N. E.g.
        `m.fit_gaussian_to_codes(arithmetic.codes(m, training_sentences))`."""
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != self.latent_dim or codes.shape[0] < 2:
            raise ValueError(f"codes must be [N, {self.latent_dim}] with N >= 2, got shape {list(codes.shape)}")
        self.set_code_fit(*gaussian_fit(codes))
        return codes.shape[0]

    def gaussian_fit_codes(self, n, seed=0):
        """`n` codes from `code_fit` (`gaussian_codes`: for the same fit, the codes of
        `evaluation.samples.gaussian_code_sampler`)."""
        if self.code_fit is None:
            raise ValueError(NO_CODE_FIT)
        return gaussian_codes(*self.code_fit, n, seed)

    def response_codes(self, source_tokens, sample=False, seed=0):
        """Codes of encoder inputs for generation (encoder-decoder data: replies to contexts).
        Deterministic encoders ignore `sample`; Gaussian ones draw from q(z|source) with it."""
        return self.encode_ids(source_tokens)

    def respond_ids(self, source_tokens, sample=False, seed=0, **decode_kwargs):
        """Token ids [B, max_len] generated from the codes of `source_tokens` (see `respond`)."""
        return self.decode_ids(self.response_codes(source_tokens, sample=sample, seed=seed), seed=seed, **decode_kwargs)

    def generate_ids(self, n, seed=0, prior="model", **decode_kwargs):
        """Decodes `n` codes drawn from the model's prior (`prior="gaussian_fit"`: from `code_fit`); token
        ids [n, max_len]. Any other `prior` is a `ValueError` naming it."""
        check_prior(prior)
        codes = self.gaussian_fit_codes(n, seed=seed) if prior == "gaussian_fit" else self.sample_codes(n, seed=seed)
        return self.decode_ids(codes, seed=seed, **decode_kwargs)

    def _compiled(self, key, fn, signature):
        fns = self._decode_fns.functions
        if key not in fns:
            fns[key] = tf.function(fn, input_signature=signature)
        return fns[key]
