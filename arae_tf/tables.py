r"""Re-measured paper tables: our evaluations side by side with the papers' numbers (SPEC 4).

Reads `<workdir>/eval/metrics.json` written by `python -m arae_tf.evaluate` and writes Markdown:

    python -m arae_tf.tables --table=wae_snli --out=docs/wae_table.md \
        --row="DAE=workdirs/snli/dae" --row="VAE (KL-annealed)=workdirs/snli/vae" ...

    python -m arae_tf.tables --table=wae_dialog --row="DED=workdirs/dialog/ded" ...

    python -m arae_tf.tables --table=arae_snli --out=docs/arae_snli_table1.md \
        --row="ARAE samples=workdirs/arae_snli" --row="AE samples=workdirs/ae_snli/eval-gaussian_fit"
        (ARAE Table 1: the "Real data" and "LM samples" rows are measured like the first row's report)

    python -m arae_tf.tables --table=arae_yelp --out=docs/arae_yelp_table3.md \
        --row="AE=workdirs/ae_yelp_full" --row="ARAE, λ₁ = 1=workdirs/arae_yelp_66k_prior" ...
        (ARAE Table 3: transfer accuracy, self-BLEU, forward and reverse PPL of the transfers)

    python -m arae_tf.tables --sigma_row="WAE-S λ_KL=0=workdirs/snli/wae_s0" --sigma_png=docs/sigma.png

Row names must be the papers' row names (listed by `--table` errors) so the paper's numbers can
be put beside them.
"""

import sys

from absl import app, flags

from arae_tf import cli

FLAGS = flags.FLAGS
# The keys of paper_tables.TABLES (not imported here: the evaluation package imports TensorFlow).
flags.DEFINE_enum("table", "wae_snli", ["arae_snli", "arae_yelp", "wae_dialog", "wae_snli"], "Which paper table.")
flags.DEFINE_multi_string("row", [], "`paper row name=workdir` (or `=workdir/eval-<step>` for a checkpoint's report), in table order.")
flags.DEFINE_string("out", "", "Markdown file to write (default: print).")
flags.DEFINE_multi_string("sigma_row", [], "`name=workdir` of a Gaussian-encoder model for the sigma histogram.")
flags.DEFINE_string("sigma_png", "", "With --sigma_row: the PNG to write.")


def _pairs(specs, flag):
    out = []
    for spec in specs:
        if "=" not in spec:
            raise app.UsageError(f"--{flag}={spec!r}: expected 'name=workdir'")
        out.append(tuple(spec.rsplit("=", 1)))  # row names may hold "=" (λ=3), paths do not
    return out


def main(argv):
    del argv
    if FLAGS.sigma_row and not FLAGS.sigma_png:
        raise app.UsageError("--sigma_row needs --sigma_png")
    sigma_rows, rows = _pairs(FLAGS.sigma_row, "sigma_row"), _pairs(FLAGS.row, "row")
    if not rows and not sigma_rows:
        raise app.UsageError("give at least one --row")
    from arae_tf.evaluation import paper_tables
    if sigma_rows:
        print("median sigma:", paper_tables.sigma_histogram(sigma_rows, FLAGS.sigma_png))
    if rows:
        print(paper_tables.write_table(FLAGS.table, rows, FLAGS.out, sys.argv[1:]))


if __name__ == "__main__":
    cli.run(main)
