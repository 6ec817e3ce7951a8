"""Gives an existing text preset a Gaussian fit of its training codes, for sampling from it.

    python -m arae_tf.add_code_fit --model=wae_snli
    python -m arae_tf.add_code_fit --model=path/to/preset --data_dir=/elsewhere/snli

Encodes every sentence of the preset's training files (the paths its metadata records; `--data_dir`
where the corpus lives elsewhere), fits a full-covariance Gaussian to the codes and writes it into
the preset as `code_fit.npz`, with a "code_fit" record in metadata.json and a section in the model
card; the manifest is rewritten and the weights are left as they are. Then
`zoo.load(name).sample(n, prior="gaussian_fit")` and the SavedModel's `sample_gaussian_fit`
signature draw from it. Why: a WAE's codes fill N(0, I) unevenly, and samples from where the codes
are read more like real text (docs/wae_snli_card_notes.md). New presets get the same with
`python -m arae_tf.make_preset ... --code_fit`. The preset is rewritten in a sibling folder and
swapped in, so an interrupted run leaves it as it was.
"""

from absl import app, flags

from arae_tf import cli

flags.DEFINE_string("model", None, "A zoo preset name (arae_tf.zoo.list()) or preset directory; rewritten in place.")
flags.DEFINE_string("data_dir", "", "Directory holding the preset's training files, where they are not at the "
                    "recorded paths.")
flags.mark_flag_as_required("model")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from arae_tf import preset_lib
    command = f"python -m arae_tf.add_code_fit --model={FLAGS.model}"
    path, record = preset_lib.add_code_fit(FLAGS.model, data_dir=FLAGS.data_dir, command=command)
    print(f"[add_code_fit] {path}: Gaussian fit of {record['codes']:,} training codes (trace of the covariance "
          f"{record['trace_cov']:.1f}, N(0, I)'s {record['latent_dim']}) in {record['seconds']:.0f}s")


if __name__ == "__main__":
    cli.run(main)
