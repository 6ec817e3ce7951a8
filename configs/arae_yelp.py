"""ARAE (Algorithm 1) on Yelp sentences, both sentiment classes pooled.

Settings of the reference Yelp code (../shared/PEER.md): emsize/nhidden 128,
batch 64, 5 critic steps with WGAN-GP lambda 0.1, lambda_1 0.01, Adam 1e-4 (beta_1 0.5)
for the GAN, code noise 0.1 annealed x0.9995 every 100 iterations; the autoencoder uses
Adam 1e-3 (clip 1) instead of the paper's SGD lr 1 (see below). One pass over the data.

    python -m arae_tf.train --config=configs/arae_yelp.py --workdir=/tmp/arae_yelp
    python -m arae_tf.train --config=configs/arae_yelp.py:smoke --workdir=/tmp/smoke
"""

from arae_tf.config_base import apply_variant, base_config, set_model, use_yelp


def get_config(arg=None):
    c = base_config()
    set_model(c, "arae")
    use_yelp(c, __file__)
    return apply_variant(c, arg)
