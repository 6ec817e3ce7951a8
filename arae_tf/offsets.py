"""Latent offset vectors (ARAE Fig. 5): the mean code of sentences with a word minus those without,
added to sentences without it; how often the word then appears and how many other words stay.

    python -m arae_tf.offsets --model=wae_snli --word=dog --word=sleeping --scale=1 --scale=2 \\
        --n=1000 --out=docs/offsets_wae_snli.md

The corpus is the model's held-out data (`--split=test`, or `valid`), read from the paths its
training config records (`--data_dir` to look elsewhere).
"""

from absl import app, flags

from arae_tf import cli

flags.DEFINE_string("model", None, "A zoo preset name or preset directory.")
flags.DEFINE_string("workdir", None, "A training workdir (instead of --model).")
flags.DEFINE_multi_string("word", None, "Attribute word(s): one offset vector each.")
flags.DEFINE_multi_float("scale", [1.0], "Multiples of the offset added to each code.")
flags.DEFINE_integer("n", 1000, "Sentences with / without the word for the offset, and sentences shifted.")
flags.DEFINE_enum("split", "test", ["test", "valid"], "The corpus the sentences come from.")
flags.DEFINE_string("data_dir", "", "With --model: directory of the data files the preset was trained on.")
flags.DEFINE_string("out", "", "Write the Markdown table here (else print it).")
flags.DEFINE_integer("seed", 0, "Seed of the sentence draws.")
flags.mark_flags_as_required(["word"])
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if bool(FLAGS.model) == bool(FLAGS.workdir):
        raise app.UsageError("pass exactly one of --model=NAME and --workdir=DIR")
    from arae_tf import arithmetic
    from arae_tf.prior_lib import load_source
    model, _, config = load_source(FLAGS.model, FLAGS.workdir, FLAGS.data_dir)
    corpus = arithmetic.corpus_sentences(config, FLAGS.split)
    text = arithmetic.offset_table(model, corpus, FLAGS.word, FLAGS.scale, FLAGS.n, seed=FLAGS.seed)
    if FLAGS.out:
        with open(FLAGS.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    cli.run(main)
