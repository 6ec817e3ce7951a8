"""ARAE transfer (Algorithm 2) on Yelp sentiment: the `arae_yelp` zoo model's recipe.

Two decoders (0 negative, 1 positive), latent classifier with lambda_2 = 1 ("wrong":
the encoder minimises -log(1 - p(y|z)), the paper's flipped-label loss for two classes),
critic with lambda_1 = 0.01 (the reference code's grad_lambda), Adam 1e-3 autoencoder,
code noise 0.05 annealed x0.995 every 100 iterations (the reference's 0.1 x0.9995 keeps the
decoder from using the code within a CPU budget: docs/results.md), 14,000 iterations of 64
(about 4.9 passes over the 184,661 training sentences).

    python -m arae_tf.train --config=configs/arae_yelp_transfer.py --workdir=workdirs/arae_yelp_transfer
    python -m arae_tf.train --config=configs/arae_yelp_transfer.py:ae --workdir=workdirs/ae_yelp_transfer

Variant `ae`: the AE baseline of ARAE Table 3 (same model and budget, lambda_1 = lambda_2 = 0:
two decoders, no adversarial regularization).
"""

from arae_tf.config_base import (apply_variant, base_config, set_model, split_variant,
                                   transfer_ae_baseline, use_yelp)


def get_config(arg=None):
    c = base_config()
    set_model(c, "arae_transfer")
    use_yelp(c, __file__)
    c.noise.code_noise = 0.05
    c.noise.anneal = 0.995
    c.transfer.class_weight = 1.0
    c.train.steps = 14000
    c.train.eval_every = 2000
    c.eval.bleu_sentences = 1000
    variants, rest = split_variant(arg, ("ae",))
    if "ae" in variants:
        transfer_ae_baseline(c)
    return apply_variant(c, rest)
