"""Fits an ARAE's learned prior again on its frozen encoder's codes, with a critic without BatchNorm.

    python -m arae_tf.fit_prior --preset=arae_yelp --workdir=workdirs/arae_yelp_prior
    python -m arae_tf.fit_prior --source=workdirs/arae_yelp_warm28 --workdir=workdirs/arae_yelp_prior
    python -m arae_tf.fit_prior --preset=arae_yelp --workdir=workdirs/arae_yelp_prior_skip \
        --noise_dim=128 --generator_skip --moment_init --critic_warmup=500 --generator_lr=1e-5 --batch_size=2048

Why: a critic with BatchNorm, called on the real and the fake batch separately (the reference code's
critic, and ours until session 10), normalises each batch with its own statistics, so it cannot see
a difference of scale or spread between them. The generator then collapses (Yelp: ||z~|| 0.48
against ||z|| = 1, 7-11% distinct samples of 2-3 words). This binary keeps every weight of the
source model except the critic, which it rebuilds without BatchNorm (`arae.critic_batchnorm=False`,
now the default), and trains critic and generator (`ARAE.fit_prior`) on the codes of the training
sentences; the encoder and decoders, so reconstruction and transfer, do not change. The output is
a workdir (config.json, vocabulary.txt, final/) for `python -m arae_tf.evaluate` and
`python -m arae_tf.make_preset`.

A generator of 32 noise dimensions puts its samples on an at most 32-dimensional surface, while the
codes need about 64-96 dimensions (on Yelp the top 32 principal directions hold 72% of their
variance). `--generator_skip` adds a linear path from noise to code; with `--noise_dim` at the code
size and `--moment_init` the generator starts at the codes' Gaussian fit and adversarial training
refines it (docs/arae_prior.md, "Session 18").
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
flags.DEFINE_bool("generator_skip", None, "A linear path from noise to code beside the generator's MLP (default: "
                  "the source's; another setting starts a fresh generator).")
flags.DEFINE_bool("moment_init", False, "Start the generator at the Gaussian fit of the training codes (needs "
                  "--generator_skip and noise_dim >= the code size), then train it adversarially.")
flags.DEFINE_integer("critic_warmup", 0, "Critic updates alone (in iterations of arae.critic_steps) before the "
                     "first generator update.")
flags.DEFINE_float("generator_lr", None, "The generator's Adam rate (default: the source's optim.gan_lr).")
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
        prior_lib.check_refit_schedule(FLAGS.critic_warmup, FLAGS.generator_lr)  # before the source is loaded
    except ValueError as e:
        raise app.UsageError(str(e)) from None
    try:
        prior_lib.check_generator_sizes(FLAGS.noise_dim, hidden)
    except ValueError:
        raise app.UsageError("--noise_dim and --generator_hidden must be positive") from None
    prior_lib.refit_prior_to_workdir(FLAGS.preset, FLAGS.source, FLAGS.workdir, FLAGS.iterations, FLAGS.batch_size,
                                     FLAGS.gp_weight, FLAGS.generator_normalize, FLAGS.seed, FLAGS.fresh_generator,
                                     FLAGS.noise_dim, hidden, FLAGS.generator_skip, FLAGS.moment_init,
                                     FLAGS.critic_warmup, FLAGS.generator_lr)


if __name__ == "__main__":
    cli.run(main)
