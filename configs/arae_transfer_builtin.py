"""ARAE transfer (Algorithm 2) on the built-in corpus with three attribute classes.

The class of any output sentence is known exactly (`synthetic.label_of`), so the
transfer accuracy is measured without a trained classifier. A small model
(embed 32, hidden/code 64), Adam 3e-3 for the autoencoder.

    python -m arae_tf.train --config=configs/arae_transfer_builtin.py --workdir=/tmp/transfer_builtin
"""

from arae_tf.config_base import apply_variant, base_config


def get_config(arg=None):
    c = base_config()
    c.model = "arae_transfer"
    c.data.source = "builtin"
    c.data.num_classes = 3
    c.data.builtin_train_size = 30000
    c.data.max_len = 12
    c.data.batch_size = 64
    c.backbone.embed_dim = 32
    c.backbone.hidden_dim = c.backbone.latent_dim = 64
    c.arae.noise_dim = 16
    c.arae.generator_hidden = c.arae.critic_hidden = (64, 64)
    c.transfer.classifier_hidden = (64, 64)
    c.optim.ae_optimizer = "adam"
    c.optim.ae_lr = 3e-3
    c.optim.encoder_adv_optimizer = "sgd"
    c.optim.classifier_lr = 1e-3
    c.train.steps = 1500
    c.train.log_every = 100
    c.train.eval_every = 500
    c.eval.bleu_sentences = 300
    c.eval.num_samples = 10
    c.eval.decode_max_len = 12
    return apply_variant(c, arg)
