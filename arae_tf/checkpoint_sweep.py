"""Checkpoint sweep on the VALIDATION split: reconstruction BLEU and prior-sample UniKL of a text model's
checkpoints, to choose the one to publish without looking at the test split.

    python -m arae_tf.checkpoint_sweep --workdir=workdirs/wae_snli --checkpoint=14000 --checkpoint=16000 \\
        --seeds=1,2 --num_samples=5000 --min_bleu=76.42 --max_unikl=0.118 --out=docs/wae_snli_sweep.md

Per checkpoint: greedy BLEU of every validation sentence (by reference length too) and, for each seed,
UniKL (in the model's vocabulary, beside as many real validation sentences), entropy and length of
`--num_samples` greedy prior samples, as `evaluate` measures them (`arae_tf.evaluation.checkpoints`).
With `--min_bleu` / `--max_unikl`, the checkpoint of highest BLEU within both bounds (mean in-vocabulary
UniKL over the seeds) is named. Fix the rule before the sweep, then run `evaluate` once on the chosen
checkpoint and `make_preset`. Rows are cached in `<workdir>/checkpoint_sweep/`, so repeating the
command while training goes on measures only the new checkpoints (training keeps the newest
`train.keep_checkpoints`). Prints a Markdown table (also written to `--out`) whose last line is the
command that made it.
"""

from absl import app, flags

from arae_tf import cli

flags.DEFINE_string("workdir", None, "Training workdir of a text model.")
flags.DEFINE_multi_integer("checkpoint", [], "Checkpoint step(s) to measure (default: every complete checkpoint).")
flags.DEFINE_list("seeds", ["1", "2"], "Distinct sampling seeds; each draws --num_samples prior samples "
                  "(decoding seed s x 100000 on).")
flags.DEFINE_integer("num_samples", 5000, "Prior samples per seed, at most 100000 (UniKL of as many as there are "
                     "validation sentences, beside those).")
flags.DEFINE_integer("max_len", 20, "Longest decoded sentence, in tokens.")
flags.DEFINE_float("min_bleu", None, "Choose only among checkpoints of at least this validation BLEU.")
flags.DEFINE_float("max_unikl", None, "Choose only among checkpoints of at most this mean in-vocabulary UniKL.")
flags.DEFINE_string("out", "", "Also write the Markdown table here.")
flags.mark_flags_as_required(["workdir"])
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    import sys

    from arae_tf.evaluation import checkpoints
    from arae_tf.preset_lib import command_line
    import os
    try:
        seeds = [int(s) for s in FLAGS.seeds]
    except ValueError:
        raise app.UsageError(f"--seeds must be integers, got {','.join(FLAGS.seeds)!r}") from None
    if FLAGS.out and not os.path.isdir(os.path.dirname(os.path.abspath(FLAGS.out))):
        raise app.UsageError(f"--out={FLAGS.out}: its folder does not exist")
    try:  # every setting and checkpoint checked before the first is measured
        checkpoints.plan(FLAGS.workdir, FLAGS.checkpoint, seeds, FLAGS.num_samples, FLAGS.max_len)
    except (FileNotFoundError, ValueError) as e:
        raise app.UsageError(f"{e} (--workdir, --checkpoint, --seeds, --num_samples, --max_len)") from None
    rows = checkpoints.sweep(FLAGS.workdir, FLAGS.checkpoint, seeds, FLAGS.num_samples, FLAGS.max_len)
    rule = []
    if FLAGS.min_bleu is not None:
        rule.append(f"validation BLEU >= {FLAGS.min_bleu:g}")
    if FLAGS.max_unikl is not None:
        rule.append(f"mean in-vocabulary UniKL <= {FLAGS.max_unikl:g}")
    chosen = checkpoints.choose(rows, FLAGS.min_bleu, FLAGS.max_unikl) if rule else None
    rule = ("the highest validation BLEU among checkpoints with " + " and ".join(rule)) if rule else ""
    text = checkpoints.sweep_table(rows, chosen, rule, command_line([sys.argv[0]] + sys.argv[1:]))
    print(text)
    if FLAGS.out:
        with open(FLAGS.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    cli.run(main)
