"""The image API of models with an `ImageAutoencoderBackbone` (ARAE §5): images in, images out.

`ImageAPI` is a mixin of `TextAutoencoder`, beside `TextAPI`: on an image model

    z = m.encode_images(x)                 # x: [N, 784] (or [N, 28, 28]) in [0, 1]; codes [N, d]
    p = m.decode_images(z)                 # pixel probabilities [N, 28, 28]
    m.reconstruct_images(x); m.sample_images(16, seed=0); m.interpolate_images(a, b, steps=8)
    m.image_nll(x)                         # -log p(x | enc(x)) per image, nats

Every argument is checked before any work (`TypeError`/`ValueError` naming it); a call takes at
most `MAX_ROWS` images. On a text model these methods raise `TypeError`, as the text methods do on
an image model.
"""

import numpy as np
import tensorflow as tf

from arae_tf.models.decoding import interpolation_path
from arae_tf.models.text_api import MAX_ROWS, check_count


class ImageAPI:
    """Images in, images out (see the module docstring)."""

    def _image_backbone(self, method):
        if getattr(self.backbone, "modality", "text") != "image":
            raise TypeError(f"{method}() is for image models; this model autoencodes sentences: use encode, "
                            "decode, reconstruct, sample and interpolate")
        return self.backbone

    def _image_batch(self, images, name="images", method="encode_images"):
        """`images` ([N, n] or [N, height, width], values in [0, 1]) as float32 [N, n]."""
        b = self._image_backbone(method)
        try:
            x = np.asarray(images, np.float32)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be an array of images, got {type(images).__name__}") from None
        h, w = b.image_shape
        if x.ndim == 3 and x.shape[1:] == (h, w):
            x = x.reshape(len(x), h * w)
        if x.ndim != 2 or x.shape[1] != b.input_dim:
            raise ValueError(f"{name} must have shape [N, {b.input_dim}] or [N, {h}, {w}], got {list(x.shape)}")
        if len(x) > MAX_ROWS:
            raise ValueError(f"{name}: at most {MAX_ROWS} images per call, got {len(x)}")
        if not np.all(np.isfinite(x)) or (x.size and (x.min() < 0 or x.max() > 1)):
            raise ValueError(f"{name}: pixel values must be finite and in [0, 1] (binarized: 0 or 1)")
        return x

    def _as_images(self, p, flat):
        p = np.asarray(p)
        return p if flat else p.reshape((len(p),) + tuple(self.backbone.image_shape))

    def encode_images(self, images):
        """Codes [N, latent_dim] (numpy) of images [N, n] or [N, height, width] in [0, 1]."""
        x = self._image_batch(images)
        if not len(x):
            return np.zeros((0, self.latent_dim), np.float32)
        return self.encode_inputs(x).numpy()

    def decode_images(self, z, flat=False):
        """Pixel probabilities p(x_j = 1 | z) of codes z [N, latent_dim]: [N, height, width] (`flat`: [N, n])."""
        b = self._image_backbone("decode_images")
        z = self._code_batch(z)
        if not z.shape[0]:
            return self._as_images(np.zeros((0, b.input_dim), np.float32), flat)
        fn = self._compiled("decode_images", lambda z: b.decode(z),
                            [tf.TensorSpec([None, self.latent_dim], tf.float32)])
        return self._as_images(fn(z).numpy(), flat)

    def reconstruct_images(self, images, flat=False):
        """Each image encoded and decoded again (pixel probabilities)."""
        return self.decode_images(self.encode_images(images), flat=flat)

    def sample_images(self, n, seed=0, flat=False):
        """`n` images (pixel probabilities) decoded from codes drawn from the model's prior; the same
        `seed` (an int in [0, 2**63)), the same images."""
        self._image_backbone("sample_images")
        check_count(n, "n")
        return self.decode_images(self.sample_codes(n, seed=seed), flat=flat)

    def interpolate_images(self, a, b, steps=8, flat=False):
        """Images decoded along the line from the code of image `a` to that of `b` (`steps` points, both
        ends included), re-normalised to the unit sphere when the model normalises codes."""
        check_count(steps, "steps")
        z = self.encode_images(np.stack([self._image_batch([a], "a", "interpolate_images")[0],
                                         self._image_batch([b], "b", "interpolate_images")[0]]))
        return self.decode_images(interpolation_path(z[0], z[1], steps, self.backbone.normalize_code), flat=flat)

    def image_nll(self, images):
        """-log p(x | enc(x)) of each image [N] (nats; divide by the pixel count for the NLL per pixel)."""
        bb = self._image_backbone("image_nll")
        x = self._image_batch(images, method="image_nll")
        if not len(x):
            return np.zeros((0,), np.float32)
        fn = self._compiled("image_nll", lambda x: bb.image_nll(bb.encode(x), x),
                            [tf.TensorSpec([None, bb.input_dim], tf.float32)])
        return fn(x).numpy()
