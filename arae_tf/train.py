"""Training binary.

    python -m arae_tf.train --config=configs/arae_yelp.py --workdir=/tmp/arae_yelp
    python -m arae_tf.train --config=configs/arae_yelp.py:smoke --workdir=/tmp/s --config.train.steps=10

Rerunning the same command resumes from the newest checkpoint in --workdir.
"""

import sys

from absl import app, flags
from ml_collections import config_flags

from arae_tf import cli

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Experiment config file (optionally `file.py:variant`).",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and the final model.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from arae_tf import train_lib
    from arae_tf.config_base import ConfigError
    from arae_tf.workdir import CheckpointError
    try:
        train_lib.train_and_evaluate(FLAGS.config, FLAGS.workdir)
    except (train_lib.TrainingDiverged, ConfigError, CheckpointError) as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    cli.run(main)
