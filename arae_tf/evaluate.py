"""Evaluation binary: the papers' metrics and a Markdown report for trained models.

    python -m arae_tf.evaluate --workdir=workdirs/arae_yelp
    python -m arae_tf.evaluate --workdir=workdirs/arae_yelp --workdir=workdirs/ae_yelp \\
        --cache_dir=workdirs/eval_cache/yelp --compare_out=docs/yelp_arae_vs_ae.md
    python -m arae_tf.evaluate --model=arae_yelp --out=/tmp/arae_yelp_eval [--data_dir=../shared/data/yelp]

Each workdir gets `eval/metrics.json`, `eval/report.md`, `eval/samples.txt` and PNG
plots (see `arae_tf.evaluation`). With several workdirs, pass one `--cache_dir` so
every model is scored by the same reference LM and classifier; `--compare_out`
writes their headline numbers side by side.
"""

from absl import app, flags

from arae_tf import cli

flags.DEFINE_multi_string("workdir", None, "Training workdir(s) to evaluate.")
flags.DEFINE_multi_string("model", None, "Zoo preset name(s) to evaluate (instead of --workdir).")
flags.DEFINE_integer("checkpoint", 0, "With --workdir: evaluate the checkpoint of this step (report in "
                     "<workdir>/eval-<step>/) instead of final/ weights or the newest checkpoint.")
flags.DEFINE_string("out", "", "With --model: the report directory (default eval_<name>, followed by the "
                    "options, e.g. eval_wae_snli-gaussian_fit-on-valid); one subdirectory per model.")
flags.DEFINE_string("data_dir", "", "With --model: directory of the data files the preset was trained on "
                                    "(default: the paths recorded in its metadata).")
flags.DEFINE_integer("num_samples", 10000, "Greedy prior samples for the distribution metrics.")
flags.DEFINE_integer("reverse_samples", 0, "Samples the reverse-PPL LM trains on (0: all of num_samples; -1: no reverse PPL).")
flags.DEFINE_integer("lm_epochs", 1, "Epochs of the reference LMs (real-data and reverse).")
flags.DEFINE_integer("lm_steps", 0, "> 0: train each reference LM for exactly this many batches instead of epochs.")
flags.DEFINE_integer("diagnostic_sentences", 1000, "Test sentences for the latent diagnostics.")
flags.DEFINE_integer("seed", 0, "Seed of sampling, perturbations and the LMs.")
flags.DEFINE_string("cache_dir", "", "Where the reference LM and classifier are cached (default <workdir>/eval/cache).")
flags.DEFINE_list("test_files", [], "Held-out text files (one per class) overriding the config's test split.")
flags.DEFINE_integer("test_max_words", 0, "> 0: leave out test sentences longer than this many words (e.g. the "
                     "config's data.max_len, when training filtered longer sentences out).")
flags.DEFINE_enum("prior", "model", ["model", "gaussian_fit"], "Where prior samples come from: the model's prior, "
                  "or a Gaussian fitted to its training codes (ARAE Table 1's AE baseline; report in eval-gaussian_fit/).")
flags.DEFINE_string("transfer_decoding", "", "Transfer models: decode the transfers with these options instead of "
                    "the model's own (options left out: greedy, contrast 0, beam_size 4, length_penalty 0), e.g. "
                    "'method=beam,beam_size=4,length_penalty=1,contrast=0.1' or 'method=greedy' (the paper's); "
                    "with --workdir the report goes to eval[-<step>]-<options>/.")
flags.DEFINE_string("reconstruction_decoding", "", "Decode the test reconstructions with these options instead of "
                    "greedy (the papers'), e.g. 'method=beam,beam_size=8' (keys method, beam_size, length_penalty); "
                    "with --workdir the report goes to eval[-<step>]-rec-<options>/.")
flags.DEFINE_string("compare_out", "", "With several workdirs: write a side-by-side Markdown table here.")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if bool(FLAGS.workdir) == bool(FLAGS.model):
        raise app.UsageError("pass exactly one of --workdir=DIR (training workdirs) and --model=NAME (zoo presets)")
    if FLAGS.checkpoint and not FLAGS.workdir:
        raise app.UsageError("--checkpoint selects a checkpoint of a --workdir")
    import dataclasses

    from arae_tf import evaluation
    from arae_tf.metrics.lm import LMSettings
    lm = dataclasses.replace(LMSettings(), epochs=FLAGS.lm_epochs, steps=FLAGS.lm_steps, seed=FLAGS.seed)
    settings = evaluation.EvalSettings(
        num_samples=FLAGS.num_samples, reverse_samples=FLAGS.reverse_samples, lm=lm, seed=FLAGS.seed,
        diagnostic_sentences=FLAGS.diagnostic_sentences, cache_dir=FLAGS.cache_dir, test_files=tuple(FLAGS.test_files),
        prior=FLAGS.prior, test_max_words=FLAGS.test_max_words, transfer_decoding=FLAGS.transfer_decoding,
        reconstruction_decoding=FLAGS.reconstruction_decoding)
    try:
        from arae_tf.models.text_api import parse_decoding, parse_reconstruction_decoding
        parse_decoding(FLAGS.transfer_decoding)
        parse_reconstruction_decoding(FLAGS.reconstruction_decoding)
    except ValueError as e:
        raise app.UsageError(str(e)) from None
    if FLAGS.workdir:
        results = [evaluation.evaluate_workdir(w, settings, FLAGS.checkpoint) for w in FLAGS.workdir]
    else:
        results = evaluation.evaluate_presets(FLAGS.model, settings, FLAGS.out, FLAGS.data_dir)
    if FLAGS.compare_out:
        evaluation.write_comparison(FLAGS.compare_out, results, FLAGS.workdir or FLAGS.model)


if __name__ == "__main__":
    cli.run(main)
