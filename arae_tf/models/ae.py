"""The plain (or denoising-by-code-noise) autoencoder baseline."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from arae_tf.models.base import TextAutoencoder, gaussian_fit
from arae_tf.models.decoding import as_seed


@keras.saving.register_keras_serializable(package="arae_tf")
class AE(TextAutoencoder):
    """Autoencoder trained on L_rec only (SPEC 2.4 "DAE/AE"), of sentences or images (its backbone).

    Sampling: with `prior="fitted"` (ARAE paper, footnote 8) a full-covariance Gaussian fitted
    to training codes with `fit_code_distribution` (before fitting, N(0, I)); with
    `prior="normal"` always N(0, I) (the WAE papers' DAE).
    """

    def __init__(self, backbone, prior="fitted", **kwargs):
        super().__init__(backbone, **kwargs)
        if prior not in ("fitted", "normal"):
            raise ValueError(f"prior must be 'fitted' or 'normal', got {prior!r}")
        self.prior = prior
        d = self.latent_dim
        self.code_mean = self.add_weight(name="code_mean", shape=(d,), initializer="zeros", trainable=False)
        self.code_scale_tril = self.add_weight(name="code_scale_tril", shape=(d, d), initializer="identity",
                                               trainable=False)
        self.built = True

    @property
    def fits_codes(self):
        return self.prior == "fitted"

    def train_step(self, data):
        self.reconstruction_step(self.inputs_of(data), self.optimizer, self.backbone.trainable_variables,
                                 source=data.get("source"))
        self.train_iterations.assign_add(1)
        return {m.name: m.result() for m in self.metrics}

    def fit_code_distribution(self, dataset, max_batches=None):
        """Fits mean and covariance of the codes of `dataset` (batches of the backbone's inputs); returns #codes.
        With `prior="normal"` there is nothing to fit: no codes are computed and 0 is returned."""
        if self.prior == "normal":
            return 0
        codes = []
        for i, batch in enumerate(dataset):
            if max_batches is not None and i >= max_batches:
                break
            codes.append(self.encode_inputs(self.inputs_of(batch)).numpy())
        codes = np.concatenate(codes)
        mean, tril = gaussian_fit(codes)
        self.code_mean.assign(mean.astype(np.float32))
        self.code_scale_tril.assign(tril.astype(np.float32))
        return len(codes)

    def get_config(self):
        config = super().get_config()
        config.update(prior=self.prior)
        return config

    def sample_codes(self, n, seed=0):
        eps = tf.random.stateless_normal([n, self.latent_dim], as_seed(seed))
        if self.prior == "normal":
            return eps
        return self.code_mean[None] + ops.matmul(eps, ops.transpose(self.code_scale_tril))
