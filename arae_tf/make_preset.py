"""Turns a training workdir into a zoo preset (`zoo/<name>/`), with a model card.

    python -m arae_tf.make_preset --workdir=workdirs/arae_yelp_transfer --name=arae_yelp \\
        --description="ARAE sentiment transfer on Yelp" [--compare=workdirs/ae_yelp_transfer]

Weights are stored as float16 (`--dtype=float32` to keep them exact; `--dtype=int8` stores the
vocabulary-sized matrices as int8 with a scale per word, for presets that must stay small). The card records the
training command and config (from the workdir), the evaluation numbers found in
`<workdir>/eval/metrics.json` (run `python -m arae_tf.evaluate` first) and, with `--compare`,
a side-by-side table against another evaluated workdir. `--transfer_decoding` gives a transfer
model the decoding its `transfer` uses by default (evaluate it first with the same flag).
"""

from absl import app, flags

from arae_tf import cli

flags.DEFINE_string("workdir", None, "Training workdir.")
flags.DEFINE_integer("checkpoint", 0, "Step of the checkpoint to publish (default: final/ weights or the "
                     "newest checkpoint); its evaluation is read from <workdir>/eval-<step>/.")
flags.DEFINE_string("name", None, "Preset name (directory under --zoo_dir).")
flags.DEFINE_string("description", None, "One line for zoo.list() and the card's first paragraph (required).")
flags.DEFINE_string("zoo_dir", None, "Where presets live (default: the repository's zoo/).")
flags.DEFINE_enum("dtype", "float16", ["float16", "float32", "int8"],
                  "Weight storage: float16, float32 (exact) or int8 (the embeddings and output layer as int8 "
                  "with a float32 scale per word, the rest float16).")
flags.DEFINE_string("transfer_decoding", "", "Transfer models: the decoding `transfer` uses by default in the preset "
                    "(and its SavedModel), e.g. 'method=beam,beam_size=4,length_penalty=1,contrast=0.1'; the card's "
                    "evaluation is then read from the matching eval[-<step>]-<options>/ (evaluate --transfer_decoding).")
flags.DEFINE_multi_string("compare", [], "Other evaluated workdirs for the card's comparison table.")
flags.DEFINE_string("notes", "", "A Markdown file appended to the card (measured curves, caveats).")
flags.DEFINE_bool("code_fit", False, "Text models: also store a Gaussian fitted to the codes of the training sentences "
                  "(code_fit.npz), which m.sample(n, prior='gaussian_fit') and the SavedModel's sample_gaussian_fit draw "
                  "from; about a minute per 100k sentences on 2 cores.")
flags.DEFINE_string("paper_row", "", "WAE-family presets: the stochastic-WAE paper's table row to put the evaluation "
                    "beside (e.g. 'WAE-S λ_KL=0.01' for SNLI Table 1, 'WED-S' for DailyDialog Table 2).")
flags.mark_flags_as_required(["workdir", "name", "description"])
flags.register_validator("description", lambda v: v is None or bool(v.strip()),  # None: absl's "required"
                         message="--description must say in one line what the preset is (zoo.list() and the "
                         "model card's first line show it)")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from arae_tf import preset_lib
    source = preset_lib.load_source(FLAGS.workdir, FLAGS.checkpoint)
    if FLAGS.code_fit and source.kind == "images":
        raise app.UsageError("--code_fit is for text models; an image AE's Gaussian fit of its codes is its own prior")
    rows = preset_lib.paper_rows(source.kind)
    if FLAGS.paper_row and FLAGS.paper_row not in rows:
        raise app.UsageError(f"--paper_row={FLAGS.paper_row!r} is not a row of the WAE paper tables for a "
                             f"{source.kind} model; its table's rows: {rows}")
    try:
        preset_lib.write_preset(source, FLAGS.name, description=FLAGS.description, zoo_dir=FLAGS.zoo_dir,
                                dtype=FLAGS.dtype, compare=FLAGS.compare, notes_file=FLAGS.notes,
                                paper_row=FLAGS.paper_row, transfer_decoding=FLAGS.transfer_decoding,
                                code_fit=FLAGS.code_fit)
    except preset_lib.TransferDecodingError as e:
        raise app.UsageError(str(e)) from None


if __name__ == "__main__":
    cli.run(main)
