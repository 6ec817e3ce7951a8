"""The WAE family on the built-in synthetic corpus: no data needed; the tests' learning checks.

The ARAE built-in model's size (embed 32, hidden 64, latent 16 here), Adam 3e-3, 1,000 iterations.

    python -m arae_tf.train --config=configs/wae_builtin.py --workdir=/tmp/wae_builtin           # WAE-D, lambda 3
    python -m arae_tf.train --config=configs/wae_builtin.py:wae_s,0.01 --workdir=/tmp/waes       # WAE-S, lambda_KL 0.01
    python -m arae_tf.train --config=configs/wae_builtin.py:vae --workdir=/tmp/vae_builtin
    python -m arae_tf.train --config=configs/wae_builtin.py:dae --workdir=/tmp/dae_builtin

Variants (`:name[,value]`): `wae_d[,lambda]`, `wae_s[,lambda_KL]`, `vae`, `vae_const[,lambda]`, `dae`.
"""

from arae_tf.config_base import base_config, set_model, wae_family_variant


def get_config(arg=None):
    c = base_config()
    set_model(c, "wae")
    c.data.source = "builtin"
    c.data.num_classes = 1
    c.data.builtin_train_size = 20000
    c.data.max_len = 12
    c.backbone.embed_dim = 32
    c.backbone.hidden_dim = 64
    c.backbone.latent_dim = 16
    c.backbone.normalize_code = False
    c.optim.ae_optimizer = "adam"
    c.optim.ae_lr = 3e-3
    c.vae.anneal_midpoint = 300
    c.vae.anneal_rate = 0.02
    c.vae.anneal_check_every = 100
    c.train.steps = 1000
    c.train.eval_every = 500
    c.eval.bleu_sentences = 200
    c.eval.num_samples = 10
    c.eval.decode_max_len = 12
    return wae_family_variant(c, arg)
