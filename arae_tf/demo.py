"""The README's main command: the pretrained `arae_yelp` zoo model in action.

    python -m arae_tf.demo                       # zoo model: transfer both ways, samples, interpolation
    python -m arae_tf.demo --model=<preset>      # another preset
    python -m arae_tf.demo --builtin [--steps=N] # train a small ARAE on the built-in corpus instead

No data and no network needed: the preset ships in `zoo/`, and the built-in corpus is
generated from a seed (`arae_tf.data.synthetic`).
"""

from absl import flags

from arae_tf import cli

flags.DEFINE_string("model", "arae_yelp", "Zoo preset to show.")
flags.DEFINE_bool("builtin", False, "Train a small ARAE on the built-in corpus instead of loading a preset.")
flags.DEFINE_string("workdir", None, "--builtin: where to train (default: a new temporary directory).")
flags.DEFINE_integer("steps", 1500, "--builtin: training iterations.")
FLAGS = flags.FLAGS


def main(argv):
    from arae_tf import demo_lib
    if not FLAGS.builtin:
        return demo_lib.zoo_demo(FLAGS.model)
    demo_lib.builtin_demo(FLAGS.workdir, FLAGS.steps)


if __name__ == "__main__":
    cli.run(main)
