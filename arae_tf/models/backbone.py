"""The sentence autoencoder backbone shared by every text model (SPEC 2.1).

Encoder: embedding -> LSTM; the code is the state after the last *real* token
(padding is carried through unchanged, so it cannot change the code), optionally
through a dense layer, optionally L2-normalised onto the unit sphere.

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

from arae_tf.data.vocab import BOS_ID, EOS_ID, PAD_ID
from arae_tf.layers.lstm import LSTM

NEG_INF = -1e9


@keras.saving.register_keras_serializable(package="arae_tf")
class SentenceAutoencoderBackbone(keras.layers.Layer):
    """Encoder/decoder networks and the decoding algorithms.

    Args:
        vocab_size: number of tokens, specials included.
        embed_dim: word embedding size.
        hidden_dim: LSTM size (encoder and decoder).
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
    """

    def __init__(self, vocab_size, embed_dim=128, hidden_dim=128, latent_dim=128, normalize_code=True,
                 code_dense=False, hidden_init=False, num_decoders=1, init_range=None, reverse_input=False,
                 stochastic=False, sampled_softmax=0, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocab_size = vocab_size
        self.embed_dim = embed_dim
        self.hidden_dim = hidden_dim
        self.latent_dim = latent_dim
        self.normalize_code = normalize_code
        self.stochastic = stochastic
        self.code_dense = code_dense or latent_dim != hidden_dim or stochastic
        self._code_dense_arg = code_dense
        self.hidden_init = hidden_init
        self.num_decoders = num_decoders
        self.init_range = init_range
        self.reverse_input = reverse_input
        if sampled_softmax < 0 or sampled_softmax >= vocab_size:
            raise ValueError(f"sampled_softmax must be in [0, vocab_size={vocab_size}), got {sampled_softmax}")
        self.sampled_softmax = int(sampled_softmax)
        self.sampler_seed = keras.random.SeedGenerator(0) if self.sampled_softmax else None

        # === Layers ===
        emb_init = keras.initializers.RandomUniform(-init_range, init_range) if init_range else "uniform"
        dense_init = keras.initializers.RandomUniform(-init_range, init_range) if init_range else "glorot_uniform"
        self.encoder_embedding = keras.layers.Embedding(vocab_size, embed_dim, embeddings_initializer=emb_init,
                                                        name="encoder_embedding")
        self.encoder_lstm = LSTM(hidden_dim, embed_dim, init_range=init_range, name="encoder_lstm")
        self.code_projection = (keras.layers.Dense(latent_dim, name="code_projection") if self.code_dense else None)
        self.log_var_projection = keras.layers.Dense(latent_dim, name="log_var_projection") if stochastic else None
        self.decoder_embeddings = [
            keras.layers.Embedding(vocab_size, embed_dim, embeddings_initializer=emb_init, name=f"decoder_embedding_{i}")
            for i in range(num_decoders)]
        self.decoder_lstms = [LSTM(hidden_dim, embed_dim + latent_dim, init_range=init_range, name=f"decoder_lstm_{i}")
                              for i in range(num_decoders)]
        self.init_projections = ([keras.layers.Dense(hidden_dim, activation="tanh", name=f"init_projection_{i}")
                                  for i in range(num_decoders)] if hidden_init else [])
        self.output_projection = keras.layers.Dense(vocab_size, kernel_initializer=dense_init, name="output_projection")

        # === Build (so weights exist before any call: loading, optimizer.build) ===
        self.encoder_embedding.build((None, None))
        if self.code_projection is not None:
            self.code_projection.build((None, hidden_dim))
        if self.log_var_projection is not None:
            self.log_var_projection.build((None, hidden_dim))
        for e in self.decoder_embeddings:
            e.build((None, None))
        for p in self.init_projections:
            p.build((None, latent_dim))
        self.output_projection.build((None, hidden_dim))
        self.built = True

    # -- weights groups -------------------------------------------------------
    @property
    def encoder_variables(self):
        layers = [self.encoder_embedding, self.encoder_lstm] + [
            l for l in (self.code_projection, self.log_var_projection) if l is not None]
        return [v for l in layers for v in l.trainable_variables]

    # -- encoder --------------------------------------------------------------
    def encode(self, tokens, training=False):
        """Codes z [B, latent_dim] of token batches [B, T] (the mean mu for a Gaussian encoder)."""
        return self.finish_code(self.encoder_state(tokens))

    def encode_distribution(self, tokens, training=False):
        """(mu, log sigma^2), each [B, latent_dim]; log sigma^2 is None for a deterministic encoder."""
        h = self.encoder_state(tokens)
        return self.finish_code(h), (ops.cast(self.log_var_projection(h), "float32") if self.stochastic else None)

    def encoder_state(self, tokens):
        """The encoder LSTM's state after each row's last real token [B, hidden_dim]."""
        x = tokens[:, 1:]
        mask = ops.not_equal(x, PAD_ID)
        if self.reverse_input:  # real tokens reversed in place, padding stays at the end
            x = tf.reverse_sequence(x, ops.sum(ops.cast(mask, "int32"), axis=1), seq_axis=1, batch_axis=0)
        xw = self.encoder_lstm.project(self.encoder_embedding(x))
        _, (h, _) = self.encoder_lstm.scan(xw, mask=mask)
        return h

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

    def decoder_states(self, z, inputs, decoder=0):
        """Teacher-forced decoder states [B, T, hidden] for decoder inputs [B, T]."""
        lstm = self.decoder_lstms[decoder]
        xw = lstm.project(self.decoder_embeddings[decoder](inputs), const=z)
        hs, _ = lstm.scan(xw, initial_state=self._initial_state(z, decoder))
        return hs

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
        hs = self.decoder_states(z, inputs, decoder)
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
               length_penalty=0.0, seed=None, decoder=0):
        """Generates token ids [B, max_len] from codes z (graph-compatible, batched).

        Args:
            method: "greedy", "sample" (with `temperature`, `top_k`, `top_p`), or "beam".
            seed: int or shape-[2] int tensor for sampling (stateless: same seed, same output).
            length_penalty: beam search scores are divided by length**length_penalty.
        Decoding stops at `<eos>` (kept in the output) or `max_len`; after `<eos>` a row is `<pad>`.
        Finished rows leave the batch, so each step costs only the rows still decoding, and the loop
        ends as soon as every row has finished. Sampling draws for the rows still decoding, in order.
        """
        if method == "beam":
            return self._beam_search(z, max_len, beam_size, length_penalty, decoder)
        if method not in ("greedy", "sample"):
            raise ValueError(f"unknown decoding method {method!r}; use 'greedy', 'sample' or 'beam'")
        z = tf.convert_to_tensor(z)
        batch = tf.shape(z)[0]
        lstm = self.decoder_lstms[decoder]
        z_proj = self._z_projection(lstm, z)
        h, c = self._initial_state(z, decoder)
        seed = as_seed(seed)
        projection = self._decoding_projection()
        rows = tf.range(batch)  # the output row of each row still decoding
        token = tf.fill([batch], BOS_ID)
        out = tf.TensorArray(tf.int32, size=max_len)

        def cond(t, rows, token, z_proj, h, c, out):
            return (t < max_len) & (tf.size(rows) > 0)

        def body(t, rows, token, z_proj, h, c, out):
            logits, h, c = self._step_logits(decoder, token, z_proj, h, c, projection)
            if method == "greedy":
                nxt = tf.cast(tf.argmax(logits, -1), tf.int32)
            else:
                nxt = sample_logits(logits, tf.random.experimental.stateless_fold_in(seed, t), temperature, top_k, top_p)
            out = out.write(t, tf.scatter_nd(rows[:, None], nxt, [batch]))  # finished rows: <pad> (0)
            going = tf.not_equal(nxt, EOS_ID)
            return (t + 1,) + tuple(tf.boolean_mask(x, going) for x in (rows, nxt, z_proj, h, c)) + (out,)

        shrinking = (rows, token, z_proj, h, c)  # their first dimension shrinks as rows finish
        invariants = tuple(tf.TensorShape([None]).concatenate(v.shape[1:]) for v in shrinking)
        t, _, _, _, _, _, out = tf.while_loop(cond, body, (tf.constant(0),) + shrinking + (out,),
                                              shape_invariants=(tf.TensorShape([]),) + invariants + (tf.TensorShape(None),))
        # No step taken (an empty batch, max_len 0): nothing was written, and stacking would fail.
        ids = tf.cond(t > 0, lambda: tf.transpose(out.stack()[:t]), lambda: tf.zeros([batch, 0], tf.int32))
        return tf.pad(ids, [[0, 0], [0, max_len - t]])

    def _beam_search(self, z, max_len, beam_size, length_penalty, decoder):
        z = tf.convert_to_tensor(z)
        batch = tf.shape(z)[0]
        K, V = beam_size, self.vocab_size
        lstm = self.decoder_lstms[decoder]
        zk = tf.repeat(z, K, axis=0)  # [B*K, d], beam-major within example
        z_proj = self._z_projection(lstm, zk)
        h, c = self._initial_state(zk, decoder)
        scores = tf.tile(tf.concat([[0.0], tf.fill([K - 1], NEG_INF)], 0)[None], [batch, 1])  # only beam 0 alive
        token = tf.fill([batch * K], BOS_ID)
        done = tf.zeros([batch, K], tf.bool)
        lengths = tf.zeros([batch, K], tf.float32)
        seqs = tf.zeros([batch, K, 0], tf.int32)
        pad_only = tf.one_hot(PAD_ID, V, on_value=0.0, off_value=NEG_INF)
        projection = self._decoding_projection()

        def cond(t, token, h, c, scores, done, lengths, seqs):
            return (t < max_len) & ~tf.reduce_all(done)

        def body(t, token, h, c, scores, done, lengths, seqs):
            logits, h, c = self._step_logits(decoder, token, z_proj, h, c, projection)
            logp = tf.reshape(tf.nn.log_softmax(logits), [batch, K, V])
            logp = tf.where(done[:, :, None], pad_only[None, None], logp)  # finished beams only extend with pad
            total = tf.reshape(scores[:, :, None] + logp, [batch, K * V])
            scores, idx = tf.math.top_k(total, k=K)
            beam, tok = idx // V, tf.cast(idx % V, tf.int32)
            flat = tf.reshape(beam + tf.range(batch)[:, None] * K, [-1])
            h, c = tf.gather(h, flat), tf.gather(c, flat)
            prev_done = tf.gather(done, beam, batch_dims=1)
            lengths = tf.gather(lengths, beam, batch_dims=1) + tf.cast(~prev_done, tf.float32)
            seqs = tf.concat([tf.gather(seqs, beam, batch_dims=1), tok[:, :, None]], axis=2)
            done = prev_done | tf.equal(tok, EOS_ID)
            return t + 1, tf.reshape(tok, [-1]), h, c, scores, done, lengths, seqs

        t, _, _, _, scores, done, lengths, seqs = tf.while_loop(
            cond, body, (tf.constant(0), token, h, c, scores, done, lengths, seqs),
            shape_invariants=(tf.TensorShape([]), token.shape, h.shape, c.shape, scores.shape, done.shape,
                              lengths.shape, tf.TensorShape([None, K, None])))
        norm = scores / tf.pow(tf.maximum(lengths, 1.0), length_penalty)
        best = tf.argmax(norm, axis=1, output_type=tf.int32)
        ids = tf.gather(seqs, best, batch_dims=1)
        return tf.pad(ids, [[0, 0], [0, max_len - t]])

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, embed_dim=self.embed_dim, hidden_dim=self.hidden_dim,
                      latent_dim=self.latent_dim, normalize_code=self.normalize_code,
                      code_dense=self._code_dense_arg, hidden_init=self.hidden_init,
                      num_decoders=self.num_decoders, init_range=self.init_range,
                      reverse_input=self.reverse_input, stochastic=self.stochastic,
                      sampled_softmax=self.sampled_softmax)
        return config


def unit_norm(z):
    """Each row of z [B, d] scaled to unit L2 norm (the encoder's normalised codes, the sphere prior)."""
    return z / ops.sqrt(ops.sum(ops.square(z), axis=-1, keepdims=True) + 1e-12)


def interpolation_path(z_a, z_b, steps, normalize):
    """`steps` codes [steps, d] on the line from z_a to z_b (both ends included; one step is z_a),
    back on the unit sphere when `normalize` (float32 TF ops: the text API and the SavedModel agree)."""
    t = tf.linspace(0.0, 1.0, steps)[:, None]
    path = (1.0 - t) * z_a[None] + t * z_b[None]
    return path / tf.maximum(tf.norm(path, axis=1, keepdims=True), 1e-12) if normalize else path


def as_seed(seed):
    """An int, a pair, or a tensor to a stateless-RNG seed of shape [2] int32 (None: 0).

    A Python int must be in [0, 2**63): its low and high 32 bits make the pair, so every such seed is
    its own stream, and a seed below 2**31 is the pair [seed, 0] (what the SavedModel's int32 `seed`
    gives). Anything else is refused (`ValueError`)."""
    if seed is None:
        seed = 0
    if isinstance(seed, (bool, np.bool_, float, str, bytes)):
        raise ValueError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    if isinstance(seed, (int, np.integer)):
        seed = int(seed)
        if not 0 <= seed < 2 ** 63:
            raise ValueError(f"seed must be an integer in [0, 2**63), got {seed}")
        lo, hi = seed & 0xFFFFFFFF, seed >> 32
        return tf.constant([lo - 2 ** 32 if lo >= 2 ** 31 else lo, hi], tf.int32)
    seed = tf.reshape(tf.cast(seed, tf.int32), [-1])
    return tf.concat([seed, tf.zeros([2], tf.int32)], 0)[:2]


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


def sample_logits(logits, seed, temperature=1.0, top_k=0, top_p=1.0):
    """Draws one token per row from logits [B, V] with temperature, top-k and nucleus (top-p) filtering."""
    logits = logits / temperature
    if top_k:
        kth = tf.math.top_k(logits, k=top_k).values[:, -1:]
        logits = tf.where(logits < kth, NEG_INF, logits)
    if top_p < 1.0:
        sorted_logits = tf.sort(logits, direction="DESCENDING", axis=-1)
        cum = tf.cumsum(tf.nn.softmax(sorted_logits), axis=-1, exclusive=True)
        # Keep the smallest prefix whose mass reaches top_p (the first token always stays).
        cutoff = tf.reduce_min(tf.where(cum < top_p, sorted_logits, -NEG_INF), axis=-1, keepdims=True)
        logits = tf.where(logits < cutoff, NEG_INF, logits)
    return tf.cast(tf.random.stateless_categorical(logits, 1, seed)[:, 0], tf.int32)
