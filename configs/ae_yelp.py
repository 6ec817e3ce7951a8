"""The AE baseline on Yelp: the ARAE Yelp settings (same backbone, optimizer, code noise,
data and budget) with reconstruction only. Samples come from a Gaussian fitted to training codes.

    python -m arae_tf.train --config=configs/ae_yelp.py --workdir=/tmp/ae_yelp
"""

from arae_tf.config_base import apply_variant, base_config, set_model, use_yelp


def get_config(arg=None):
    c = base_config()
    set_model(c, "ae")
    use_yelp(c, __file__)
    return apply_variant(c, arg)
