r"""Where the time of one Algorithm 2 training iteration goes, part by part.

    python -m benchmarks.profile_step                       # float32 and mixed_bfloat16, ~2 minutes
    python -m benchmarks.profile_step --precisions=float32 --repeats=30

Builds the `arae_transfer` model of `benchmarks.common.peer_config` (PEER.md's sizes: emsize and
nhidden 128, vocabulary 9,085, batch 128 = the original's 2 x 64 new sentences per iteration) and
times, on one fixed batch of Yelp training sentences (a bucket of the median width among 60 training
batches), each part of
`ARAETransfer.train_step` as its own compiled `tf.function`, then the whole step:

* `ae step`: step 1, the reconstruction step (encoder, decoders, vocabulary projection, softmax
  cross-entropy, backward pass, optimizer update); and inside it
  `ae forward` (the loss alone, no gradient) and `projection + CE` (the [B*T, H] x [H, V]
  projection and the cross-entropy of the batch's decoder states, forward and backward);
* `critic phase`: step 2 (one encoder pass, 5 critic updates with WGAN-GP, fresh generator codes);
* `classifier step` (2b), `encoder vs critic` (3), `encoder vs classifier` (3b), `generator step` (4).

Prints the median milliseconds of each part, its share of the whole step, and the parts' sum
against the measured whole (the difference is the step's own overhead: metric trackers, the
iteration counter). Medians of `--repeats` calls after warm-up calls, so compilation is excluded.
"""

import json
import sys
import time

from absl import app, flags

from benchmarks import common

flags.DEFINE_list("precisions", ["float32", "mixed_bfloat16"], "Keras dtype policies to profile.")
flags.DEFINE_integer("repeats", 20, "Timed calls per part (median reported).")
flags.DEFINE_integer("batch_size", 128, "Sentences per iteration.")
flags.DEFINE_string("json_out", "", "Also write the figures here.")
FLAGS = flags.FLAGS


def parts(model, batch):
    """{name: zero-argument callable running that part of the train step once, compiled}."""
    import tensorflow as tf
    from keras import ops

    from arae_tf.models.backbone import real_token_nll

    tokens, labels = batch["tokens"], tf.cast(batch["label"], tf.int32)
    bb = model.backbone
    z0 = bb.encode(tokens)
    states = tf.constant(bb.decoder_states(z0, tokens[:, :-1], 0).numpy())
    targets = tokens[:, 1:]
    proj_vars = bb.output_projection.trainable_variables

    def ae_forward():
        return ops.sum(model.reconstruction_stats(bb.encode(tokens, training=True), tokens, labels)["nll_sum"])

    def projection_ce():
        with tf.GradientTape() as tape:
            tape.watch(states)
            nll = ops.sum(real_token_nll(states, targets, bb.output_projection)[0])
        return tape.gradient(nll, [states] + proj_vars)

    fns = {
        "ae step": lambda: model.reconstruction_step(tokens, model.optimizer, bb.trainable_variables, labels=labels)[1],
        "  ae forward": ae_forward,
        "  projection + CE (fwd + bwd)": projection_ce,
        "critic phase (5 critic steps)": lambda: model.critic_phase(tokens),
        "classifier step": lambda: model.classifier_step(z0, labels),
        "encoder vs critic": lambda: model.encoder_adversarial_step(tokens) or tf.constant(0.0),
        "encoder vs classifier": lambda: model.encoder_classifier_step(tokens, labels) or tf.constant(0.0),
        "generator step": lambda: model.generator_step(ops.shape(tokens)[0]),
        "whole train_step": lambda: model.train_step(batch)["rec_loss"],
    }
    return {name: tf.function(fn) for name, fn in fns.items()}


def profile(precision, batch_size, repeats, train_ex, vocab):
    with common.peer_model("arae_transfer", precision, batch_size, train_ex, vocab) as (model, ds):
        batch = _typical_batch(ds)
        model.fit(ds, steps_per_epoch=3, epochs=1, verbose=0)  # builds the optimizers' slots
        out = {}
        for name, fn in parts(model, batch).items():
            out[name] = 1000 * common.timed(lambda: [t.numpy() for t in _flat(fn())], repeats, warmup=2)
    return out, tuple(batch["tokens"].shape)


def _typical_batch(ds, look=60):
    """The first of the next `look` batches whose width is the median width among them (a typical bucket)."""
    import numpy as np
    batches = [b for _, b in zip(range(look), ds)]
    width = int(np.median([b["tokens"].shape[1] for b in batches]))
    return next(b for b in sorted(batches, key=lambda b: abs(b["tokens"].shape[1] - width)))


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [t for e in x for t in _flat(e)]
    return [] if x is None else [x]


def main(argv):
    del argv
    from arae_tf import train_lib
    from arae_tf.data.vocab import Vocabulary

    c = common.peer_config()
    train_ex = train_lib.load_examples(c.data, "train")
    vocab = Vocabulary.build((t for t, _ in train_ex), max_size=c.data.vocab_size, min_count=1)
    print(f"# profile of one Algorithm 2 iteration, {time.strftime('%Y-%m-%d')}, {common.machine()}, "
          f"git {common.git_revision()}")
    results = {}
    for precision in FLAGS.precisions:
        times, shape = profile(precision, FLAGS.batch_size, FLAGS.repeats, train_ex, vocab)
        whole = times["whole train_step"]
        top = [n for n in times if not n.startswith("  ") and n != "whole train_step"]
        print(f"\n## {precision}: batch {shape[0]} x {shape[1]} tokens (one bucket), median of {FLAGS.repeats}")
        print("| part | ms | share of the step |")
        print("|---|---|---|")
        for name, ms in times.items():
            print(f"| {name} | {ms:.1f} | {100 * ms / whole:.0f}% |")
        print(f"| sum of the top-level parts | {sum(times[n] for n in top):.1f} | "
              f"{100 * sum(times[n] for n in top) / whole:.0f}% |")
        print(f"\nwhole step: {FLAGS.batch_size / whole * 1000:.0f} sentences/s "
              f"({FLAGS.batch_size / whole * 1000 / common.PEER_TRAIN_SENTENCES_PER_S:.2f} x the original's "
              f"{common.PEER_TRAIN_SENTENCES_PER_S})", flush=True)
        results[precision] = {"ms": times, "batch_shape": shape}
    if FLAGS.json_out:
        with open(FLAGS.json_out, "w") as f:
            json.dump({"command": sys.argv, "machine": common.machine(), "results": results}, f, indent=1)


if __name__ == "__main__":
    app.run(main)
