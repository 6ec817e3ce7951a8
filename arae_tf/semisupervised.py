"""Semi-supervised NLI on top of trained encoders (ARAE Table 5; `arae_tf.nli`).

    python -m arae_tf.semisupervised --workdir=AE=workdirs/ae_snli --workdir=ARAE=workdirs/arae_snli \\
        --sizes=1000,2500,5000 --repeats=3 --out=docs/semisupervised_snli.md

Each `--workdir=NAME=DIR` adds a row "semi-supervised NAME" starting from that model's encoder; a row
with the same encoder architecture from scratch is always added. Every model must share one
vocabulary (train them from one config family, e.g. configs/arae_snli.py and its `ae` variant).
The labelled pool and test pairs default to `../shared/data/snli_nli/{train,test}.tsv` beside the
models' data; the models' training data should leave the test pairs' sentences out
(`data.train_exclude_files`, as configs/arae_snli.py does).
"""

import sys

from absl import app, flags

from arae_tf import cli

flags.DEFINE_multi_string("workdir", None, "NAME=DIR: a trained workdir whose encoder starts a row.")
flags.DEFINE_list("sizes", ["1000", "2500", "5000"], "Labelled training pairs per classifier.")
flags.DEFINE_string("pool", "", "Labelled pool (premise TAB hypothesis TAB label); default snli_nli/train.tsv.")
flags.DEFINE_string("test", "", "Labelled test pairs; default snli_nli/test.tsv.")
flags.DEFINE_integer("epochs", 12, "Epochs per classifier (the best on validation is kept).")
flags.DEFINE_integer("valid_pairs", 1000, "Pool pairs held out for the epoch choice.")
flags.DEFINE_integer("seed", 0, "Seed of the pool shuffle, initialisations and dropout.")
flags.DEFINE_integer("repeats", 1, "Seeds seed, seed + 1, ...: each cell is the mean over them, with its "
                     "standard deviation (each seed draws another labelled subset).", lower_bound=1)
flags.DEFINE_string("out", "", "Write the Markdown table here (and the numbers to OUT.json).")
flags.mark_flags_as_required(["workdir"])
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    named = []
    for spec in FLAGS.workdir:
        if "=" not in spec:
            raise app.UsageError(f"--workdir={spec!r}: expected NAME=DIR (e.g. ARAE=workdirs/arae_snli)")
        named.append(tuple(spec.split("=", 1)))
    try:
        sizes = tuple(int(s) for s in FLAGS.sizes)
    except ValueError:
        raise app.UsageError(f"--sizes={','.join(FLAGS.sizes)!r}: expected integers") from None
    import json

    from arae_tf import nli
    from arae_tf.evaluation import load_trained
    import os
    names = [n for n, _ in named]
    if len(set(names)) != len(names):
        raise app.UsageError(f"--workdir names must differ, got {names}")
    encoders, vocab, config = {}, None, None
    test_file = None
    for name, workdir in named:
        model, v, c = load_trained(workdir)
        test_file = test_file or os.path.realpath(FLAGS.test or nli.default_pairs(c, "test"))
        excluded = {os.path.realpath(f) for f in c.data.get("train_exclude_files", ())}
        if test_file not in excluded:
            raise app.UsageError(f"{workdir} was trained without leaving out the test pairs' sentences "
                                 f"(its data.train_exclude_files does not hold {test_file}): its encoder has seen them")
        if vocab is not None and v.digest() != vocab.digest():
            raise app.UsageError(f"{workdir} has another vocabulary than {named[0][1]}: the rows must share one")
        vocab, config = vocab or v, config or c
        encoders[f"semi-supervised {name}"] = model.backbone
    pool = nli.read_pairs(FLAGS.pool or nli.default_pairs(config, "train"))
    test = nli.read_pairs(FLAGS.test or nli.default_pairs(config, "test"))
    settings = nli.Settings(epochs=FLAGS.epochs, valid_pairs=FLAGS.valid_pairs, seed=FLAGS.seed)
    result = nli.repeated_table(encoders, vocab, pool, test, sizes, settings, repeats=FLAGS.repeats)
    from arae_tf.preset_lib import command_line, portable_path
    result["workdirs"] = {n: portable_path(os.path.abspath(d)) for n, d in named}
    result["command"] = command_line(sys.argv)
    text = nli.markdown(result)
    if FLAGS.out:
        with open(FLAGS.out, "w") as f:
            f.write(text)
        with open(FLAGS.out + ".json", "w") as f:
            json.dump(result, f, indent=2)
    print(text)


if __name__ == "__main__":
    cli.run(main)
