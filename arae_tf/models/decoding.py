"""Decoding codes into token ids: sampler objects (in the style of KerasHub's samplers), decoding by
class, interpolation paths and stateless seeds.

A sampler turns codes z [B, d] into token ids [B, max_len] with one of a backbone's decoders,
in the graph and batched:

    sampler = get_sampler("sample", top_p=0.9)       # or GreedySampler(), RandomSampler(...), BeamSampler(...)
    ids = sampler(backbone, z, max_len=20, seed=7, decoder=0)

It drives the backbone through four hooks of `SentenceAutoencoderBackbone`: `_z_projection` (z's
share of every step's LSTM input), `_initial_state`, `_decoding_projection` (the output layer with
`<pad>`/`<bos>` banned) and `_step_logits` (one LSTM step to float32 logits). Decoding stops at
`<eos>` (kept in the output) or `max_len`; after `<eos>` a row is `<pad>`.

`SentenceAutoencoderBackbone.decode(method=...)` is `get_sampler(method, ...)(self, ...)`, and
`decode_by_class` here is the one decode-by-class of the text API and the SavedModel.

Contrastive decoding (`contrast` = beta > 0, models with several decoders): every sampler draws
from the per-step distribution proportional to p_d(w) / (geometric mean over the other decoders c of
p_c(w))**beta, i.e. the logits log p_d - beta * mean_c log p_c (`_Stepper`). For style transfer
with decoder d the target class, it favours the words that mark the target class over those all
classes share; beta 0 is plain decoding (docs/arae_yelp_decoding_sweep.md measures the trade-off).
"""

import numpy as np
import tensorflow as tf

from arae_tf.data.vocab import BOS_ID, EOS_ID, PAD_ID

NEG_INF = -1e9
METHODS = ("greedy", "sample", "beam")


class _Stepper:
    """One decoding step of decoder `decoder`, optionally contrasted with the backbone's other
    decoders (`contrast` = beta > 0; see the module docstring). The step's per-row inputs are two
    nested structures: `consts`, each decoder's share of z (fixed while a row decodes), and `states`,
    each decoder's LSTM state, so samplers can drop finished rows (both) or reorder beams (only the
    states: the beams of one example share its code) with `tf.nest`."""

    def __init__(self, backbone, decoder=0, contrast=0.0):
        self.backbone, self.contrast = backbone, float(contrast)
        others = [d for d in range(backbone.num_decoders) if d != decoder] if self.contrast else []
        if self.contrast and not others:
            raise ValueError("contrast needs a model with two or more decoders")
        self.decoders = [decoder] + others
        self.projection = backbone._decoding_projection()
        self.banned = self.projection[1] <= NEG_INF / 2  # <pad>, <bos>: stay banned after contrasting

    def initial(self, z):
        """The per-row inputs for codes z [B, d]: (consts, states), each a tuple over the decoders
        used of z's share of the step input [B, 4H] and of the LSTM state (h, c)."""
        bb = self.backbone
        return (tuple(bb._z_projection(bb.decoder_lstms[d], z) for d in self.decoders),
                tuple(bb._initial_state(z, d) for d in self.decoders))

    def __call__(self, token, consts, states):
        """(float32 logits [B, V], the next `states`) after feeding `token` [B]."""
        out, nxt = [], []
        for d, z_proj, (h, c) in zip(self.decoders, consts, states):
            logits, h, c = self.backbone._step_logits(d, token, z_proj, h, c, self.projection)
            out.append(logits)
            nxt.append((h, c))
        if not self.contrast:
            return out[0], tuple(nxt)
        others = tf.add_n([tf.nn.log_softmax(x) for x in out[1:]]) / float(len(out) - 1)
        logits = tf.nn.log_softmax(out[0]) - self.contrast * others
        return tf.where(self.banned[None], tf.cast(NEG_INF, logits.dtype), logits), tuple(nxt)


def _row_spec(x):
    return tf.TensorShape([None]).concatenate(x.shape[1:])


class _ShrinkingBatchSampler:
    """Token-by-token decoding in which finished rows leave the batch, so each step costs only the
    rows still decoding and the loop ends as soon as every row has finished. Subclasses choose the
    next token of each row (`next_tokens`)."""

    def next_tokens(self, logits, seed, t):
        raise NotImplementedError

    def __call__(self, backbone, z, max_len=20, seed=None, decoder=0, contrast=0.0):
        z = tf.convert_to_tensor(z)
        batch = tf.shape(z)[0]
        step = _Stepper(backbone, decoder, contrast)
        seed = as_seed(seed)
        rows = tf.range(batch)  # the output row of each row still decoding
        token = tf.fill([batch], BOS_ID)
        out = tf.TensorArray(tf.int32, size=max_len)

        def cond(t, rows, token, inputs, out):
            return (t < max_len) & (tf.size(rows) > 0)

        def body(t, rows, token, inputs, out):
            consts, states = inputs
            logits, states = step(token, consts, states)
            inputs = (consts, states)
            nxt = self.next_tokens(logits, seed, t)
            out = out.write(t, tf.scatter_nd(rows[:, None], nxt, [batch]))  # finished rows: <pad> (0)
            going = tf.not_equal(nxt, EOS_ID)
            keep = lambda x: tf.boolean_mask(x, going)  # noqa: E731
            return t + 1, keep(rows), keep(nxt), tf.nest.map_structure(keep, inputs), out

        shrinking = (rows, token, step.initial(z))  # their first dimension shrinks as rows finish
        invariants = tf.nest.map_structure(_row_spec, shrinking)
        t, _, _, _, out = tf.while_loop(cond, body, (tf.constant(0),) + shrinking + (out,),
                                        shape_invariants=(tf.TensorShape([]),) + invariants + (tf.TensorShape(None),))
        # No step taken (an empty batch, max_len 0): nothing was written, and stacking would fail.
        ids = tf.cond(t > 0, lambda: tf.transpose(out.stack()[:t]), lambda: tf.zeros([batch, 0], tf.int32))
        return tf.pad(ids, [[0, 0], [0, max_len - t]])


class GreedySampler(_ShrinkingBatchSampler):
    """The most probable next token (the seed is not used)."""

    def next_tokens(self, logits, seed, t):
        return tf.cast(tf.argmax(logits, -1), tf.int32)


class RandomSampler(_ShrinkingBatchSampler):
    """A draw from the softmax at `temperature`, optionally restricted to the `top_k` most probable
    tokens (0: all) and to the smallest set whose mass reaches `top_p`. Stateless: step t draws with
    the seed folded with t, for the rows still decoding, in order."""

    def __init__(self, temperature=1.0, top_k=0, top_p=1.0):
        self.temperature, self.top_k, self.top_p = temperature, top_k, top_p

    def next_tokens(self, logits, seed, t):
        return sample_logits(logits, tf.random.experimental.stateless_fold_in(seed, t), self.temperature,
                             self.top_k, self.top_p)


class BeamSampler:
    """Beam search with `beam_size` beams; final scores are divided by length**`length_penalty`."""

    def __init__(self, beam_size=4, length_penalty=0.0):
        self.beam_size, self.length_penalty = beam_size, length_penalty

    def __call__(self, backbone, z, max_len=20, seed=None, decoder=0, contrast=0.0):
        seqs, norm = self.nbest(backbone, z, max_len=max_len, decoder=decoder, contrast=contrast)
        return tf.gather(seqs, tf.argmax(norm, axis=1, output_type=tf.int32), batch_dims=1)

    def nbest(self, backbone, z, max_len=20, decoder=0, contrast=0.0):
        """Every beam: (token ids [B, K, max_len], their scores [B, K] divided by
        length**length_penalty); `__call__` returns each row's best."""
        z = tf.convert_to_tensor(z)
        batch = tf.shape(z)[0]
        K, V = self.beam_size, backbone.vocab_size
        zk = tf.repeat(z, K, axis=0)  # [B*K, d], beam-major within example
        step = _Stepper(backbone, decoder, contrast)
        consts, inputs = step.initial(zk)  # consts: the same for every beam of an example, never reordered
        scores = tf.tile(tf.concat([[0.0], tf.fill([K - 1], NEG_INF)], 0)[None], [batch, 1])  # only beam 0 alive
        token = tf.fill([batch * K], BOS_ID)
        done = tf.zeros([batch, K], tf.bool)
        lengths = tf.zeros([batch, K], tf.float32)
        seqs = tf.zeros([batch, K, 0], tf.int32)
        pad_only = tf.one_hot(PAD_ID, V, on_value=0.0, off_value=NEG_INF)

        def cond(t, token, inputs, scores, done, lengths, seqs):
            return (t < max_len) & ~tf.reduce_all(done)

        def body(t, token, inputs, scores, done, lengths, seqs):
            logits, inputs = step(token, consts, inputs)
            logp = tf.reshape(tf.nn.log_softmax(logits), [batch, K, V])
            logp = tf.where(done[:, :, None], pad_only[None, None], logp)  # finished beams only extend with pad
            total = tf.reshape(scores[:, :, None] + logp, [batch, K * V])
            scores, idx = tf.math.top_k(total, k=K)
            beam, tok = idx // V, tf.cast(idx % V, tf.int32)
            flat = tf.reshape(beam + tf.range(batch)[:, None] * K, [-1])
            inputs = tf.nest.map_structure(lambda x: tf.gather(x, flat), inputs)
            prev_done = tf.gather(done, beam, batch_dims=1)
            lengths = tf.gather(lengths, beam, batch_dims=1) + tf.cast(~prev_done, tf.float32)
            seqs = tf.concat([tf.gather(seqs, beam, batch_dims=1), tok[:, :, None]], axis=2)
            done = prev_done | tf.equal(tok, EOS_ID)
            return t + 1, tf.reshape(tok, [-1]), inputs, scores, done, lengths, seqs

        t, _, _, scores, done, lengths, seqs = tf.while_loop(
            cond, body, (tf.constant(0), token, inputs, scores, done, lengths, seqs),
            shape_invariants=(tf.TensorShape([]), token.shape, tf.nest.map_structure(lambda x: x.shape, inputs),
                              scores.shape, done.shape, lengths.shape, tf.TensorShape([None, K, None])))
        norm = scores / tf.pow(tf.maximum(lengths, 1.0), self.length_penalty)
        return tf.pad(seqs, [[0, 0], [0, 0], [0, max_len - t]]), norm


# Candidates scored at once by the cycle term: its teacher-forced pass holds [rows, length, vocabulary]
# logits, 1,024 rows of 20 tokens over 10k words are about 0.8 GB (500 sentences of 64 beams at once,
# about 20 GB, crashed a 24 GB machine).
CYCLE_CHUNK_ROWS = 1024


def map_row_chunks(fn, arrays, chunk_rows):
    """fn(*chunk) -> [rows] float32 over the rows of `arrays` (tensors of one leading size n), at most
    `chunk_rows` rows at a time, one chunk after another (also in a graph), so memory is bounded by a
    chunk; concatenated: [n]. Equal chunks of ceil(n / ceil(n / chunk_rows)) rows: a small input is
    one chunk of its own size; the last chunk is filled up with copies of the last row, whose results
    are dropped. The same as fn over all rows, up to rounding (other batch shapes). Graph-compatible."""
    if not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be an integer >= 1, got {chunk_rows!r}")
    n = tf.shape(arrays[0])[0]

    def chunked():
        count = (n + chunk_rows - 1) // chunk_rows
        rows = (n + count - 1) // count
        index = tf.minimum(tf.range(count * rows), n - 1)
        chunks = [tf.reshape(tf.gather(a, index), tf.concat([[count, rows], tf.shape(a)[1:]], 0))
                  for a in arrays]
        out = tf.map_fn(lambda xs: fn(*xs), chunks, fn_output_signature=tf.TensorSpec([None], tf.float32),
                        parallel_iterations=1)
        return tf.reshape(out, [-1])[:n]
    return tf.cond(n > 0, chunked, lambda: tf.zeros([0], tf.float32))  # a class no sentence goes to


def cycle_transfer_by_class(backbone, tokens, classes, cycle, max_len=20, beam_size=4, length_penalty=0.0,
                            contrast=0.0, method="beam", chunk_rows=None):
    """Transfers [N, max_len] of source sentences `tokens` [N, T] (`<bos> w.. <eos> <pad>..`) to the
    classes [N] (int32), each chosen among its beam's `beam_size` candidates y by cycle consistency:

        score(y) = beam score of y (with `length_penalty` and `contrast`)
                   + cycle * (log p(x | enc(y)) per source token)

    where log p(x | enc(y)) is the source sentence's log-likelihood under the decoders other than the
    target's (their mean; with two classes, the source class's decoder), given the code of the
    candidate. It prefers the candidates from which the source can be read back, i.e. those that
    keep its content (a cycle-consistency reranking of the n-best list; the model alone scores it,
    no classifier). `cycle` 0 gives `decode_by_class`'s beam search. The candidates and both terms
    are `cycle_nbest`'s. Graph-compatible."""
    if method != "beam":
        raise ValueError(f"cycle reranking reranks a beam's candidates: method must be 'beam', got {method!r}")
    seqs, beam_scores, cycle_scores = cycle_nbest(backbone, tokens, classes, max_len=max_len, beam_size=beam_size,
                                                  length_penalty=length_penalty, contrast=contrast,
                                                  chunk_rows=chunk_rows)
    return rerank_nbest(seqs, beam_scores, cycle_scores, cycle)


def rerank_nbest(seqs, beam_scores, cycle_scores, cycle):
    """Each row's candidate [N, max_len] of `cycle_nbest`'s lists with the highest
    beam score + `cycle` * cycle term (ties: the first, as beam search's own best)."""
    best = tf.argmax(beam_scores + cycle * cycle_scores, axis=1, output_type=tf.int32)
    return tf.gather(seqs, best, batch_dims=1)


def cycle_nbest(backbone, tokens, classes, max_len=20, beam_size=4, length_penalty=0.0, contrast=0.0,
                chunk_rows=None):
    """The beam of each source sentence `tokens` [N, T] toward its class `classes` [N] (int32), with both
    terms of `cycle_transfer_by_class`'s score, so the list can be reranked at any γ without searching
    again (`rerank_nbest`; `transfer_sweep` does so): (candidates [N, beam_size, max_len] int32, beam
    scores [N, beam_size] with `length_penalty` and `contrast`, cycle terms [N, beam_size]: the source's
    log-likelihood per source token given each candidate's code, under the other decoders). The
    candidates are scored `chunk_rows` (default `CYCLE_CHUNK_ROWS`) at a time (`map_row_chunks`), so
    memory does not grow with N * beam_size. Graph-compatible."""
    tokens = tf.convert_to_tensor(tokens, tf.int32)
    classes = tf.convert_to_tensor(classes, tf.int32)
    sampler, K = BeamSampler(beam_size, length_penalty), beam_size
    z = backbone.encode(tokens)
    source_len = tf.reduce_sum(tf.cast(tf.not_equal(tokens[:, 1:], PAD_ID), tf.float32), axis=1)

    def scored(c, rows):
        seqs, norm = sampler.nbest(backbone, tf.gather(z, rows), max_len=max_len, decoder=c, contrast=contrast)
        flat = tf.reshape(seqs, [-1, max_len])  # [n_c * K, max_len], example-major
        cand = tf.concat([tf.fill([tf.shape(flat)[0], 1], BOS_ID), flat], axis=1)
        x = tf.repeat(tf.gather(tokens, rows), K, axis=0)
        others = [d for d in range(backbone.num_decoders) if d != c] or [c]

        def source_loglik(cand_rows, x_rows):
            z_cand = backbone.encode(cand_rows)
            return -tf.add_n([backbone.sentence_nll(z_cand, x_rows, decoder=d) for d in others]) / len(others)
        loglik = map_row_chunks(source_loglik, [cand, x], CYCLE_CHUNK_ROWS if chunk_rows is None else chunk_rows)
        per_token = tf.reshape(loglik / tf.repeat(tf.maximum(tf.gather(source_len, rows), 1.0), K), [-1, K])
        return seqs, norm, per_token
    n = tf.shape(tokens)[0]
    empty = (tf.zeros([n, K, max_len], tf.int32), tf.zeros([n, K], tf.float32), tf.zeros([n, K], tf.float32))
    return _scatter_by_class(backbone.num_decoders, classes, empty, scored)


def _scatter_by_class(num_decoders, classes, empty, per_class):
    """The outputs for classes [N] (int32), `empty` (a tensor or a nested structure of tensors with N
    rows) filled class by class: the rows of class c are per_class(c, rows) (the same structure, n_c
    rows) for rows = the indices of class c, so each decoder runs on its own rows only."""
    out = empty
    for c in range(num_decoders):
        rows = tf.where(tf.equal(classes, c))[:, 0]
        out = tf.nest.map_structure(lambda o, v: tf.tensor_scatter_nd_update(o, rows[:, None], v),
                                    out, per_class(c, rows))
    return out


def get_sampler(method, temperature=1.0, top_k=0, top_p=1.0, beam_size=4, length_penalty=0.0):
    """The sampler named by `method` ("greedy", "sample" or "beam") with its options."""
    if method == "greedy":
        return GreedySampler()
    if method == "sample":
        return RandomSampler(temperature, top_k, top_p)
    if method == "beam":
        return BeamSampler(beam_size, length_penalty)
    raise ValueError(f"unknown decoding method {method!r}; use 'greedy', 'sample' or 'beam'")


def decode_by_class(backbone, z, classes, max_len=20, **decode_kwargs):
    """Token ids [N, max_len]: code z[i] decoded by the backbone's decoder classes[i] ([N] int32 in
    0..num_decoders-1, not checked here). Each decoder runs on its own rows only, so the cost is that
    of one `decode` of N rows. The text API (`ARAETransfer.decode_by_class`) and the SavedModel's
    signatures both decode by class through this. Options as `SentenceAutoencoderBackbone.decode`."""
    if backbone.num_decoders == 1:
        return backbone.decode(z, max_len=max_len, **decode_kwargs)
    z = tf.convert_to_tensor(z)
    classes = tf.convert_to_tensor(classes, tf.int32)
    empty = tf.zeros([tf.shape(classes)[0], max_len], tf.int32)
    return _scatter_by_class(backbone.num_decoders, classes, empty, lambda c, rows: backbone.decode(
        tf.gather(z, rows), max_len=max_len, decoder=c, **decode_kwargs))


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
