"""ARAE on binarized MNIST (ARAE §5, SPEC 2.5): the text ARAE's class and `train_step` over an MLP
image autoencoder (`ImageAutoencoderBackbone`), with the same learned GAN prior.

Data: ../shared/data/binarized_mnist/binarized_mnist.npz (50k train / 10k valid / 10k test).
Sizes (ours; the paper's appendix with its MNIST sizes is not in our copy): encoder 784-800-400 ->
code 32 on the unit sphere; decoder 32-400-800 -> 784 per-pixel logits; generator 32 -> 64-128 ->
32, critic 32 -> 128-64 -> 1 with WGAN-GP; Adam 1e-3 for the autoencoder, 1e-4 (beta_1 0.5) for
the GAN; code noise 0.1 annealed; batch 100; 30 passes.

    python -m arae_tf.train --config=configs/arae_mnist.py --workdir=workdirs/arae_mnist
    python -m arae_tf.train --config=configs/arae_mnist.py:ae --workdir=workdirs/ae_mnist   # the AE baseline
    python -m arae_tf.evaluate --workdir=workdirs/arae_mnist

Variants: `ae` (lambda_1 = 0 baseline: model "ae", prior a Gaussian fitted to training codes),
`small` (one hidden layer of 256 and 1,000 iterations: the tests' learning check), `smoke`.
"""

from arae_tf.config_base import base_config, set_model, shared_data_dir, split_variant, use_images

import os


def get_config(arg=None):
    parts, rest = split_variant(arg, ("ae", "small"))
    c = base_config()
    set_model(c, "ae" if "ae" in parts else "arae")
    use_images(c, os.path.join(shared_data_dir(__file__, "binarized_mnist"), "binarized_mnist.npz"))
    c.data.batch_size = 100
    c.backbone.latent_dim = 32
    c.image.encoder_hidden = (800, 400)
    c.image.decoder_hidden = (400, 800)
    if "arae" in c:
        c.arae.noise_dim = 32
        c.arae.generator_hidden = (64, 128)
        c.arae.critic_hidden = (128, 64)
        c.arae.adv_weight = 1.0
    c.optim.ae_optimizer = "adam"
    c.optim.ae_lr = 1e-3
    c.optim.encoder_adv_optimizer = "sgd"
    c.optim.encoder_adv_lr = 0.1
    c.train.epochs = 30
    c.train.eval_every = 2500
    c.train.log_every = 250
    c.train.keep_checkpoints = 3
    c.eval.code_fit_batches = 100
    if "small" in parts:
        c.image.encoder_hidden = c.image.decoder_hidden = (256,)
        c.train.epochs = 1.0
        c.train.steps = 1000
        c.train.eval_every = 500
        c.train.log_every = 100
        c.eval.max_batches = 5
    if rest == "smoke":
        c.image.encoder_hidden = c.image.decoder_hidden = (16,)
        if "arae" in c:
            c.arae.generator_hidden = c.arae.critic_hidden = (16,)
            c.arae.noise_dim = 8
        c.backbone.latent_dim = 8
        c.data.batch_size = 8
        c.train.steps, c.train.log_every, c.train.eval_every = 4, 2, 2
        c.eval.max_batches = c.eval.code_fit_batches = 2
        return c
    return c
