"""Transfer decoding sweep on the VALIDATION split: transfer accuracy and self-BLEU of a transfer
model's checkpoints under beam search and contrast, to choose the decoding (and checkpoint) without
looking at the test split.

    python -m arae_tf.transfer_sweep --workdir=workdirs/arae_yelp_full --checkpoint=58000 --checkpoint=66000 \\
        --contrast=0,0.05,0.1,0.15,0.2 --method=beam --beam_size=4 --length_penalty=1 \\
        --sentences=2000 --cache_dir=workdirs/eval_cache/yelp --out=docs/arae_yelp_decoding_sweep.md

Each validation sentence goes to the next class ((y + 1) mod C), decoded by every (checkpoint, β, γ)
triple (γ: `--cycle`, the weight of cycle-consistency reranking of the beam, `decoding.cycle_transfer_by_class`); accuracy is the fastText classifier's (the one `evaluate` trains on the training split, cached
in `--cache_dir`), self-BLEU is against the sources. The sentences are `--sentences` drawn from the
validation split with `--seed` (all of it if fewer). Values of γ share one beam search per
(checkpoint, β): its n-best lists are scored once and reranked for each γ, so a γ grid costs about one point. Prints a Markdown table (and writes it to
`--out`) whose last line is the command that made it. Pick by a rule fixed before any test
evaluation, then `evaluate --transfer_decoding=...` and `make_preset --transfer_decoding=...`.
"""

from absl import app, flags

from arae_tf import cli

flags.DEFINE_string("workdir", None, "Training workdir of a transfer model (one decoder per class).")
flags.DEFINE_multi_integer("checkpoint", [0], "Checkpoint step(s) to sweep (0: final/ weights or the newest).")
flags.DEFINE_list("contrast", ["0"], "Contrast values β in [0, 1] (0: plain decoding).")
flags.DEFINE_list("cycle", ["0"], "Cycle-reranking weights γ >= 0 (method beam; 0: the beam's own best), each "
                  "swept with every β.")
flags.DEFINE_enum("method", "beam", ["greedy", "beam"], "Decoding method.")
flags.DEFINE_integer("beam_size", 4, "Beams (method beam).")
flags.DEFINE_float("length_penalty", 1.0, "Beam scores divided by length**length_penalty (method beam).")
flags.DEFINE_integer("sentences", 2000, "Validation sentences (a seeded draw; all if fewer).")
flags.DEFINE_integer("seed", 0, "Seed of the draw.")
flags.DEFINE_integer("max_len", 20, "Longest decoded transfer, in tokens.")
flags.DEFINE_string("cache_dir", "", "Where the fastText classifier is cached (default <workdir>/eval/cache, as evaluate).")
flags.DEFINE_string("out", "", "Also write the Markdown table here.")
flags.mark_flags_as_required(["workdir"])
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    import sys

    from arae_tf.evaluation import transfer
    from arae_tf.preset_lib import command_line
    try:
        options = transfer.decoding_grid(FLAGS.method, FLAGS.beam_size, FLAGS.length_penalty, FLAGS.contrast,
                                         FLAGS.cycle)
    except ValueError as e:
        raise app.UsageError(str(e)) from None
    results, n = transfer.decoding_sweep(FLAGS.workdir, FLAGS.checkpoint, options, FLAGS.sentences, FLAGS.seed,
                                         FLAGS.max_len, FLAGS.cache_dir)
    text = transfer.sweep_table(results, n, command_line([sys.argv[0]] + sys.argv[1:]))
    print(text)
    if FLAGS.out:
        with open(FLAGS.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    cli.run(main)
