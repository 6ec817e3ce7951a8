r"""Mixed precision's accuracy check: the same training run in float32 and in mixed_bfloat16.

    python -m benchmarks.precision_accuracy                 # AE, PEER.md's Yelp sizes, 2,000 iterations each
    python -m benchmarks.precision_accuracy --steps=500 --model=arae

Each precision trains `--model` from the same seed for `--steps` iterations of `--batch_size` with
`python -m arae_tf.train`'s own loop (`train_lib.train_and_evaluate`), then validates on the 2,000
Yelp validation sentences. Prints validation token accuracy, reconstruction BLEU, wall time, and
the bfloat16 - float32 differences; the target is a token-accuracy difference within 1 point.
"""

import json
import sys
import tempfile
import time

from absl import app, flags

from benchmarks import common

flags.DEFINE_string("model", "ae", "Model of benchmarks.common.peer_config.")
flags.DEFINE_integer("steps", 2000, "Training iterations per precision.")
flags.DEFINE_integer("batch_size", 64, "Sentences per iteration.")
flags.DEFINE_string("json_out", "", "Also write the figures here.")
FLAGS = flags.FLAGS


def run(precision):
    from arae_tf import train_lib
    c = common.peer_config(FLAGS.model, FLAGS.batch_size)
    c.train.mixed_precision = precision
    c.train.steps = c.train.eval_every = FLAGS.steps
    c.train.log_every = max(1, FLAGS.steps // 4)
    c.eval.num_samples = 4
    with tempfile.TemporaryDirectory() as workdir:
        t = time.perf_counter()
        metrics = train_lib.train_and_evaluate(c, workdir)  # sets the precision policy, restores it after
        seconds = time.perf_counter() - t
    return {"precision": precision, "val_token_acc": metrics["val_token_acc"], "val_bleu": metrics["val_bleu"],
            "val_rec_loss": metrics["val_rec_loss"], "seconds": seconds}


def main(argv):
    del argv
    rows = [run(p) for p in ("float32", "mixed_bfloat16")]
    print(f"# mixed-precision accuracy, {time.strftime('%Y-%m-%d')}, {common.machine()}, git {common.git_revision()}")
    print(f"# {FLAGS.model}, PEER.md Yelp sizes, {FLAGS.steps} iterations of {FLAGS.batch_size}, same seed; "
          "validation on the 2,000 Yelp validation sentences")
    print("| precision | val token acc | val rec loss | val BLEU | wall s |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['precision']} | {r['val_token_acc']:.4f} | {r['val_rec_loss']:.4f} | {r['val_bleu']:.2f} | "
              f"{r['seconds']:.0f} |")
    d = rows[1]["val_token_acc"] - rows[0]["val_token_acc"]
    print(f"bfloat16 - float32: token accuracy {100 * d:+.2f} points (target within ±1), "
          f"BLEU {rows[1]['val_bleu'] - rows[0]['val_bleu']:+.2f}, wall ×{rows[0]['seconds'] / rows[1]['seconds']:.2f}")
    if FLAGS.json_out:
        with open(FLAGS.json_out, "w") as f:
            json.dump({"command": sys.argv, "machine": common.machine(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    app.run(main)
