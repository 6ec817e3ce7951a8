"""The reference LSTM language model behind forward and reverse perplexity (SPEC 3).

One architecture and one training recipe for every model compared (`LMSettings`).
Sentences are scored as `<bos> w1 .. wn <eos>`: `<bos>` is given, never predicted;
every word *and* `<eos>` is predicted and counted. Words outside the LM's
vocabulary (built from the real training data) are scored as `<unk>`.

    PPL = exp( sum of -log p(token | prefix) / number of predicted tokens )

* forward PPL: generated sentences under an LM trained on the real training split;
* reverse PPL: real held-out sentences under an LM trained on N generated sentences
  (N fixed per comparison).
"""

import dataclasses
import json
import math
import os
import time

from absl import logging

import keras
import tensorflow as tf
from keras import ops

from arae_tf.data import pipeline
from arae_tf.data.vocab import Vocabulary
from arae_tf.layers.lstm import LSTM
from arae_tf.models.backbone import real_token_nll


@dataclasses.dataclass
class LMSettings:
    """The reference LM's fixed settings (keep them equal across a comparison)."""
    embed_dim: int = 128
    hidden_dim: int = 256
    batch_size: int = 64
    learning_rate: float = 1e-3
    clipnorm: float = 1.0
    epochs: int = 1
    steps: int = 0      # > 0: train exactly this many batches (data repeated), whatever the corpus size
    max_len: int = 30
    seed: int = 0


@keras.saving.register_keras_serializable(package="arae_tf")
class LanguageModel(keras.Model):
    """Embedding -> LSTM -> softmax LM over `<bos> w.. <eos>` token batches."""

    def __init__(self, vocab_size, embed_dim=128, hidden_dim=256, **kwargs):
        super().__init__(**kwargs)
        # === Layers ===
        self.embedding = keras.layers.Embedding(vocab_size, embed_dim, name="embedding")
        self.lstm = LSTM(hidden_dim, embed_dim, name="lstm")
        self.out = keras.layers.Dense(vocab_size, name="out")
        self.embedding.build((None, None))
        self.out.build((None, hidden_dim))
        # === Config ===
        self.vocab_size, self.embed_dim, self.hidden_dim = vocab_size, embed_dim, hidden_dim
        self.loss_tracker = keras.metrics.Mean(name="nll")
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker]

    def nll(self, tokens):
        """(sum of -log p over predicted tokens, their count) for a [B, T] batch."""
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        hs, _ = self.lstm.scan(self.lstm.project(self.embedding(inputs)))
        nll, _, _ = real_token_nll(hs, targets, self.out)
        return ops.sum(nll), ops.cast(ops.shape(nll)[0], "float32")

    def train_step(self, data):
        with tf.GradientTape() as tape:
            total, n = self.nll(data["tokens"])
            loss = total / ops.maximum(n, 1.0)
        self.optimizer.apply(tape.gradient(loss, self.trainable_variables), self.trainable_variables)
        self.loss_tracker.update_state(loss, sample_weight=n)
        return {"nll": self.loss_tracker.result()}

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "embed_dim": self.embed_dim,
                "hidden_dim": self.hidden_dim}


def train_lm(sentences, vocab, settings=LMSettings(), verbose=True):
    """Trains the reference LM on `sentences` (strings) with the vocabulary `vocab`."""
    keras.utils.set_random_seed(settings.seed)
    lm = LanguageModel(len(vocab), settings.embed_dim, settings.hidden_dim)
    lm.compile(optimizer=keras.optimizers.Adam(settings.learning_rate, global_clipnorm=settings.clipnorm))
    ds = pipeline.make_dataset([(s, 0) for s in sentences], vocab, settings.batch_size, settings.max_len,
                               seed=settings.seed, length_policy="truncate", repeat=settings.steps > 0)
    t = time.time()
    steps_per_epoch, epochs = (settings.steps, 1) if settings.steps > 0 else (None, settings.epochs)

    def report(where, logs):
        if verbose:
            logging.info(f"[lm] {where}: train nll {logs['nll']:.3f} ({time.time() - t:.0f}s, {len(sentences)} sentences)")

    progress = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: settings.steps and (b + 1) % 500 == 0 and report(
            f"step {b + 1}/{settings.steps}", logs),
        on_epoch_end=lambda e, logs: report(f"epoch {e + 1}/{epochs}" if not settings.steps else "done", logs))
    lm.fit(ds, epochs=epochs, steps_per_epoch=steps_per_epoch, callbacks=[progress], verbose=0)
    return lm


def perplexity(lm, sentences, vocab, batch_size=256, max_len=30):
    """Perplexity of `sentences` under `lm` (see the module docstring for the token convention)."""
    ds = pipeline.make_dataset([(s, 0) for s in sentences], vocab, batch_size, max_len, shuffle=False,
                               bucket=False, length_policy="truncate")
    fn = tf.function(lm.nll, input_signature=[tf.TensorSpec([None, None], tf.int32)])
    total = count = 0.0
    for b in ds:
        s, n = fn(b["tokens"])
        total += float(s)
        count += float(n)
    return math.exp(total / count)


def sample_lm(lm, vocab, n, seed=0, max_len=20, batch=1000):
    """`n` sentences drawn from `lm` by ancestral sampling at temperature 1 (`<pad>`, `<bos>` never
    drawn), at most `max_len` tokens each, `batch` rows at a time; stateless: batch i draws with seed
    (seed, i). ARAE Table 1's "LM samples" row."""
    from arae_tf.data.vocab import BOS_ID, PAD_ID

    banned = tf.one_hot(PAD_ID, lm.vocab_size) + tf.one_hot(BOS_ID, lm.vocab_size)

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32), tf.TensorSpec([2], tf.int32)])
    def draw(rows, key):
        h, c = lm.lstm.zero_state(rows)
        token = tf.fill([rows], BOS_ID)
        out = tf.TensorArray(tf.int32, size=max_len)
        for t in tf.range(max_len):
            h, c = lm.lstm.step(lm.lstm.project(lm.embedding(token)), h, c)
            logits = tf.cast(lm.out(h), tf.float32) - 1e9 * banned
            token = tf.cast(tf.random.stateless_categorical(
                logits, 1, tf.random.experimental.stateless_fold_in(key, t))[:, 0], tf.int32)
            out = out.write(t, token)
        return tf.transpose(out.stack())

    sentences = []
    for i, start in enumerate(range(0, n, batch)):
        ids = draw(tf.constant(min(batch, n - start)), tf.constant([seed, i], tf.int32)).numpy()
        sentences += [vocab.decode(r) for r in ids]
    return sentences


def save_lm(lm, vocab, settings, directory):
    os.makedirs(directory, exist_ok=True)
    lm.save_weights(os.path.join(directory, "lm.weights.h5"))
    vocab.save(os.path.join(directory, "vocabulary.txt"))
    with open(os.path.join(directory, "lm.json"), "w") as f:
        json.dump(dataclasses.asdict(settings), f, indent=2)


def load_lm(directory):
    """(lm, vocab, settings) saved by `save_lm`."""
    with open(os.path.join(directory, "lm.json")) as f:
        settings = LMSettings(**json.load(f))
    vocab = Vocabulary.load(os.path.join(directory, "vocabulary.txt"))
    lm = LanguageModel(len(vocab), settings.embed_dim, settings.hidden_dim)
    lm.load_weights(os.path.join(directory, "lm.weights.h5"))
    return lm, vocab, settings


def cached_lm(directory, sentences, vocab, settings=LMSettings()):
    """The LM cached in `directory` if its settings and vocabulary match, else trained and cached."""
    if os.path.exists(os.path.join(directory, "lm.json")):
        lm, cached_vocab, cached_settings = load_lm(directory)
        if cached_settings == settings and cached_vocab == vocab:
            return lm
    lm = train_lm(sentences, vocab, settings)
    save_lm(lm, vocab, settings, directory)
    return lm


def forward_ppl(generated, real_lm, vocab, settings=LMSettings()):
    """PPL of generated sentences under the LM trained on real training data."""
    return perplexity(real_lm, generated, vocab, max_len=settings.max_len)


def reverse_ppl(generated, heldout, vocab, settings=LMSettings()):
    """PPL of real held-out sentences under an LM trained on the generated sentences."""
    lm = train_lm(generated, vocab, settings)
    return perplexity(lm, heldout, vocab, max_len=settings.max_len)
