"""The stochastic-WAE paper's SNLI experiment (Table 1) on ../shared/data/snli, scaled to this CPU.

Paper settings (SPEC 2.4): LSTM 100, embeddings 300, latent 100, Adam 1e-3, batch 128, max length
20, 20 epochs. Kept: every size, the optimizer, batch and length. Scaled: the vocabulary is capped
at 10k words seen >= 5 times, and training runs 1,000 iterations of 128 (0.74 of a pass, about 4
minutes per row on 2 cores) instead of 20 epochs. The VAE's schedules are compressed with the
budget: the sigmoid KL annealing has its midpoint at iteration 250 (rate 0.02, frozen at the peak of
lambda*KL checked every 100 iterations), and word dropout rises 0.05 every 50 iterations to 0.5,
reached halfway through training as in the paper (0.05 per epoch, 20 epochs).

One config, seven rows (docs/wae_table.md):

    python -m arae_tf.train --config=configs/wae_snli.py:dae        --workdir=workdirs/snli/dae
    python -m arae_tf.train --config=configs/wae_snli.py:vae        --workdir=workdirs/snli/vae
    python -m arae_tf.train --config=configs/wae_snli.py:wae_d,3    --workdir=workdirs/snli/wae_d3
    python -m arae_tf.train --config=configs/wae_snli.py:wae_d,10   --workdir=workdirs/snli/wae_d10
    python -m arae_tf.train --config=configs/wae_snli.py:wae_s,0    --workdir=workdirs/snli/wae_s0
    python -m arae_tf.train --config=configs/wae_snli.py:wae_s,0.01 --workdir=workdirs/snli/wae_s0.01
    python -m arae_tf.train --config=configs/wae_snli.py:wae_s,0.1  --workdir=workdirs/snli/wae_s0.1

Without a variant: WAE-S with lambda_KL 0.01 (the paper's best, the `wae_snli` preset).
"""

from arae_tf.config_base import base_config, shared_data_dir, use_files, use_wae_paper_settings, wae_family_variant


def get_config(arg=None):
    c = base_config()
    use_files(c, shared_data_dir(__file__, "snli"), ["train.txt"], ["valid.txt"], num_classes=1, test=["test.txt"])
    use_wae_paper_settings(c, embed_dim=300, hidden_dim=100, latent_dim=100, min_count=5, anneal_midpoint=250,
                           anneal_rate=0.02)
    c.train.steps = 1000
    c.train.eval_every = 500
    # The VAE's word dropout rises by the paper's per-epoch step every 50 iterations (compressed with the budget).
    return wae_family_variant(c, arg, word_dropout_epoch_steps=50)
