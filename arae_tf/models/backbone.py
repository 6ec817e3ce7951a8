"""The sentence autoencoder backbone shared by every text model (SPEC 2.1).

Encoder: embedding -> LSTM; the code is the state after the last *real* token
(padding is carried through unchanged, so it cannot change the code), optionally
through a dense layer, optionally L2-normalised onto the unit sphere. With
`bidirectional` a second LSTM reads the real tokens backwards and the two final
states are concatenated before the dense layer (the WAE reference code).

Decoder: embedding -> LSTM whose input at every step is [word embedding ; z]
(the z part of the input projection is computed once per sentence); optional
initial state from z (`hidden_init`); a softmax over the vocabulary. With
`num_decoders` > 1 there is one decoder (embedding + LSTM) per attribute class
and a shared output layer (ARAE transfer, SPEC 2.3).

Token batches are `<bos> w1 .. wn <eos> <pad>..` ([B, T] int32): the encoder reads
`tokens[:, 1:]`, the decoder reads `tokens[:, :-1]` and predicts `tokens[:, 1:]`.
The reconstruction loss gathers the decoder states of real target tokens
*before* the vocabulary projection, so no vocabulary-sized work is spent on padding.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from arae_tf.data.vocab import BOS_ID, PAD_ID
from arae_tf.layers.lstm import LSTM
from arae_tf.models import decoding
from arae_tf.models.decoding import NEG_INF



@keras.saving.register_keras_serializable(package="arae_tf")
class SentenceAutoencoderBackbone(keras.layers.Layer):
    """Encoder/decoder networks and the decoding algorithms.

    Args:
        vocab_size: number of tokens, specials included.
        embed_dim: word embedding size.
        hidden_dim: LSTM size (the encoder's, per direction; the decoder's unless `decoder_hidden_dim`).
        decoder_hidden_dim: the decoder LSTMs' size; 0 (default): `hidden_dim`. The stochastic-WAE
            reference code decodes with 2 x hidden_dim units beside a bidirectional encoder.
        bidirectional: the encoder also reads each sentence backwards with a second LSTM; the code
            comes from both final states [B, 2 * hidden_dim] through the dense code layer.
        latent_dim: code size; if it differs from `hidden_dim` (or `code_dense`),
            a dense layer maps the final encoder state to the code.
        normalize_code: L2-normalise the code (ARAE/AE/AAE).
        hidden_init: initialise the decoder state from z.
        num_decoders: decoders (one per attribute class for transfer).
        init_range: U(-r, r) init of embeddings/LSTMs/output (the reference code uses 0.1); None: Keras defaults.
        stochastic: Gaussian encoder (VAE, WAE-S): the code layer gives the mean mu and a second
            dense layer log sigma^2; `encode` returns mu, `encode_distribution` both.
        reverse_input: the encoder reads each sentence's real tokens in reverse order (Sutskever et al.
            2014): the first words, which the decoder needs first, are read last. The code still
            covers every word; only the order changes.
        sampled_softmax: if > 0, training reconstruction losses (`reconstruction(..., training=True)`)
            use a sampled softmax over the target word and this many words drawn from a log-uniform
            (Zipf) distribution over the frequency-sorted vocabulary (Jean et al. 2015; drawn with
            replacement by a stateless sampler whose seed state is the backbone's `sampler_seed`, so a
            resumed run draws what an uninterrupted one would; log-Q corrected, accidental hits removed).
            It replaces the [tokens, vocab] projection, about half of every training step, with a
            [tokens, sampled] one. Evaluation, validation, `sentence_nll` and decoding always use the
            exact softmax. 0 (default): the exact softmax everywhere, as the papers.
        dropout: rate of (non-recurrent) dropout on the encoder's and decoders' word embeddings and on
            the decoder states before the output layer, in training only (`training=True`: the models'
            train steps); its own seeded stream (`dropout_seed`), so a resumed run drops what an
            uninterrupted one would. 0 (default): none, as the papers (the stochastic-WAE reference
            code drops its inputs at 0.2).
    """

    modality = "text"
    input_key = "tokens"  # the batch entry the models read (`TextAutoencoder.inputs_of`)

    def __init__(self, vocab_size, embed_dim=128, hidden_dim=128, latent_dim=128, normalize_code=True,
                 code_dense=False, hidden_init=False, num_decoders=1, init_range=None, reverse_input=False,
                 stochastic=False, sampled_softmax=0, decoder_hidden_dim=0, bidirectional=False, dropout=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocab_size = vocab_size
        self.embed_dim = embed_dim
        self.hidden_dim = hidden_dim
        self.latent_dim = latent_dim
        self.normalize_code = normalize_code
        self.stochastic = stochastic
        self.bidirectional = bool(bidirectional)
        if decoder_hidden_dim < 0:
            raise ValueError(f"decoder_hidden_dim must be >= 0 (0: hidden_dim), got {decoder_hidden_dim}")
        self._decoder_hidden_arg = int(decoder_hidden_dim)
        self.decoder_hidden_dim = int(decoder_hidden_dim) or hidden_dim
        self.encoder_output_dim = hidden_dim * (2 if self.bidirectional else 1)
        self.code_dense = code_dense or latent_dim != hidden_dim or stochastic or self.bidirectional
        self._code_dense_arg = code_dense
        self.hidden_init = hidden_init
        self.num_decoders = num_decoders
        self.init_range = init_range
        self.reverse_input = reverse_input
        if sampled_softmax < 0 or sampled_softmax >= vocab_size:
            raise ValueError(f"sampled_softmax must be in [0, vocab_size={vocab_size}), got {sampled_softmax}")
        self.sampled_softmax = int(sampled_softmax)
        self.sampler_seed = keras.random.SeedGenerator(0, name="sampler_seed") if self.sampled_softmax else None
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.dropout = float(dropout)
        self.dropout_seed = keras.random.SeedGenerator(1, name="dropout_seed") if self.dropout else None

        # === Layers ===
        emb_init = keras.initializers.RandomUniform(-init_range, init_range) if init_range else "uniform"
        dense_init = keras.initializers.RandomUniform(-init_range, init_range) if init_range else "glorot_uniform"
        self.encoder_embedding = keras.layers.Embedding(vocab_size, embed_dim, embeddings_initializer=emb_init,
                                                        name="encoder_embedding")
        self.encoder_lstm = LSTM(hidden_dim, embed_dim, init_range=init_range, name="encoder_lstm")
        self.encoder_lstm_backward = (LSTM(hidden_dim, embed_dim, init_range=init_range, name="encoder_lstm_backward")
                                      if self.bidirectional else None)
        self.code_projection = (keras.layers.Dense(latent_dim, name="code_projection") if self.code_dense else None)
        self.log_var_projection = keras.layers.Dense(latent_dim, name="log_var_projection") if stochastic else None
        self.decoder_embeddings = [
            keras.layers.Embedding(vocab_size, embed_dim, embeddings_initializer=emb_init, name=f"decoder_embedding_{i}")
            for i in range(num_decoders)]
        self.decoder_lstms = [LSTM(self.decoder_hidden_dim, embed_dim + latent_dim, init_range=init_range,
                                   name=f"decoder_lstm_{i}") for i in range(num_decoders)]
        self.init_projections = ([keras.layers.Dense(self.decoder_hidden_dim, activation="tanh",
                                                     name=f"init_projection_{i}")
                                  for i in range(num_decoders)] if hidden_init else [])
        self.output_projection = keras.layers.Dense(vocab_size, kernel_initializer=dense_init, name="output_projection")

        # === Build (so weights exist before any call: loading, optimizer.build) ===
        self.encoder_embedding.build((None, None))
        if self.code_projection is not None:
            self.code_projection.build((None, self.encoder_output_dim))
        if self.log_var_projection is not None:
            self.log_var_projection.build((None, self.encoder_output_dim))
        for e in self.decoder_embeddings:
            e.build((None, None))
        for p in self.init_projections:
            p.build((None, latent_dim))
        self.output_projection.build((None, self.decoder_hidden_dim))
        self.built = True

    @property
    def input_signature(self):
        """The `tf.TensorSpec` of an input batch (compiled inference functions): token ids [B, T]."""
        return tf.TensorSpec([None, None], tf.int32)

    # -- weights groups -------------------------------------------------------
    @property
    def encoder_variables(self):
        layers = [self.encoder_embedding, self.encoder_lstm] + [
            l for l in (self.encoder_lstm_backward, self.code_projection, self.log_var_projection) if l is not None]
        return [v for l in layers for v in l.trainable_variables]

    @property
    def decoder_variables(self):
        """Every trainable variable outside `encoder_variables`: the decoders' embeddings and LSTMs,
        their initial-state projections and the output projection."""
        encoder = {id(v) for v in self.encoder_variables}
        return [v for v in self.trainable_variables if id(v) not in encoder]

    # -- encoder --------------------------------------------------------------
    def encode(self, tokens, training=False):
        """Codes z [B, latent_dim] of token batches [B, T] (the mean mu for a Gaussian encoder)."""
        return self.finish_code(self.encoder_state(tokens, training))

    def encode_distribution(self, tokens, training=False):
        """(mu, log sigma^2), each [B, latent_dim]; log sigma^2 is None for a deterministic encoder."""
        h = self.encoder_state(tokens, training)
        return self.finish_code(h), (ops.cast(self.log_var_projection(h), "float32") if self.stochastic else None)

    def _drop(self, x, training):
        """`dropout` of x in training; x itself otherwise."""
        if not (training and self.dropout):
            return x
        return keras.random.dropout(x, self.dropout, seed=self.dropout_seed)

    def encoder_state(self, tokens, training=False):
        """The encoder LSTM's state after each row's last real token [B, hidden_dim]; with
        `bidirectional`, [forward state ; backward state] [B, 2 * hidden_dim]."""
        x = tokens[:, 1:]
        mask = ops.not_equal(x, PAD_ID)
        lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
        if self.reverse_input:  # real tokens reversed in place, padding stays at the end
            x = tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)
        emb = self._drop(self.encoder_embedding(x), training)
        _, (h, _) = self.encoder_lstm.scan(self.encoder_lstm.project(emb), mask=mask)
        if not self.bidirectional:
            return h
        backward = self.encoder_lstm_backward
        _, (hb, _) = backward.scan(backward.project(tf.reverse_sequence(emb, lengths, seq_axis=1, batch_axis=0)),
                                   mask=mask)
        return ops.concatenate([h, hb], axis=-1)

    def finish_code(self, h):
        z = self.code_projection(h) if self.code_projection is not None else h
        z = ops.cast(z, "float32")  # codes are float32 whatever the compute dtype (regularisers, GAN)
        return unit_norm(z) if self.normalize_code else z

    # -- decoder --------------------------------------------------------------
    def _initial_state(self, z, decoder):
        if self.hidden_init:
            h = self.init_projections[decoder](z)
            return h, ops.zeros_like(h)
        return self.decoder_lstms[decoder].zero_state(tf.shape(z)[0], self.compute_dtype)

    def decoder_states(self, z, inputs, decoder=0, training=False):
        """Teacher-forced decoder states [B, T, hidden] for decoder inputs [B, T] (with `dropout` on
        the embeddings and the states in training)."""
        lstm = self.decoder_lstms[decoder]
        xw = lstm.project(self._drop(self.decoder_embeddings[decoder](inputs), training), const=z)
        hs, _ = lstm.scan(xw, initial_state=self._initial_state(z, decoder))
        return self._drop(hs, training)

    def reconstruction(self, z, tokens, decoder=0, inputs=None, training=False):
        """Token-level reconstruction statistics of `tokens` given codes `z`.

        `inputs` replaces the teacher-forced decoder inputs `tokens[:, :-1]` (word dropout).
        With `training` and `sampled_softmax` > 0 the NLL is the sampled-softmax loss and `correct`
        counts target words that beat every sampled word (a training-time figure only).
        Returns:
            dict with `nll_sum` (sum of -log p over real target tokens), `tokens`
            (their count) and `correct` (argmax hits), all scalars.
        """
        targets = tokens[:, 1:]
        inputs = tokens[:, :-1] if inputs is None else inputs
        hs = self.decoder_states(z, inputs, decoder, training=training)
        if training and self.sampled_softmax:
            nll, correct, t_real = sampled_token_nll(hs, targets, self.output_projection, self.sampled_softmax,
                                                     seed=self.sampler_seed)
            return {"nll_sum": ops.sum(nll), "tokens": ops.cast(ops.shape(t_real)[0], "float32"),
                    "correct": ops.sum(correct)}
        nll, logits, t_real = real_token_nll(hs, targets, self.output_projection)
        correct = ops.cast(ops.equal(ops.cast(ops.argmax(logits, axis=-1), t_real.dtype), t_real), "float32")
        return {"nll_sum": ops.sum(nll), "tokens": ops.cast(ops.shape(t_real)[0], "float32"),
                "correct": ops.sum(correct)}

    def sentence_nll(self, z, tokens, decoder=0):
        """Per-sentence reconstruction NLL [B]: sum of -log p over each row's real target tokens."""
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        logits = ops.cast(self.output_projection(self.decoder_states(z, inputs, decoder)), "float32")
        nll = ops.sparse_categorical_crossentropy(targets, logits, from_logits=True)
        return ops.sum(nll * ops.cast(ops.not_equal(targets, PAD_ID), nll.dtype), axis=1)

    def _z_projection(self, lstm, z):
        """z's share of every decoding step's LSTM input (with the bias), in the compute dtype."""
        dt = self.compute_dtype
        return ops.matmul(ops.cast(z, dt), ops.cast(lstm.kernel[self.embed_dim:], dt)) + ops.cast(lstm.bias, dt)

    def _decoding_projection(self):
        """(kernel, bias) of the output layer in the compute dtype, for step-by-step decoding, with
        `<pad>` and `<bos>` banned through the bias (so the ban costs nothing per step). On every
        other word the logits are exactly the output layer's."""
        dt = self.compute_dtype
        banned = ops.one_hot(PAD_ID, self.vocab_size) + ops.one_hot(BOS_ID, self.vocab_size)
        dense = self.output_projection
        return ops.cast(dense.kernel, dt), ops.cast(dense.bias + NEG_INF * banned, dt)

    def _step_logits(self, decoder, token, z_proj, h, c, projection):
        """One decoding step: float32 logits [B, V] (never `<pad>` or `<bos>`) and the new state."""
        lstm = self.decoder_lstms[decoder]
        emb = self.decoder_embeddings[decoder](token)
        xw = ops.matmul(emb, ops.cast(lstm.kernel[: self.embed_dim], emb.dtype)) + z_proj
        h, c = lstm.step(xw, h, c)
        kernel, bias = projection
        return ops.cast(ops.matmul(h, kernel) + bias, "float32"), h, c

    def decode(self, z, max_len=20, method="greedy", temperature=1.0, top_k=0, top_p=1.0, beam_size=4,
               length_penalty=0.0, seed=None, decoder=0, contrast=0.0):
        """Generates token ids [B, max_len] from codes z (graph-compatible, batched): the sampler
        `decoding.get_sampler(method, ...)` run with this backbone's decoder `decoder`.

        Args:
            method: "greedy", "sample" (with `temperature`, `top_k`, `top_p`), or "beam".
            seed: int or shape-[2] int tensor for sampling (stateless: same seed, same output).
            length_penalty: beam search scores are divided by length**length_penalty.
            contrast: beta >= 0; > 0 (two or more decoders) decodes from p_decoder / (geometric mean
                of the other decoders' p)**beta at every step (`decoding` module docstring).
        Decoding stops at `<eos>` (kept in the output) or `max_len`; after `<eos>` a row is `<pad>`.
        """
        sampler = decoding.get_sampler(method, temperature=temperature, top_k=top_k, top_p=top_p,
                                       beam_size=beam_size, length_penalty=length_penalty)
        return sampler(self, z, max_len=max_len, seed=seed, decoder=decoder, contrast=contrast)

    def decode_by_class(self, z, classes, max_len=20, **decode_kwargs):
        """`decoding.decode_by_class`: code z[i] decoded by decoder classes[i]. Options as `decode`."""
        return decoding.decode_by_class(self, z, classes, max_len=max_len, **decode_kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, embed_dim=self.embed_dim, hidden_dim=self.hidden_dim,
                      latent_dim=self.latent_dim, normalize_code=self.normalize_code,
                      code_dense=self._code_dense_arg, hidden_init=self.hidden_init,
                      num_decoders=self.num_decoders, init_range=self.init_range,
                      reverse_input=self.reverse_input, stochastic=self.stochastic,
                      sampled_softmax=self.sampled_softmax, decoder_hidden_dim=self._decoder_hidden_arg,
                      bidirectional=self.bidirectional, dropout=self.dropout)
        return config


def unit_norm(z):
    """Each row of z [B, d] scaled to unit L2 norm (the encoder's normalised codes, the sphere prior)."""
    return z / ops.sqrt(ops.sum(ops.square(z), axis=-1, keepdims=True) + 1e-12)


def real_token_nll(hs, targets, projection):
    """-log p of every real (non-pad) target token, projecting only their states to the vocabulary.

    Args: hs [B, T, H] states, targets [B, T] ids, projection the output layer.
    Returns: (nll [N], logits [N, V], target ids [N]) over the N real tokens.
    """
    mask = ops.not_equal(targets, PAD_ID)
    t_real = tf.boolean_mask(targets, mask)
    logits = ops.cast(projection(tf.boolean_mask(hs, mask)), "float32")  # the softmax in float32
    return ops.sparse_categorical_crossentropy(t_real, logits, from_logits=True), logits, t_real


def log_uniform_probability(ids, vocab_size):
    """P(id) of the log-uniform (Zipf) distribution over `vocab_size` frequency-sorted ids:
    (log(id + 2) - log(id + 1)) / log(vocab_size + 1)."""
    ids = ops.cast(ids, "float32")
    return (ops.log(ids + 2.0) - ops.log(ids + 1.0)) / np.log(vocab_size + 1.0)


def sampled_token_nll(hs, targets, projection, num_sampled, seed=None):
    """Sampled-softmax -log p of every real target token (training only; see the backbone's
    `sampled_softmax`): the target word against `num_sampled` words drawn once per batch, with
    replacement, from a log-uniform distribution over the frequency-sorted vocabulary (inverse CDF of
    a `keras.random.uniform` draw seeded by `seed`, a `SeedGenerator` or int), each logit corrected
    by the log of its expected count `num_sampled * P(word)`, sampled words equal to a row's target
    removed from that row.

    Returns: (nll [N], correct [N] float (target's raw logit above every sampled one), target ids [N]).
    """
    mask = ops.not_equal(targets, PAD_ID)
    t_real = tf.boolean_mask(targets, mask)
    h = tf.boolean_mask(hs, mask)
    vocab_size = projection.kernel.shape[-1]
    u = keras.random.uniform([num_sampled], seed=seed)
    sampled = ops.clip(ops.cast(ops.floor(ops.exp(u * np.log(vocab_size + 1.0))), "int32") - 1, 0, vocab_size - 1)
    true_expected = (num_sampled * log_uniform_probability(t_real, vocab_size))[:, None]
    sampled_expected = num_sampled * log_uniform_probability(sampled, vocab_size)
    sampled = tf.cast(sampled, t_real.dtype)
    weights = ops.cast(tf.transpose(projection.kernel), h.dtype)  # [V, H]: rows can be gathered
    bias = projection.bias
    true_logits = ops.cast(ops.sum(h * tf.gather(weights, t_real), axis=-1), "float32") + tf.gather(bias, t_real)
    sampled_logits = ops.cast(ops.matmul(h, ops.transpose(tf.gather(weights, sampled))), "float32") + tf.gather(
        bias, sampled)[None, :]
    hits = ops.equal(t_real[:, None], sampled[None, :])
    sampled_logits = tf.where(hits, NEG_INF, sampled_logits)
    correct = ops.cast(true_logits > ops.max(sampled_logits, axis=-1), "float32")
    true_logits = true_logits - ops.log(ops.cast(true_expected[:, 0], "float32"))
    sampled_logits = sampled_logits - ops.log(ops.cast(sampled_expected, "float32"))[None, :]
    logits = ops.concatenate([true_logits[:, None], sampled_logits], axis=1)
    nll = tf.reduce_logsumexp(logits, axis=-1) - true_logits
    return nll, tf.stop_gradient(correct), t_real
