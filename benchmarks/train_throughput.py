r"""Training throughput in new sentences per second, against the original implementation (PEER.md).

    python -m benchmarks.train_throughput                  # all variants, ~3 minutes on 2 cores
    python -m benchmarks.train_throughput --variants=ae,arae_transfer --steps=50

Each variant builds the model of `benchmarks.common.peer_config` (emsize/nhidden 128, vocabulary
9,085, maxlen 25) and trains on Yelp with one `model.fit`, timed after 10 warm-up iterations (tracing, XLA
compilation, the first fill of the shuffle buffer): steady-state throughput, as in a long run.

* `ae`: the autoencoder step alone (Algorithm 1's step 1);
* `arae`: a full Algorithm 1 iteration (AE step, 5 critic steps with WGAN-GP, encoder-adversarial
  step, generator step);
* `arae_transfer`: a full Algorithm 2 iteration (PEER.md's work: its 128 new sentences are our
  batch of 128; one AE step over both classes' decoders, classifier and encoder-against-classifier
  steps, the GAN steps);

each in float32 without XLA (the baseline of the run), with XLA (`jit_compile`), and with
`--precisions=mixed_bfloat16` in bfloat16 compute. Prints sentences/s, the ratio to the run's
float32 baseline and the ratio to the original's 283 sentences/s.
"""

import json
import sys
import time

from absl import app, flags

from benchmarks import common

flags.DEFINE_list("variants", ["ae", "arae", "arae_transfer"], "Models to time.")
flags.DEFINE_list("precisions", ["float32", "mixed_bfloat16"], "Keras dtype policies.")
flags.DEFINE_list("xla", ["off", "on"], "jit_compile settings.")
flags.DEFINE_integer("steps", 60, "Timed iterations per variant (after 10 warm-up iterations).")
flags.DEFINE_integer("batch_size", 128, "Sentences per iteration.")
flags.DEFINE_string("json_out", "", "Also write the figures here.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from arae_tf import train_lib
    from arae_tf.data.vocab import Vocabulary

    c = common.peer_config()
    train_ex = train_lib.load_examples(c.data, "train")
    vocab = Vocabulary.build((t for t, _ in train_ex), max_size=c.data.vocab_size, min_count=1)
    print(f"# training throughput, {time.strftime('%Y-%m-%d')}, {common.machine()}, git {common.git_revision()}")
    print(f"# Yelp {len(train_ex)} sentences, vocabulary {len(vocab)}, batch {FLAGS.batch_size}, "
          f"{FLAGS.steps} timed iterations; original (PEER.md): {common.PEER_TRAIN_SENTENCES_PER_S} sentences/s "
          f"for a full Algorithm 2 iteration")
    print("| work | precision | XLA | sentences/s | × float32 no-XLA | × original |")
    print("|---|---|---|---|---|---|")
    rows = []
    for name in FLAGS.variants:
        base = None
        for precision in FLAGS.precisions:
            for xla in FLAGS.xla:
                rate = common.training_throughput(name, precision, xla == "on", FLAGS.steps, FLAGS.batch_size, train_ex, vocab)
                base = base or rate
                rows.append({"work": name, "precision": precision, "xla": xla, "sentences_per_s": rate})
                print(f"| {name} | {precision} | {xla} | {rate:.0f} | {rate / base:.2f} | "
                      f"{rate / common.PEER_TRAIN_SENTENCES_PER_S:.2f} |", flush=True)
    if FLAGS.json_out:
        with open(FLAGS.json_out, "w") as f:
            json.dump({"command": sys.argv, "machine": common.machine(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    app.run(main)
