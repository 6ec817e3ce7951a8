"""An LSTM whose input projection is done for all time steps at once.

`keras.layers.LSTM` multiplies the input by the kernel inside every step. Here
`project` computes x·W + b for the whole sequence in one matmul (and a
per-sequence constant input, such as the decoder's code z, once per sentence),
so the time loop only does the recurrent h·U. `step` exposes one cell update
for step-by-step decoding. Gate order i, f, g, o as in Keras. Under a mixed-precision
policy the weights are cast to the inputs' dtype (bfloat16/float16) and stay float32 variables.
"""

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="arae_tf")
class LSTM(keras.layers.Layer):
    """Single-layer LSTM.

    Args:
        units: hidden size.
        input_dim: size of the step input (the sum of all parts passed to `project`).
        init_range: if set, every weight is drawn from U(-init_range, init_range)
            (the reference ARAE code); otherwise Glorot/orthogonal with forget bias 1.
    """

    def __init__(self, units, input_dim, init_range=None, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = units
        self.input_dim = input_dim
        self.init_range = init_range
        # === Weights ===
        if init_range:
            uni = keras.initializers.RandomUniform(-init_range, init_range)
            k_init, r_init, b_init = uni, uni, uni
        else:
            k_init, r_init = "glorot_uniform", "orthogonal"
            b_init = keras.initializers.Constant([0.0] * units + [1.0] * units + [0.0] * (2 * units))
        self.kernel = self.add_weight(name="kernel", shape=(input_dim, 4 * units), initializer=k_init)
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(units, 4 * units),
                                                initializer=r_init)
        self.bias = self.add_weight(name="bias", shape=(4 * units,), initializer=b_init)
        self.built = True

    def project(self, x, const=None):
        """Input projection x·W[:dx] + b (+ const·W[dx:], broadcast over time).

        Args:
            x: [B, T, dx] or [B, dx].
            const: optional [B, dc] with dx + dc == input_dim, appended to every step's input.
        """
        dx = x.shape[-1]
        kernel = ops.cast(self.kernel, x.dtype)  # mixed precision: compute in the input's dtype
        out = ops.matmul(x, kernel[:dx]) + ops.cast(self.bias, x.dtype)
        if const is not None:
            c = ops.matmul(ops.cast(const, x.dtype), kernel[dx:])
            out = out + (c[:, None, :] if len(x.shape) == 3 else c)
        return out

    def step(self, xw, h, c):
        """One cell update from a projected input xw [B, 4u]. Returns (h, c)."""
        gates = xw + ops.matmul(h, ops.cast(self.recurrent_kernel, xw.dtype))
        i, f, g, o = ops.split(gates, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        return h, c

    def zero_state(self, batch_size, dtype="float32"):
        z = ops.zeros((batch_size, self.units), dtype=dtype)
        return z, z

    def scan(self, xw, mask=None, initial_state=None):
        """Runs the recurrence over projected inputs xw [B, T, 4u].

        Where `mask` [B, T] is False the state is carried unchanged, so the final
        state is the state after the last real token (right padding).
        Returns (outputs [B, T, u], (h, c)).
        """
        batch = tf.shape(xw)[0]
        h0, c0 = initial_state if initial_state is not None else self.zero_state(batch, xw.dtype)
        xs = tf.transpose(xw, [1, 0, 2])
        if mask is None:
            def fn(carry, x_t):
                return self.step(x_t, carry[0], carry[1])
            hs, cs = tf.scan(fn, xs, initializer=(h0, c0))
        else:
            ms = tf.transpose(tf.cast(mask, tf.bool), [1, 0])[:, :, None]

            def fn(carry, elems):
                x_t, m_t = elems
                h, c = self.step(x_t, carry[0], carry[1])
                return tf.where(m_t, h, carry[0]), tf.where(m_t, c, carry[1])
            hs, cs = tf.scan(fn, (xs, ms), initializer=(h0, c0))
        return tf.transpose(hs, [1, 0, 2]), (hs[-1], cs[-1])

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, input_dim=self.input_dim, init_range=self.init_range)
        return config
