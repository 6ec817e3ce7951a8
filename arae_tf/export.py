"""Export binary: a SavedModel with string signatures for TensorFlow Serving.

    python -m arae_tf.export --model=arae_yelp --out=/tmp/arae_yelp/1
    python -m arae_tf.export --workdir=workdirs/arae_yelp_transfer --out=/tmp/mine/1

Signatures: encode, reconstruct, sample, interpolate and (transfer models) transfer;
see `arae_tf.export_lib`. The directory must not exist yet (or be empty); TensorFlow
Serving expects a numbered version folder (`.../<name>/1`).
"""

import os

from absl import app, flags

from arae_tf import cli

flags.DEFINE_string("model", None, "A zoo preset name (arae_tf.zoo.list()) or preset directory.")
flags.DEFINE_string("workdir", None, "A training workdir (final/ weights, else the newest checkpoint).")
flags.DEFINE_string("out", None, "Output SavedModel directory.")
flags.DEFINE_integer("max_len", 20, "Maximum words decoded per sentence.")
flags.DEFINE_integer("max_batch", 1024, "The most sentences, `num` or `steps` one request may ask for.")
flags.mark_flag_as_required("out")
flags.mark_flags_as_mutual_exclusive(["model", "workdir"], required=True)
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    import time

    from arae_tf import export_lib, zoo
    t = time.time()
    if FLAGS.model:
        names = zoo.export(FLAGS.model, FLAGS.out, max_len=FLAGS.max_len, max_batch=FLAGS.max_batch)
    else:
        from arae_tf.evaluation import load_trained
        from arae_tf.preset_lib import portable_path
        model, vocab, _ = load_trained(FLAGS.workdir)
        names = export_lib.export_model(model, vocab, FLAGS.out, max_len=FLAGS.max_len, max_batch=FLAGS.max_batch,
                                        metadata={"workdir": portable_path(os.path.abspath(FLAGS.workdir))})
    print(f"[export] wrote {FLAGS.out} with signatures {', '.join(names)} in {time.time() - t:.1f}s")
    print(f"[export] ops used: {len(export_lib.saved_model_ops(FLAGS.out))} (all core TensorFlow; "
          f"list: arae_tf.export_lib.saved_model_ops)")


if __name__ == "__main__":
    cli.run(main)
