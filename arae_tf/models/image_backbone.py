"""The image autoencoder backbone: binarized images through MLPs (ARAE §5, SPEC 2.5).

Encoder: pixels {0,1}^n -> (Dense -> ReLU)* -> Dense(latent_dim) -> L2-normalised code (as the
text encoder's). Decoder: z -> (Dense -> ReLU)* -> Dense(n) logits; each pixel is a Bernoulli
(logistic regression on the decoder's last layer), p(x | z) = prod_j s(h_j)^x_j (1 - s(h_j))^(1 - x_j).

It has the interface the models use of a backbone (`SentenceAutoencoderBackbone`'s): `encode`,
`reconstruction` (the statistics the reconstruction step and validation read: here `nll_sum` sums
-log p over every pixel, `tokens` counts the pixels and `correct` the pixels whose most likely
value is the input's), `encoder_variables`, `latent_dim`, `normalize_code`, `num_decoders` (1) and
`stochastic` (False). So `ARAE` and `AE` train on images with their own `train_step`, unchanged:
only this network differs. Batches carry the images under `input_key` ("pixels", float32 [B, n]).
"""

import keras
import tensorflow as tf
from keras import ops

from arae_tf.models.backbone import unit_norm


@keras.saving.register_keras_serializable(package="arae_tf")
class ImageAutoencoderBackbone(keras.layers.Layer):
    """MLP encoder and per-pixel logistic MLP decoder of binarized images.

    Args:
        input_dim: pixels per image (784 for 28x28 MNIST).
        image_shape: (height, width) of the images (`decode_images` returns [N, height, width] unless
            `flat`); its product must be `input_dim`.
        encoder_hidden / decoder_hidden: hidden layer widths (ReLU).
        latent_dim: code size.
        normalize_code: L2-normalise the code (the ARAE paper's encoder).
    """

    modality = "image"
    input_key = "pixels"
    num_decoders = 1
    stochastic = False
    vocab_size = 0  # no vocabulary (checkpoint markers record it)

    def __init__(self, input_dim=784, image_shape=(28, 28), encoder_hidden=(800, 400), decoder_hidden=(400, 800),
                 latent_dim=64, normalize_code=True, **kwargs):
        super().__init__(**kwargs)
        image_shape = tuple(int(s) for s in image_shape)
        if len(image_shape) != 2 or image_shape[0] * image_shape[1] != input_dim:
            raise ValueError(f"image_shape {image_shape} must be (height, width) with height * width = input_dim "
                             f"({input_dim})")
        # === Config ===
        self.input_dim = int(input_dim)
        self.image_shape = image_shape
        self.encoder_hidden = tuple(int(h) for h in encoder_hidden)
        self.decoder_hidden = tuple(int(h) for h in decoder_hidden)
        self.latent_dim = int(latent_dim)
        self.normalize_code = bool(normalize_code)
        # === Layers ===
        self.encoder_layers = [keras.layers.Dense(h, activation="relu", name=f"encoder_{i}")
                               for i, h in enumerate(self.encoder_hidden)]
        self.code_projection = keras.layers.Dense(self.latent_dim, name="code_projection")
        self.decoder_layers = [keras.layers.Dense(h, activation="relu", name=f"decoder_{i}")
                               for i, h in enumerate(self.decoder_hidden)]
        self.output_projection = keras.layers.Dense(self.input_dim, name="output_projection")
        # === Build (weights exist before any call: loading, optimizer.build) ===
        width = self.input_dim
        for layer in self.encoder_layers + [self.code_projection]:
            layer.build((None, width))
            width = layer.units
        width = self.latent_dim
        for layer in self.decoder_layers + [self.output_projection]:
            layer.build((None, width))
            width = layer.units
        self.built = True

    @property
    def input_signature(self):
        """The `tf.TensorSpec` of an input batch (compiled inference functions)."""
        return tf.TensorSpec([None, self.input_dim], tf.float32)

    @property
    def encoder_variables(self):
        return [v for l in self.encoder_layers + [self.code_projection] for v in l.trainable_variables]

    def encode(self, pixels, training=False):
        """Codes z [B, latent_dim] of images [B, input_dim] (values in [0, 1])."""
        h = ops.cast(pixels, self.compute_dtype)
        for layer in self.encoder_layers:
            h = layer(h)
        z = ops.cast(self.code_projection(h), "float32")
        return unit_norm(z) if self.normalize_code else z

    def logits(self, z):
        """Per-pixel Bernoulli logits [B, input_dim] of codes z."""
        h = ops.cast(z, self.compute_dtype)
        for layer in self.decoder_layers:
            h = layer(h)
        return ops.cast(self.output_projection(h), "float32")

    def decode(self, z):
        """Pixel probabilities p(x_j = 1 | z) [B, input_dim]."""
        return ops.sigmoid(self.logits(z))

    def image_nll(self, z, pixels):
        """-log p(x | z) per image [B] (nats): the sum over pixels of the Bernoulli cross-entropy."""
        x = ops.cast(pixels, "float32")
        return ops.sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=self.logits(z)), axis=-1)

    def reconstruction(self, z, pixels, training=False):
        """Reconstruction statistics: `nll_sum` (-log p summed over every pixel of the batch), `tokens`
        (the number of pixels, so `nll_sum / tokens` is the NLL per pixel) and `correct` (pixels whose
        most likely value, p >= 0.5, is the input's)."""
        x = ops.cast(pixels, "float32")
        logits = self.logits(z)
        nll = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
        hits = ops.cast(ops.equal(ops.cast(logits >= 0.0, "float32"), ops.cast(x >= 0.5, "float32")), "float32")
        return {"nll_sum": ops.sum(nll), "tokens": ops.cast(ops.size(x), "float32"), "correct": ops.sum(hits)}

    def get_config(self):
        config = super().get_config()
        config.update(input_dim=self.input_dim, image_shape=list(self.image_shape),
                      encoder_hidden=list(self.encoder_hidden), decoder_hidden=list(self.decoder_hidden),
                      latent_dim=self.latent_dim, normalize_code=self.normalize_code)
        return config
