"""The evaluation suite: the papers' metrics for a trained model, as a report (SPEC 3).

What `python -m arae_tf.evaluate --workdir=DIR` computes, on the config's test
split (its validation split where it names none):

* reconstruction: token accuracy, NLL per token, sacrebleu BLEU of greedy
  reconstructions (with the signature);
* `num_samples` prior samples (greedy): forward PPL (under the reference LM trained
  on the training split), reverse PPL (held-out text under an LM trained on the first
  `reverse_samples` samples), UniKL (of `unikl_sentences` samples, beside as many real test
  sentences measured the same way), entropy, length, Dist-1/2, distinct and copied shares;
* the reference LM's own test perplexity (real data), for scale;
* with labelled data (>= 2 classes): the fastText classifier's test accuracy and the
  class shares of the samples;
* latent diagnostics: norms and covariance traces of z and z~, k-swap NLL curve,
  edit-distance cosine, sigma histogram (Gaussian encoders), interpolations.

Outputs `DIR/eval/`: metrics.json, report.md, samples.txt and PNG plots. The
reference LM and classifier are cached in `cache_dir` (default `DIR/eval/cache`);
pass one shared `cache_dir` to compare models with the very same LM.

One module per evaluator, each used by `evaluate_model` and, where training validates the same
thing, by `train_lib.evaluate`: `reconstruction` (the greedy decoding and BLEU of held-out
sentences), `samples` (the AE's code Gaussian, prior samples, distribution metrics), `transfer`,
`dialog`, `latent`; `report` writes the Markdown and the plots; `suite` runs them all; `paper_tables` puts
reports beside the stochastic-WAE paper's tables (`python -m arae_tf.tables`). What a model
can do is read from the model (`decoder_classes`, `fits_codes`, `backbone.stochastic`).
"""

from arae_tf.evaluation.dialog import dialog_report
from arae_tf.evaluation.reconstruction import greedy_reconstructions, reconstruction_report
from arae_tf.evaluation.report import comparison_table
from arae_tf.evaluation.suite import (EvalSettings, eval_dir, evaluate_model, evaluate_presets, evaluate_workdir,
                                     preset_config, write_comparison)
from arae_tf.evaluation.transfer import transfer_report
from arae_tf.workdir import config_from_dict, load_trained

__all__ = ["EvalSettings", "comparison_table", "config_from_dict", "dialog_report", "eval_dir", "evaluate_model",
           "evaluate_presets", "evaluate_workdir", "greedy_reconstructions", "load_trained", "preset_config",
           "reconstruction_report", "transfer_report", "write_comparison"]
