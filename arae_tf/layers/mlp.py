"""MLPs of the GAN prior: generator, critic, latent classifier (SPEC 2.2, 2.3).

Dense kernels are N(0, 0.02) as in the reference code; BatchNorm gammas keep the Keras
default (ones). The reference code also draws gammas from N(0, 0.02), which shrinks the
generator output: on the built-in corpus its mean norm was 0.61 after 1,500 iterations
against ~1.0 (the sphere) after 500 with gammas at one.

The MLPs are small and their losses (WGAN-GP's gradient penalty above all) are sensitive, so they
compute in float32 under any mixed-precision policy (`dtype="float32"` on every layer). BatchNorm is
synchronized: under a `tf.distribute` strategy its statistics are the global batch's, as on one device.
"""

import keras

F32 = "float32"


@keras.saving.register_keras_serializable(package="arae_tf")
class WeightClip(keras.constraints.Constraint):
    """Clips every weight to [-clip_value, clip_value] (WGAN's Lipschitz constraint)."""

    def __init__(self, clip_value=0.01):
        self.clip_value = clip_value

    def __call__(self, w):
        return keras.ops.clip(w, -self.clip_value, self.clip_value)

    def get_config(self):
        return {"clip_value": self.clip_value}


def _normal():
    return keras.initializers.RandomNormal(0.0, 0.02)


def generator_mlp(noise_dim, hidden, out_dim, tanh_output=False, linear_skip=False, name="generator"):
    """s [B, noise_dim] -> (Dense -> BatchNorm -> ReLU)* -> Dense(out_dim) [-> tanh].

    With `linear_skip`, a linear layer `skip` from s to the output is added before the tanh:
    g(s) = out(MLP(s)) + skip(s). With noise_dim >= out_dim the skip path alone can be any Gaussian
    of full covariance (`prior_lib.moment_init_generator` starts it at the codes' Gaussian fit), and
    the MLP learns what that misses; without it the generator's samples lie on an at most
    noise_dim-dimensional surface.
    """
    if not linear_skip:
        layers = [keras.Input((noise_dim,))]
        for i, u in enumerate(hidden):
            layers += _generator_block(i, u)
        layers.append(keras.layers.Dense(out_dim, kernel_initializer=_normal(), name="out",
                                         activation="tanh" if tanh_output else None, dtype=F32))
        return keras.Sequential(layers, name=name)
    with keras.name_scope(name):  # variable paths "<name>/<layer>/..." as in the Sequential form
        noise = keras.Input((noise_dim,))
        h = noise
        for i, u in enumerate(hidden):
            for layer in _generator_block(i, u):
                h = layer(h)
        h = keras.layers.Dense(out_dim, kernel_initializer=_normal(), name="out", dtype=F32)(h)
        skip = keras.layers.Dense(out_dim, kernel_initializer=_normal(), name="skip", dtype=F32)(noise)
        out = keras.layers.Add(name="sum", dtype=F32)([h, skip])
        if tanh_output:
            out = keras.layers.Activation("tanh", name="tanh", dtype=F32)(out)
        return keras.Model(noise, out, name=name)


def _generator_block(i, units):
    return [keras.layers.Dense(units, kernel_initializer=_normal(), name=f"dense_{i}", dtype=F32),
            keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"bn_{i}", dtype=F32, synchronized=True),
            keras.layers.ReLU(dtype=F32)]


def critic_mlp(in_dim, hidden, batchnorm=True, clip_value=None, out_dim=1, name="critic"):
    """z [B, in_dim] -> (Dense -> [BatchNorm, not on the first layer] -> LeakyReLU 0.2)* -> Dense(out_dim).

    With `clip_value`, every kernel and bias carries a `WeightClip` constraint.
    """
    kw = dict(kernel_initializer=_normal(), dtype=F32)
    if clip_value:
        kw.update(kernel_constraint=WeightClip(clip_value), bias_constraint=WeightClip(clip_value))
    layers = [keras.Input((in_dim,))]
    for i, u in enumerate(hidden):
        layers.append(keras.layers.Dense(u, name=f"dense_{i}", **kw))
        if batchnorm and i > 0:
            layers.append(keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5,
                                                          name=f"bn_{i}", dtype=F32, synchronized=True))
        layers.append(keras.layers.LeakyReLU(negative_slope=0.2, dtype=F32))
    layers.append(keras.layers.Dense(out_dim, name="out", **kw))
    return keras.Sequential(layers, name=name)
