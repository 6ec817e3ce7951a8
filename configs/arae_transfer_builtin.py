"""ARAE transfer (Algorithm 2) on the built-in corpus with three attribute classes.

The class of any output sentence is known exactly (`synthetic.label_of`), so the
transfer accuracy is measured without a trained classifier. The small model of
`arae_builtin.py` with a 64-64 latent classifier, SGD for the adversarial encoder steps.

    python -m arae_tf.train --config=configs/arae_transfer_builtin.py --workdir=/tmp/transfer_builtin
"""

from arae_tf.config_base import apply_variant, set_model
from arae_tf.configs import arae_builtin


def get_config(arg=None):
    c = arae_builtin.get_config()
    set_model(c, "arae_transfer")
    c.data.num_classes = 3
    c.data.builtin_train_size = 30000
    c.transfer.classifier_hidden = (64, 64)
    c.optim.encoder_adv_optimizer = "sgd"
    c.optim.classifier_lr = 1e-3
    c.eval.bleu_sentences = 300
    return apply_variant(c, arg)
