"""Transfer decoding sweep on the VALIDATION split: transfer accuracy and self-BLEU of a transfer
model's checkpoints under beam search and contrast, to choose the decoding (and checkpoint) without
looking at the test split.

    python -m arae_tf.transfer_sweep --workdir=workdirs/arae_yelp_full --checkpoint=58000 --checkpoint=66000 \\
        --contrast=0,0.05,0.1,0.15,0.2 --method=beam --beam_size=4 --length_penalty=1 \\
        --sentences=2000 --cache_dir=workdirs/eval_cache/yelp --out=docs/arae_yelp_decoding_sweep.md

Each validation sentence goes to the next class ((y + 1) mod C), decoded by every (checkpoint, β)
pair; accuracy is the fastText classifier's (the one `evaluate` trains on the training split, cached
in `--cache_dir`), self-BLEU is against the sources. The sentences are `--sentences` drawn from the
validation split with `--seed` (all of it if fewer). Prints a Markdown table (and writes it to
`--out`) whose last line is the command that made it. Pick by a rule fixed before any test
evaluation, then `evaluate --transfer_decoding=...` and `make_preset --transfer_decoding=...`.
"""

from absl import app, flags

from arae_tf import cli

flags.DEFINE_string("workdir", None, "Training workdir of a transfer model (one decoder per class).")
flags.DEFINE_multi_integer("checkpoint", [0], "Checkpoint step(s) to sweep (0: final/ weights or the newest).")
flags.DEFINE_list("contrast", ["0"], "Contrast values β in [0, 1] (0: plain decoding).")
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


def decodings(method, beam_size, length_penalty, contrasts):
    """The decoding options of every β in `contrasts` (strings or numbers), checked: ValueError names
    the bad value."""
    out = []
    for c in contrasts:
        try:
            beta = float(c)
        except ValueError:
            raise ValueError(f"--contrast: {c!r} is not a number") from None
        if not 0 <= beta <= 1:
            raise ValueError(f"--contrast: {beta:g} is not in [0, 1]")
        options = {"method": method, "contrast": beta}
        if method == "beam":
            options.update(beam_size=beam_size, length_penalty=length_penalty)
        out.append(options)
    return out


def sweep(workdir, checkpoints, options, sentences=2000, seed=0, max_len=20, cache_dir="", log=print):
    """[(checkpoint, options, scores)] on `sentences` validation sentences of `workdir`'s data; scores
    as `evaluation.transfer.transfer_scores` plus "avg_len"."""
    import os

    import numpy as np

    from arae_tf.data.sources import load_examples
    from arae_tf.evaluation.transfer import _transfer_texts, transfer_scores
    from arae_tf.metrics import classifier as classifier_lib
    from arae_tf.workdir import load_trained

    results = []
    clf = valid = None
    for step in checkpoints:
        model, vocab, config = load_trained(workdir, step)
        if model.decoder_classes < 2:
            raise ValueError(f"{workdir} holds a model with one decoder; the sweep is for transfer models")
        if valid is None:
            valid = load_examples(config.data, "valid")
            if len(valid) > sentences:
                pick = np.random.default_rng(seed).choice(len(valid), sentences, replace=False)
                valid = [valid[i] for i in sorted(pick)]
            clf = classifier_lib.cached_classifier(os.path.join(cache_dir or os.path.join(workdir, "eval", "cache"),
                                                                "fasttext"), load_examples(config.data, "train"))
        for opts in options:
            src, to, out = _transfer_texts(model, valid, max_len, decoding=opts)
            scores = transfer_scores(src, out, to, model.decoder_classes, clf)
            scores["avg_len"] = float(np.mean([len(o.split()) for o in out]))
            log(f"[sweep] checkpoint {step or 'final'} {opts}: transfer {scores['accuracy']:.3f}, "
                f"self-BLEU {scores['self_bleu']:.2f}")
            results.append((step, opts, scores))
    return results, len(valid)


def table(results, n, command):
    lines = ["| checkpoint | decoding | β | transfer acc | self-BLEU | avg length |", "|---|---|---|---|---|---|"]
    for step, opts, s in results:
        how = f"beam {opts['beam_size']}, lp {opts['length_penalty']:g}" if opts["method"] == "beam" else "greedy"
        lines.append(f"| {step or 'final'} | {how} | {opts['contrast']:g} | {100 * s['accuracy']:.1f}% | "
                     f"{s['self_bleu']:.2f} | {s['avg_len']:.1f} |")
    lines += ["", f"{n:,} validation sentences, each to the next class; fastText accuracy, self-BLEU against the "
              "sources.", "", f"Generated by: `{command}`", ""]
    return "\n".join(lines)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    import sys

    from arae_tf.preset_lib import command_line
    try:
        options = decodings(FLAGS.method, FLAGS.beam_size, FLAGS.length_penalty, FLAGS.contrast)
    except ValueError as e:
        raise app.UsageError(str(e)) from None
    results, n = sweep(FLAGS.workdir, FLAGS.checkpoint, options, FLAGS.sentences, FLAGS.seed, FLAGS.max_len,
                       FLAGS.cache_dir)
    text = table(results, n, command_line([sys.argv[0]] + sys.argv[1:]))
    print(text)
    if FLAGS.out:
        with open(FLAGS.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    cli.run(main)
