"""Fits an ARAE's learned prior again on its frozen encoder's codes, with a critic without BatchNorm.

    python -m arae_tf.fit_prior --preset=arae_yelp --workdir=workdirs/arae_yelp_prior
    python -m arae_tf.fit_prior --source=workdirs/arae_yelp_warm28 --workdir=workdirs/arae_yelp_prior

Why: a critic with BatchNorm, called on the real and the fake batch separately (the reference code's
critic, and ours until session 10), normalises each batch with its own statistics, so it cannot see
a difference of scale or spread between them. The generator then collapses (Yelp: ||z~|| 0.48
against ||z|| = 1, 7-11% distinct samples of 2-3 words). This binary keeps every weight of the
source model except the critic, which it rebuilds without BatchNorm (`arae.critic_batchnorm=False`,
now the default), and trains critic and generator (`ARAE.fit_prior`) on the codes of the training
sentences; the encoder and decoders, so reconstruction and transfer, do not change. The output is
a workdir (config.json, vocabulary.txt, final/) for `python -m arae_tf.evaluate` and
`python -m arae_tf.make_preset`.
"""


from absl import app, flags

from arae_tf import cli

flags.DEFINE_string("preset", None, "Source: a zoo preset name or directory.")
flags.DEFINE_string("source", None, "Source: a training workdir (its final/ weights or newest checkpoint).")
flags.DEFINE_string("workdir", None, "Output workdir (must not hold a model yet).")
flags.DEFINE_integer("iterations", 4000, "Generator updates (each after `arae.critic_steps` critic updates).")
flags.DEFINE_integer("batch_size", 128, "Codes per critic or generator batch.")
flags.DEFINE_float("gp_weight", None, "WGAN-GP weight (default: the source's).")
flags.DEFINE_bool("generator_normalize", False, "Put the generator's output on the unit sphere.")
flags.DEFINE_integer("seed", 0, "Seed of the code batches and the new critic.")
flags.DEFINE_bool("fresh_generator", False, "Start the generator afresh too (implied by --noise_dim or "
                  "--generator_hidden differing from the source's).")
flags.DEFINE_integer("noise_dim", None, "The generator's noise size (default: the source's; another size starts a "
                     "fresh generator).")
flags.DEFINE_list("generator_hidden", None, "The generator's hidden widths, e.g. 256,256 (default: the source's; "
                  "other widths start a fresh generator).")
flags.mark_flags_as_required(["workdir"])
flags.mark_flags_as_mutual_exclusive(["preset", "source"], required=True)
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from arae_tf import prior_lib
    hidden = None
    if FLAGS.generator_hidden is not None:
        try:
            hidden = tuple(int(u) for u in FLAGS.generator_hidden)
        except ValueError:
            raise app.UsageError(f"--generator_hidden={','.join(FLAGS.generator_hidden)}: give positive integers, "
                                 "e.g. 256,256") from None
    try:
        prior_lib.check_generator_sizes(FLAGS.noise_dim, hidden)  # before the source is loaded
    except ValueError:
        raise app.UsageError("--noise_dim and --generator_hidden must be positive") from None
    prior_lib.refit_prior_to_workdir(FLAGS.preset, FLAGS.source, FLAGS.workdir, FLAGS.iterations, FLAGS.batch_size,
                                     FLAGS.gp_weight, FLAGS.generator_normalize, FLAGS.seed, FLAGS.fresh_generator,
                                     FLAGS.noise_dim, hidden)


if __name__ == "__main__":
    cli.run(main)
