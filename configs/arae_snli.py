"""ARAE on the SNLI-style corpus (../shared/data/snli), the paper's SNLI generation setting
scaled to this machine: max length 15 words, vocabulary 10k, code 128, noise 100 -> 300-300
generator and 300-300 critic (the paper's SNLI MLP sizes), lambda_1 0.01 with WGAN-GP.

    python -m arae_tf.train --config=configs/arae_snli.py --workdir=/tmp/arae_snli
"""

from arae_tf.config_base import apply_variant, base_config, set_model, shared_data_dir, use_files


def get_config(arg=None):
    c = base_config()
    set_model(c, "arae")
    use_files(c, shared_data_dir(__file__, "snli"), ["train.txt"], ["valid.txt"], num_classes=1)
    c.data.max_len = 15
    c.data.vocab_size = 10000
    c.data.min_count = 5
    c.arae.noise_dim = 100
    c.arae.generator_hidden = (300, 300)
    c.arae.critic_hidden = (300, 300)
    c.train.epochs = 1.0
    return apply_variant(c, arg)
