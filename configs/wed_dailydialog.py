"""The stochastic-WAE paper's dialog experiment (Table 2) on ../shared/data/dailydialog, scaled to this CPU.

Encoder-decoders from a context utterance to its reply (`train.pairs.tsv`: context TAB reply); the
encoder reads the context (`data.source_column = 0`), the decoder generates the reply from z.
Paper settings (SPEC 2.4): LSTM 500, latent 300, Adam lr 1e-3 decayed x0.98 per epoch down to 1e-5.
Scaled: embeddings and LSTM 128, latent 64, vocabulary 10k words seen >= 2 times, utterances
truncated to 20 words, batch 128, 2,000 iterations (3.4 passes over the 76,053 pairs, about 5
minutes per row on 2 cores) at a constant lr 1e-3 (x0.98 per epoch would change it by 7%). The VED's
KL annealing and word dropout are compressed with the budget as in configs/wae_snli.py: sigmoid
midpoint at iteration 500 (rate 0.01, frozen at the peak of lambda*KL checked every 100), word dropout
+0.05 every 100 iterations to 0.5.

    python -m arae_tf.train --config=configs/wed_dailydialog.py:dae       --workdir=workdirs/dialog/ded
    python -m arae_tf.train --config=configs/wed_dailydialog.py:vae       --workdir=workdirs/dialog/ved
    python -m arae_tf.train --config=configs/wed_dailydialog.py:wae_d,3   --workdir=workdirs/dialog/wed_d
    python -m arae_tf.train --config=configs/wed_dailydialog.py:wae_s,0.01 --workdir=workdirs/dialog/wed_s

Without a variant: WED-S with lambda_KL 0.01.
"""

from arae_tf.config_base import base_config, shared_data_dir, use_files, use_wae_paper_settings, wae_family_variant


def get_config(arg=None):
    c = base_config()
    use_files(c, shared_data_dir(__file__, "dailydialog"), ["train.pairs.tsv"], ["valid.pairs.tsv"],
              num_classes=1, test=["test.pairs.tsv"])
    c.data.source_column = 0
    c.data.text_column = 1
    c.data.length_policy = "truncate"
    use_wae_paper_settings(c, embed_dim=128, hidden_dim=128, latent_dim=64, min_count=2, anneal_midpoint=500,
                           anneal_rate=0.01)
    c.train.steps = 2000
    c.train.eval_every = 1000
    # The VAE's word dropout rises by the paper's per-epoch step every 100 iterations (compressed with the budget).
    return wae_family_variant(c, arg, word_dropout_epoch_steps=100)
