import keras
import numpy as np
import pytest
import tensorflow as tf

from arae_tf.data import pipeline
from arae_tf.data.vocab import EOS_ID, PAD_ID
from arae_tf.layers.lstm import LSTM
from arae_tf.models import SentenceAutoencoderBackbone
from tests.conftest import tiny_backbone


def test_lstm_matches_keras_lstm():
    keras.utils.set_random_seed(0)
    ours = LSTM(6, 5)
    ref = keras.layers.LSTM(6, return_sequences=True, return_state=True)
    x = np.random.RandomState(0).randn(3, 7, 5).astype("float32")
    ref(x)
    ref.set_weights([w.numpy() for w in (ours.kernel, ours.recurrent_kernel, ours.bias)])
    seq, h, c = ref(x)
    our_seq, (our_h, our_c) = ours.scan(ours.project(tf.constant(x)))
    np.testing.assert_allclose(our_seq, seq, atol=1e-5)
    np.testing.assert_allclose(our_h, h, atol=1e-5)
    np.testing.assert_allclose(our_c, c, atol=1e-5)


def test_constant_input_projection_equals_concatenation():
    keras.utils.set_random_seed(0)
    lstm = LSTM(4, 3 + 2)
    x, z = tf.random.normal([2, 5, 3]), tf.random.normal([2, 2])
    concat = tf.concat([x, tf.repeat(z[:, None], 5, axis=1)], -1)
    np.testing.assert_allclose(lstm.project(x, const=z), lstm.project(concat), atol=1e-5)


def test_padding_does_not_change_the_code(vocab, examples):
    bb = tiny_backbone(len(vocab))
    texts = [t for t, _ in examples[:5]]
    batch = pipeline.padded_batch(texts, vocab)
    z = bb.encode(batch).numpy()
    padded = np.pad(batch, [[0, 0], [0, 7]])  # extra padding columns
    np.testing.assert_allclose(bb.encode(padded), z, atol=1e-6)
    for i, t in enumerate(texts):  # alone (no padding at all) vs inside the padded batch
        np.testing.assert_allclose(bb.encode(pipeline.padded_batch([t], vocab))[0], z[i], atol=1e-6)


def test_code_is_normalised(vocab, batch):
    z = tiny_backbone(len(vocab)).encode(batch).numpy()
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-5)
    z = tiny_backbone(len(vocab), normalize_code=False, latent_dim=5).encode(batch)
    assert z.shape == (len(batch), 5)


def test_reconstruction_equals_dense_masked_computation(vocab, batch):
    bb = tiny_backbone(len(vocab), hidden_init=True)
    z = bb.encode(batch)
    stats = bb.reconstruction(z, batch)
    hs = bb.decoder_states(z, batch[:, :-1])
    logits = bb.output_projection(hs).numpy()
    targets = batch[:, 1:]
    mask = targets != PAD_ID
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = -np.take_along_axis(logp, targets[..., None], -1)[..., 0]
    assert stats["tokens"].numpy() == mask.sum()
    np.testing.assert_allclose(stats["nll_sum"], (nll * mask).sum(), rtol=1e-5)
    assert stats["correct"].numpy() == ((logits.argmax(-1) == targets) & mask).sum()


def _logprob(bb, z, ids):
    """log p(ids | z), ids ending at <eos>, computed teacher-forced."""
    tokens = np.concatenate([[2], ids])[None].astype("int32")
    return -bb.reconstruction(z[None], tokens)["nll_sum"].numpy()


@pytest.fixture
def trained_ish(vocab):
    keras.utils.set_random_seed(3)
    return tiny_backbone(len(vocab), embed_dim=16, hidden_dim=16, latent_dim=16)


def test_greedy_stops_at_eos_and_pads(trained_ish):
    z = tf.random.normal([4, 16])
    ids = trained_ish.decode(z, max_len=10).numpy()
    assert ids.shape == (4, 10)
    for row in ids:
        if EOS_ID in row:
            after = row[list(row).index(EOS_ID) + 1:]
            assert not after.any()
        assert 2 not in row  # <bos> never generated


def counter_backbone(scale=100.0, threshold=0.25):
    """A hand-set backbone whose greedy decoding of code z ends at a known step.

    One LSTM unit counts: input, forget and output gates saturated open, candidate tanh(z), no
    recurrence and zero word embeddings, so c_t = t·tanh(z). The output layer scores word 4 at 0
    and `<eos>` at scale·(tanh(c_t) − tanh(threshold)), so `<eos>` first wins at the first t with
    t·tanh(z) > threshold. `finishing_codes(ks)` gives codes whose rows end at steps ks."""
    bb = SentenceAutoencoderBackbone(5, embed_dim=1, hidden_dim=1, latent_dim=1, normalize_code=False)
    lstm = bb.decoder_lstms[0]
    bb.decoder_embeddings[0].embeddings.assign(np.zeros((5, 1), "float32"))
    lstm.recurrent_kernel.assign(np.zeros((1, 4), "float32"))
    lstm.kernel.assign(np.array([[0, 0, 0, 0], [0, 0, 1, 0]], "float32"))  # rows: [embedding ; z]; gates i f g o
    lstm.bias.assign(np.array([30, 30, 0, 30], "float32"))
    kernel = np.zeros((1, 5), "float32")
    bias = np.zeros(5, "float32")
    kernel[0, EOS_ID] = scale
    bias[EOS_ID] = -scale * np.tanh(threshold)
    bias[[1, 4]] = [-1.0, 0.0]  # word 4 beats <unk>
    bb.output_projection.kernel.assign(kernel)
    bb.output_projection.bias.assign(bias)

    def finishing_codes(ks):  # t·r > threshold first at t = k when r = threshold / (k − 0.5)
        return np.arctanh(threshold / (np.asarray(ks, "float32") - 0.5))[:, None].astype("float32")
    return bb, finishing_codes


def test_greedy_rows_do_not_depend_on_the_batch(builtin_run):
    """Finished rows leave the decoding batch: each row must still decode exactly as it does alone,
    with rows finishing at different steps. The case is constructed (a counting decoder whose rows
    end at known steps 1..12 or run to max_len), then checked again on a trained model's codes."""
    bb, finishing_codes = counter_backbone()
    ks = [7, 1, 12, 3, 3, 30, 2, 9, 5]  # 30: never finishes within max_len 16
    z = finishing_codes(ks)
    batch = bb.decode(z, max_len=16).numpy()
    lengths = (batch != 0).sum(axis=1)
    np.testing.assert_array_equal(lengths, [min(k, 16) for k in ks])  # k − 1 words, then <eos> at step k
    for i, k in enumerate(ks):
        if k <= 16:
            assert batch[i, k - 1] == EOS_ID and (batch[i, : k - 1] == 4).all() and (batch[i, k:] == 0).all()
        np.testing.assert_array_equal(bb.decode(z[i:i + 1], max_len=16).numpy()[0], batch[i])

    from arae_tf.evaluation import load_trained
    model, _, _ = load_trained(builtin_run[0])
    z = model.sample_codes(16, seed=5)
    batch = model.backbone.decode(z, max_len=20).numpy()
    for i in range(len(batch)):
        np.testing.assert_array_equal(model.backbone.decode(z[i:i + 1], max_len=20).numpy()[0], batch[i])


def test_sampling_is_seeded_and_topk1_is_greedy(trained_ish):
    z = tf.random.normal([5, 16])
    greedy = trained_ish.decode(z, max_len=8).numpy()
    a = trained_ish.decode(z, method="sample", seed=7, max_len=8).numpy()
    b = trained_ish.decode(z, method="sample", seed=7, max_len=8).numpy()
    c = trained_ish.decode(z, method="sample", seed=8, max_len=8).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(trained_ish.decode(z, method="sample", top_k=1, seed=1, max_len=8), greedy)
    np.testing.assert_array_equal(trained_ish.decode(z, method="sample", top_p=1e-6, seed=1, max_len=8), greedy)
    np.testing.assert_array_equal(
        trained_ish.decode(z, method="sample", temperature=1e-4, seed=2, max_len=8), greedy)


def test_beam_search(trained_ish):
    z = tf.random.normal([3, 16])
    greedy = trained_ish.decode(z, max_len=6).numpy()
    np.testing.assert_array_equal(trained_ish.decode(z, method="beam", beam_size=1, max_len=6), greedy)
    beam = trained_ish.decode(z, method="beam", beam_size=5, max_len=6).numpy()
    for i in range(3):
        if EOS_ID in beam[i] and EOS_ID in greedy[i]:
            cut = lambda r: r[: list(r).index(EOS_ID) + 1]
            assert _logprob(trained_ish, z[i], cut(beam[i])) >= _logprob(trained_ish, z[i], cut(greedy[i])) - 1e-4


def test_decoding_compiles_in_tf_function(trained_ish):
    @tf.function(input_signature=[tf.TensorSpec([None, 16], tf.float32)])
    def fn(z):
        return (trained_ish.decode(z, max_len=5), trained_ish.decode(z, method="beam", beam_size=3, max_len=5),
                trained_ish.decode(z, method="sample", top_k=5, top_p=0.9, seed=tf.constant([1, 2]), max_len=5))
    outs = fn(tf.random.normal([2, 16]))
    assert all(o.shape == (2, 5) for o in outs)


def test_unknown_decoding_method(trained_ish):
    with pytest.raises(ValueError, match="unknown decoding method"):
        trained_ish.decode(tf.zeros([1, 16]), method="nucleus")


def test_reverse_input_reads_real_tokens_backwards(vocab):
    """reverse_input=True encodes `<bos> a b c <eos>` exactly as the plain encoder reads `<eos> c b a`;
    padding stays at the end."""
    from arae_tf.data.vocab import BOS_ID
    keras.utils.set_random_seed(0)
    rev = tiny_backbone(len(vocab), reverse_input=True)
    plain = tiny_backbone(len(vocab))
    for a, b in zip(plain.weights, rev.weights):
        a.assign(b)
    a, b, c = 5, 6, 7
    fwd = np.array([[BOS_ID, a, b, c, EOS_ID, PAD_ID, PAD_ID], [BOS_ID, a, b, EOS_ID, PAD_ID, PAD_ID, PAD_ID]])
    back = np.array([[BOS_ID, EOS_ID, c, b, a, PAD_ID, PAD_ID], [BOS_ID, EOS_ID, b, a, PAD_ID, PAD_ID, PAD_ID]])
    np.testing.assert_allclose(rev.encode(fwd), plain.encode(back), rtol=1e-5, atol=1e-6)
    assert not np.allclose(rev.encode(fwd), plain.encode(fwd), atol=1e-4)


def test_bidirectional_encoder_concatenates_a_backward_read(vocab):
    """`bidirectional`: the encoder state is [forward read ; backward read of the real tokens], the
    backward half equal to a plain encoder (its weights) reading `<eos> c b a`; padding changes
    nothing; the decoder has its own size; both options round-trip through the config."""
    from arae_tf.data.vocab import BOS_ID
    keras.utils.set_random_seed(0)
    bi = tiny_backbone(len(vocab), bidirectional=True, decoder_hidden_dim=12)
    plain = tiny_backbone(len(vocab))
    plain.encoder_embedding.set_weights(bi.encoder_embedding.get_weights())
    plain.encoder_lstm.set_weights(bi.encoder_lstm_backward.get_weights())
    a, b, c = 5, 6, 7
    fwd = np.array([[BOS_ID, a, b, c, EOS_ID, PAD_ID, PAD_ID], [BOS_ID, a, b, EOS_ID, PAD_ID, PAD_ID, PAD_ID]])
    back = np.array([[BOS_ID, EOS_ID, c, b, a, PAD_ID, PAD_ID], [BOS_ID, EOS_ID, b, a, PAD_ID, PAD_ID, PAD_ID]])
    h = bi.encoder_state(fwd).numpy()
    assert h.shape == (2, 16)
    np.testing.assert_allclose(h[:, 8:], plain.encoder_state(back), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bi.encoder_state(np.pad(fwd, [[0, 0], [0, 4]])), h, rtol=1e-5, atol=1e-6)
    assert bi.encode(fwd).shape == (2, 8) and bi.code_projection is not None
    assert bi.decoder_lstms[0].units == 12 and bi.output_projection.kernel.shape == (12, len(vocab))
    assert bi.decode(bi.encode(fwd), max_len=4).shape == (2, 4)
    assert any(v is bi.encoder_lstm_backward.kernel for v in bi.encoder_variables)
    again = SentenceAutoencoderBackbone.from_config(bi.get_config())
    assert (again.bidirectional, again.decoder_hidden_dim) == (True, 12)
    assert tiny_backbone(len(vocab)).decoder_hidden_dim == 8
    with pytest.raises(ValueError, match="decoder_hidden_dim"):
        tiny_backbone(len(vocab), decoder_hidden_dim=-1)


def test_sampled_softmax_is_a_training_loss_only(vocab, batch):
    """`sampled_softmax` changes `reconstruction(training=True)` only: evaluation is the exact softmax,
    whatever the setting; the field round-trips through the config and is range-checked by name."""
    exact = tiny_backbone(len(vocab))
    sampled = tiny_backbone(len(vocab), sampled_softmax=10)
    sampled.set_weights(exact.get_weights())
    z = tf.random.stateless_normal([batch.shape[0], 8], seed=[1, 2])
    ref = exact.reconstruction(z, batch)
    got = sampled.reconstruction(z, batch)
    for k in ref:
        np.testing.assert_allclose(got[k].numpy(), ref[k].numpy(), rtol=1e-6)
    np.testing.assert_allclose(exact.reconstruction(z, batch, training=True)["nll_sum"], ref["nll_sum"], rtol=1e-6)
    train = sampled.reconstruction(z, batch, training=True)
    assert train["tokens"].numpy() == ref["tokens"].numpy()
    # 10 candidates + the target instead of the whole vocabulary: a smaller normaliser.
    assert 0 < train["nll_sum"].numpy() < ref["nll_sum"].numpy()
    assert 0 <= train["correct"].numpy() <= train["tokens"].numpy()
    assert SentenceAutoencoderBackbone.from_config(sampled.get_config()).sampled_softmax == 10
    for bad in (-1, len(vocab)):
        with pytest.raises(ValueError, match="sampled_softmax"):
            tiny_backbone(len(vocab), sampled_softmax=bad)


def test_dropout_acts_in_training_only(vocab, batch):
    """`dropout`: codes and losses are the plain backbone's outside training; in training they change
    from call to call (a seeded stream); 0 is no dropout; the rate round-trips and is range-checked."""
    plain = tiny_backbone(len(vocab))
    drop = tiny_backbone(len(vocab), dropout=0.5)
    for a, b in zip(plain.trainable_variables, drop.trainable_variables):
        b.assign(a)
    z = tf.random.stateless_normal([batch.shape[0], 8], seed=[1, 2])
    np.testing.assert_allclose(drop.encode(batch).numpy(), plain.encode(batch).numpy(), rtol=1e-6)
    np.testing.assert_allclose(drop.reconstruction(z, batch)["nll_sum"], plain.reconstruction(z, batch)["nll_sum"],
                               rtol=1e-6)
    np.testing.assert_allclose(plain.encode(batch, training=True).numpy(), plain.encode(batch).numpy(), rtol=1e-6)
    a, b = drop.encode(batch, training=True).numpy(), drop.encode(batch, training=True).numpy()
    assert not np.allclose(a, plain.encode(batch).numpy()) and not np.allclose(a, b)
    nll = [float(drop.reconstruction(z, batch, training=True)["nll_sum"]) for _ in range(2)]
    assert nll[0] != nll[1] and float(plain.reconstruction(z, batch)["nll_sum"]) not in nll
    assert SentenceAutoencoderBackbone.from_config(drop.get_config()).dropout == 0.5
    assert plain.dropout_seed is None and drop.dropout_seed is not None
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="dropout must be in"):
            tiny_backbone(len(vocab), dropout=bad)


def test_sampled_softmax_removes_accidental_hits_and_has_gradients(vocab, batch):
    from arae_tf.models.backbone import sampled_token_nll
    bb = tiny_backbone(len(vocab))
    z = tf.random.stateless_normal([batch.shape[0], 8], seed=[3, 4])
    hs = bb.decoder_states(z, batch[:, :-1])
    # Every word but one is sampled: each row's own target is among them and must not count twice,
    # so the loss is finite and the target can still win.
    with tf.GradientTape() as tape:
        nll, correct, t_real = sampled_token_nll(hs, batch[:, 1:], bb.output_projection, len(vocab) - 1)
        loss = tf.reduce_sum(nll)
    assert np.isfinite(nll.numpy()).all() and (nll.numpy() > 0).all()
    assert nll.shape == t_real.shape == correct.shape
    grads = tape.gradient(loss, [bb.output_projection.kernel, bb.output_projection.bias])
    assert all(g is not None and np.abs(tf.convert_to_tensor(g).numpy()).sum() > 0 for g in grads)


@pytest.mark.slow
def test_sampled_softmax_model_learns_the_builtin_corpus():
    """An AE trained with a sampled softmax (10 of the built-in corpus's words per step) reconstructs
    held-out built-in sentences under the exact softmax."""
    from benchmarks import time_to_quality
    r = time_to_quality.run_arm("builtin_ae", "sampled", {"backbone.sampled_softmax": 10}, target=60.0,
                                max_seconds=120, eval_every=200, eval_sentences=200, log=lambda m: None)
    assert r["curve"][-1]["val_bleu"] >= 60.0, r["curve"]
    assert r["seconds_to_target"] is not None


def test_contrastive_decoding_picks_argmax_of_the_contrasted_log_probs(vocab):
    """contrast=beta decodes each step from log p_d - beta * log p_other (two decoders): every greedy
    token is the argmax of that score under teacher forcing of the decoded prefix, beam 1 is greedy,
    beta 0 is plain decoding, and a one-decoder backbone refuses it."""
    keras.utils.set_random_seed(4)
    bb = tiny_backbone(len(vocab), embed_dim=16, hidden_dim=16, latent_dim=16, num_decoders=2)
    z = tf.random.normal([6, 16])
    beta = 0.7
    for d in (0, 1):
        ids = bb.decode(z, max_len=8, decoder=d, contrast=beta).numpy()
        np.testing.assert_array_equal(bb.decode(z, max_len=8, decoder=d, contrast=0.0), bb.decode(z, max_len=8, decoder=d))
        np.testing.assert_array_equal(bb.decode(z, max_len=8, decoder=d, method="beam", beam_size=1, contrast=beta), ids)
        inputs = np.concatenate([np.full([6, 1], 2), ids[:, :-1]], 1).astype("int32")
        lp = [tf.nn.log_softmax(bb.output_projection(bb.decoder_states(z, inputs, k))).numpy() for k in (d, 1 - d)]
        score = lp[0] - beta * lp[1]
        score[..., [PAD_ID, 2]] = -np.inf
        for i, row in enumerate(ids):
            n = list(row).index(EOS_ID) + 1 if EOS_ID in row else len(row)
            np.testing.assert_array_equal(row[:n], score[i, :n].argmax(-1))
        assert not np.array_equal(ids, bb.decode(z, max_len=8, decoder=d).numpy())  # beta 0.7 changes some rows
    with pytest.raises(ValueError, match="two or more decoders"):
        tiny_backbone(len(vocab)).decode(z, max_len=4, contrast=0.5)
