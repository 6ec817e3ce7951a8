"""ARAE on the SNLI-style corpus (../shared/data/snli): ARAE Table 1's generation setting, and the
autoencoder under ARAE Table 5's semi-supervised NLI classifier.

The paper's SNLI sizes where they matter to the prior: noise 100 -> 300-300 generator, 300-300
critic, WGAN-GP, lambda_1 0.01; sentences of <= 15 words, a 10k vocabulary. The backbone is 128
wide (the Yelp reference code's) and trains with the time-to-quality recipe (docs/benchmarks.md):
Adam 1e-3 (clip 1) for the autoencoder, a sampled softmax of 256 words for its training loss, the
adversarial encoder step through SGD 1 (clip 1). The sentences of the labelled NLI test pairs
(../shared/data/snli_nli/test.tsv) are left out of training, so the same model serves Table 5.

    python -m arae_tf.train --config=configs/arae_snli.py --workdir=workdirs/arae_snli       # 20 passes
    python -m arae_tf.train --config=configs/arae_snli.py:ae --workdir=workdirs/ae_snli      # the AE (lambda_1 = 0)
    python -m arae_tf.train --config=configs/arae_snli.py:aae --workdir=workdirs/aae_snli    # AAE, fixed prior

Variants: `ae`; `aae`, the paper's fixed-prior (mode-collapse) row: the ARAE with prior "sphere",
N(0, I) projected onto the unit sphere where the normalised codes live (SPEC 2.2; a raw N(0, I) in
128 dimensions has norm ~11, which the critic tells from unit codes at once and the decoder never
sees); `smoke`.
"""

import os

from arae_tf.config_base import apply_variant, base_config, set_model, shared_data_dir, split_variant, use_files


def get_config(arg=None):
    variants, rest = split_variant(arg, ("ae", "aae"))
    if len(variants) > 1:
        raise ValueError(f"config variant {arg!r}: 'ae' and 'aae' exclude each other")
    variant = variants[0] if variants else ""
    c = base_config()
    set_model(c, "ae" if variant == "ae" else "arae")
    use_files(c, shared_data_dir(__file__, "snli"), ["train.txt"], ["valid.txt"], num_classes=1, test=["test.txt"])
    c.data.train_exclude_files = (os.path.join(shared_data_dir(__file__, "snli_nli"), "test.tsv"),)
    c.data.max_len = 15
    c.data.vocab_size = 10000
    c.data.min_count = 5
    c.backbone.sampled_softmax = 256
    if "arae" in c:
        c.arae.noise_dim = 100
        c.arae.generator_hidden = (300, 300)
        c.arae.critic_hidden = (300, 300)
        if variant == "aae":
            c.arae.prior = "sphere"
    c.optim.ae_optimizer = "adam"
    c.optim.ae_lr = 1e-3
    c.optim.encoder_adv_optimizer = "sgd"
    c.train.epochs = 20.0
    c.train.eval_every = 2000
    c.train.log_every = 500
    c.train.keep_checkpoints = 20
    return apply_variant(c, rest)
