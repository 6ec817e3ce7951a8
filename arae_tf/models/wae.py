"""The Wasserstein autoencoder family for sentences and the VAE (Bahuleyan et al. 2018, 2019; SPEC 2.4).

Both models are the shared backbone plus a regulariser towards the prior N(0, I):

* `WAE`: L_rec + lambda_WAE * MMD(z, z~), z~ ~ N(0, I). Deterministic (WAE-D) with a plain
  encoder; stochastic (WAE-S) with a Gaussian encoder, z = mu + sigma * eps, plus
  lambda_KL * KL(N(mu, sigma^2) || N(mu, I)) so that sigma does not collapse to 0.
* `VAE`: L_rec + lambda_t * KL(N(mu, sigma^2) || N(0, I)); lambda_t follows a sigmoid schedule
  that stops (is frozen) when lambda_t * KL stops rising, or is constant; word dropout replaces
  decoder inputs by `<unk>` at a rate rising `word_dropout_step` every `word_dropout_every`
  iterations (one epoch) up to `word_dropout`.

The DAE of the papers is `arae_tf.models.AE` with `prior="normal"`.

Losses are per sentence (the NLL summed over a sentence's tokens, averaged over the global
batch) so that the papers' lambda values keep their meaning. Under a strategy the KL terms are
averaged over each replica's codes and divided by the number of replicas; the MMD is taken over
every replica's codes (`gather_replicas`), as on one device. Every model also reads an optional
`data["source"]` batch: the encoder then reads `source` and the decoder generates `tokens`
(the dialog encoder-decoders WED/VED/DED, context -> reply).
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from arae_tf.data.vocab import BOS_ID, PAD_ID, UNK_ID
from arae_tf.models import regularizers
from arae_tf.distribute import apply_gradients, gather_replicas, global_sum, num_replicas
from arae_tf.models.base import TextAutoencoder
from arae_tf.models.decoding import as_seed


class GaussianPriorAutoencoder(TextAutoencoder):
    """Base of `WAE` and `VAE`: prior N(0, I), per-sentence loss, word dropout, optional source batch.

    Args:
        backbone: a `SentenceAutoencoderBackbone` with `normalize_code=False` (the prior is N(0, I));
            `stochastic=True` for a Gaussian encoder.
        word_dropout: the (final) rate at which decoder inputs are replaced by `<unk>` in training.
        word_dropout_step / word_dropout_every: with `word_dropout_every` > 0 the rate is
            min(word_dropout, word_dropout_step * (iteration // word_dropout_every)).
    """

    def __init__(self, backbone, word_dropout=0.0, word_dropout_step=0.0, word_dropout_every=0, **kwargs):
        super().__init__(backbone, **kwargs)
        if self.backbone.normalize_code:
            raise ValueError(f"{type(self).__name__} regularises codes towards N(0, I): build its backbone with "
                             "normalize_code=False (config field backbone.normalize_code)")
        if not 0.0 <= word_dropout < 1.0:
            raise ValueError(f"word_dropout must be in [0, 1), got {word_dropout}")
        self.word_dropout = word_dropout
        self.word_dropout_step = word_dropout_step
        self.word_dropout_every = word_dropout_every
        self.reg_loss_tracker = keras.metrics.Mean(name="reg_loss")
        self.built = True

    @property
    def metrics(self):
        return self.reconstruction_metrics + [self.reg_loss_tracker] + self.regularizer_metrics

    @property
    def regularizer_metrics(self):
        return []

    def get_config(self):
        config = super().get_config()
        config.update(word_dropout=self.word_dropout, word_dropout_step=self.word_dropout_step,
                      word_dropout_every=self.word_dropout_every)
        return config

    # -- pieces ---------------------------------------------------------------
    def current_word_dropout(self):
        if not self.word_dropout_every:
            return ops.convert_to_tensor(float(self.word_dropout))
        epochs = ops.cast(self.train_iterations // self.word_dropout_every, "float32")
        return ops.minimum(float(self.word_dropout), self.word_dropout_step * epochs)

    def decoder_inputs(self, tokens):
        """Teacher-forced decoder inputs with word dropout: real words (not `<bos>`/`<pad>`) -> `<unk>`."""
        inputs = tokens[:, :-1]
        if not self.word_dropout:
            return inputs
        drop = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator) < self.current_word_dropout()
        word = ops.not_equal(inputs, PAD_ID) & ops.not_equal(inputs, BOS_ID)
        return ops.where(drop & word, ops.cast(UNK_ID, inputs.dtype), inputs)

    def posterior_sample(self, mu, log_var):
        if log_var is None:
            return mu
        return mu + ops.exp(0.5 * log_var) * keras.random.normal(ops.shape(mu), seed=self.seed_generator)

    def regularizer(self, z, mu, log_var):
        """The mean regulariser over this replica's batch (scalar); subclasses also update their trackers."""
        raise NotImplementedError

    # -- Keras ---------------------------------------------------------------
    def train_step(self, data):
        tokens = data["tokens"]
        source = data.get("source", tokens)
        variables = self.backbone.trainable_variables
        with tf.GradientTape() as tape:
            mu, log_var = self.backbone.encode_distribution(source, training=True)
            z = self.posterior_sample(mu, log_var)
            stats = self.backbone.reconstruction(z, tokens, inputs=self.decoder_inputs(tokens), training=True)
            sentences = tf.stop_gradient(global_sum(ops.cast(ops.shape(tokens)[0], "float32")))
            reg = self.regularizer(z, mu, log_var)
            loss = stats["nll_sum"] / sentences + reg / num_replicas()
        grads = tape.gradient(loss, variables)
        apply_gradients(self.optimizer, grads, variables)
        self.track_reconstruction(stats, mu)
        self.reg_loss_tracker.update_state(reg)
        self.train_iterations.assign_add(1)
        return {m.name: m.result() for m in self.metrics}

    # -- inference -------------------------------------------------------------
    def sample_codes(self, n, seed=0):
        """Codes from the prior N(0, I)."""
        return tf.random.stateless_normal([n, self.latent_dim], as_seed(seed))

    def response_codes(self, source_tokens, sample=False, seed=0):
        """The posterior mean, or with `sample` a draw mu + sigma * eps (Gaussian encoders)."""
        if not (sample and self.backbone.stochastic):
            return self.encode_ids(source_tokens)
        mu, log_var = self.encode_distribution(source_tokens)
        eps = tf.random.stateless_normal(mu.shape, as_seed(seed)).numpy()
        return tf.constant(mu + np.exp(0.5 * log_var) * eps)

    def encode_distribution(self, tokens):
        """(mu, log sigma^2) as numpy arrays for a token batch; log sigma^2 is None for a deterministic encoder."""
        if not self.backbone.stochastic:
            return self.encode_ids(tokens).numpy(), None
        fn = self._compiled("encode_distribution", lambda t: self.backbone.encode_distribution(t),
                            [tf.TensorSpec([None, None], tf.int32)])
        mu, log_var = fn(tf.cast(tokens, tf.int32))
        return mu.numpy(), log_var.numpy()


@keras.saving.register_keras_serializable(package="arae_tf")
class WAE(GaussianPriorAutoencoder):
    """Wasserstein autoencoder with the MMD penalty: WAE-D (deterministic encoder) or WAE-S (Gaussian).

    Args:
        mmd_weight: lambda_WAE (the papers use 3 or 10).
        kl_weight: lambda_KL of the auxiliary KL(N(mu, sigma^2) || N(mu, I)) (WAE-S only: 0, 0.01, 0.1).
        kernel: "imq" (the papers) or "rbf", summed over the scales of `regularizers.KERNEL_SCALES`.
        prior_var: sigma_prior^2 of the kernel scale C = 2 d sigma_prior^2.
    """

    def __init__(self, backbone, mmd_weight=3.0, kl_weight=0.0, kernel="imq", prior_var=1.0, **kwargs):
        super().__init__(backbone, **kwargs)
        if kernel not in regularizers.KERNELS:
            raise ValueError(f"kernel must be one of {regularizers.KERNELS}, got {kernel!r}")
        if kl_weight and not self.backbone.stochastic:
            raise ValueError("kl_weight > 0 needs a Gaussian encoder (WAE-S): build the backbone with stochastic=True")
        self.mmd_weight = mmd_weight
        self.kl_weight = kl_weight
        self.kernel = kernel
        self.prior_var = prior_var
        self.mmd_tracker = keras.metrics.Mean(name="mmd")
        self.aux_kl_tracker = keras.metrics.Mean(name="aux_kl")

    @property
    def regularizer_metrics(self):
        return [self.mmd_tracker] + ([self.aux_kl_tracker] if self.backbone.stochastic else [])

    def regularizer(self, z, mu, log_var):
        prior = keras.random.normal(ops.shape(z), stddev=self.prior_var ** 0.5, seed=self.seed_generator)
        # MMD is not a mean over sentences: under a strategy it is taken over the global batch of codes.
        mmd = regularizers.mmd(gather_replicas(z), gather_replicas(prior), self.kernel, self.prior_var)
        self.mmd_tracker.update_state(mmd)
        reg = self.mmd_weight * mmd
        if log_var is not None:
            aux = ops.mean(regularizers.auxiliary_kl(log_var))
            self.aux_kl_tracker.update_state(aux)
            reg = reg + self.kl_weight * aux
        return reg

    def get_config(self):
        config = super().get_config()
        config.update(mmd_weight=self.mmd_weight, kl_weight=self.kl_weight, kernel=self.kernel,
                      prior_var=self.prior_var)
        return config


ANNEALING = ("sigmoid", "constant")


@keras.saving.register_keras_serializable(package="arae_tf")
class VAE(GaussianPriorAutoencoder):
    """Variational autoencoder (Bowman et al. 2016 as in the WAE papers) with KL annealing and word dropout.

    Args:
        kl_weight: the KL weight (its final value under annealing).
        annealing: "sigmoid": lambda_t = kl_weight / (1 + exp(-anneal_rate (t - anneal_midpoint)))
            until lambda_t * KL stops rising, then frozen; "constant": lambda_t = kl_weight.
        anneal_check_every: the peak test compares the mean of lambda_t * KL over consecutive windows
            of this many iterations; the weight freezes at the first window whose mean is lower than the
            previous one's (never in the first two windows).
    """

    def __init__(self, backbone, kl_weight=1.0, annealing="sigmoid", anneal_rate=0.0025, anneal_midpoint=2500,
                 anneal_check_every=500, **kwargs):
        super().__init__(backbone, **kwargs)
        if not self.backbone.stochastic:
            raise ValueError("a VAE needs a Gaussian encoder: build the backbone with stochastic=True")
        if annealing not in ANNEALING:
            raise ValueError(f"annealing must be one of {ANNEALING}, got {annealing!r}")
        self.kl_weight = kl_weight
        self.annealing = annealing
        self.anneal_rate = anneal_rate
        self.anneal_midpoint = anneal_midpoint
        self.anneal_check_every = anneal_check_every
        scalar = lambda name, init: self.add_weight(name=name, shape=(), initializer=init, trainable=False,
                                                    aggregation="only_first_replica")
        self.frozen_kl_weight = scalar("frozen_kl_weight", keras.initializers.Constant(-1.0))  # < 0: not frozen
        self.window_sum = scalar("window_sum", "zeros")
        self.window_count = scalar("window_count", "zeros")
        self.previous_window_mean = scalar("previous_window_mean", keras.initializers.Constant(-1.0))
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.kl_weight_tracker = keras.metrics.Mean(name="kl_weight")
        self.word_dropout_tracker = keras.metrics.Mean(name="word_dropout")

    @property
    def regularizer_metrics(self):
        return [self.kl_tracker, self.kl_weight_tracker, self.word_dropout_tracker]

    def current_kl_weight(self):
        if self.annealing == "constant":
            return ops.convert_to_tensor(float(self.kl_weight))
        scheduled = regularizers.sigmoid_weight(self.train_iterations, self.kl_weight, self.anneal_rate,
                                                self.anneal_midpoint)
        return ops.where(self.frozen_kl_weight >= 0.0, self.frozen_kl_weight, scheduled)

    def regularizer(self, z, mu, log_var):
        kl = ops.mean(regularizers.gaussian_kl(mu, log_var))
        weight = self.current_kl_weight()
        if self.annealing == "sigmoid":  # the same global value on every replica
            self._track_peak(tf.stop_gradient(global_sum(weight * kl)) / num_replicas(), weight)
        self.kl_tracker.update_state(kl)
        self.kl_weight_tracker.update_state(weight)
        self.word_dropout_tracker.update_state(self.current_word_dropout())
        return weight * kl

    def _track_peak(self, weighted_kl, weight):
        total, count = self.window_sum + weighted_kl, self.window_count + 1.0
        it = self.train_iterations + 1  # this iteration, counted from 1
        at_check = ops.equal(it % self.anneal_check_every, 0)
        mean = total / count
        freeze = (at_check & (self.frozen_kl_weight < 0.0) & (self.previous_window_mean >= 0.0)
                  & (mean < self.previous_window_mean) & (it > 2 * self.anneal_check_every))
        self.frozen_kl_weight.assign(ops.where(freeze, weight, self.frozen_kl_weight))
        self.previous_window_mean.assign(ops.where(at_check, mean, self.previous_window_mean))
        self.window_sum.assign(ops.where(at_check, 0.0, total))
        self.window_count.assign(ops.where(at_check, 0.0, count))

    def get_config(self):
        config = super().get_config()
        config.update(kl_weight=self.kl_weight, annealing=self.annealing, anneal_rate=self.anneal_rate,
                      anneal_midpoint=self.anneal_midpoint, anneal_check_every=self.anneal_check_every)
        return config
