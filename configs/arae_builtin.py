"""ARAE on the built-in synthetic corpus: no data needed; the README's demo and the tests' learning check.

A small model (embed 32, hidden/code 64) trained with Adam for ~1,500 iterations
reconstructs the template sentences and samples grammatical ones.

    python -m arae_tf.train --config=configs/arae_builtin.py --workdir=/tmp/arae_builtin
"""

from arae_tf.config_base import apply_variant, base_config, set_model


def get_config(arg=None):
    c = base_config()
    set_model(c, "arae")
    c.data.source = "builtin"
    c.data.num_classes = 2
    c.data.builtin_train_size = 20000
    c.data.max_len = 12
    c.data.batch_size = 64
    c.backbone.embed_dim = 32
    c.backbone.hidden_dim = c.backbone.latent_dim = 64
    c.arae.noise_dim = 16
    c.arae.generator_hidden = c.arae.critic_hidden = (64, 64)
    c.optim.ae_optimizer = "adam"
    c.optim.ae_lr = 3e-3
    c.train.steps = 1500
    c.train.log_every = 100
    c.train.eval_every = 500
    c.eval.bleu_sentences = 200
    c.eval.num_samples = 10
    c.eval.decode_max_len = 12
    return apply_variant(c, arg)
