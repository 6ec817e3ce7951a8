"""`evaluate_model` / `evaluate_workdir` / `evaluate_presets`: every evaluator on a trained model's test split,
as a report; `write_comparison`: several reports side by side."""

import dataclasses
import os
import sys
import time

from absl import logging

from arae_tf.data import pipeline
from arae_tf.data.sources import load_examples
from arae_tf.evaluation import dialog, latent, reconstruction, report, samples, transfer
from arae_tf.metrics import classifier as classifier_lib
from arae_tf.metrics import lm as lm_lib
from arae_tf.models.text_api import decoding_name, parse_decoding, parse_reconstruction_decoding
from arae_tf.workdir import atomic_json, config_from_dict, load_trained


@dataclasses.dataclass
class EvalSettings:
    """What `evaluate_workdir` measures and with how much data."""
    num_samples: int = 10000      # prior samples for the distribution metrics and forward PPL
    reverse_samples: int = 0      # samples the reverse-PPL LM trains on (0: num_samples; < 0: no reverse PPL)
    unikl_sentences: int = 5000   # UniKL of this many samples and of as many real test sentences (capped at either)
    decode_max_len: int = 20
    diagnostic_sentences: int = 1000
    swap_max_k: int = 4
    seed: int = 0
    lm: lm_lib.LMSettings = dataclasses.field(default_factory=lm_lib.LMSettings)
    fasttext: classifier_lib.FastTextSettings = dataclasses.field(default_factory=classifier_lib.FastTextSettings)
    cache_dir: str = ""           # "" : <workdir>/eval/cache
    test_files: tuple = ()        # overrides config.data.test_files (the caller's config is not changed)
    test_max_words: int = 0       # > 0: leave out test sentences of more words, as the training data's length
    #                               filter (data.max_len, policy "filter") leaves out training sentences
    prior: str = "model"          # "model": the model's own prior; "gaussian_fit": a Gaussian fitted to the codes
    #                               of every training sentence (ARAE Table 1's baseline for an AE's samples)
    transfer_decoding: str = ""   # transfer models: decoding options of the transfers ("method=beam,beam_size=4,
    #                               length_penalty=1,contrast=0.1"; text_api.parse_decoding); "": the model's own
    reconstruction_decoding: str = ""  # decoding options of the test reconstructions ("method=beam,beam_size=8";
    #                               text_api.parse_reconstruction_decoding); "": greedy, the papers' choice


PRIORS = ("model", "gaussian_fit")


def _log(msg):
    logging.info(f"[evaluate] {msg}")


def options_suffix(prior="model", test_max_words=0, transfer_decoding="", test_files=(), reconstruction_decoding=""):
    """The part of a report folder's name that says how it was evaluated, so that no report of another
    setting is overwritten: `-gaussian_fit` for samples from the training codes' Gaussian, `-on-<names>` for
    other test files (their file names without extension, joined by `+`: `.../valid.txt` gives `-on-valid`),
    `-max<N>` for a test split cut to sentences of at most N words, `-<decoding>` (e.g. `-beam4-lp1-c0.1`)
    for transfers decoded with `transfer_decoding` options, `-rec-<decoding>` (e.g. `-rec-beam8`) for
    reconstructions decoded with `reconstruction_decoding` options; "" for the defaults."""
    parts = [] if prior == "model" else [prior]
    if test_files:
        parts.append("on-" + "+".join(os.path.splitext(os.path.basename(os.path.normpath(f)))[0] for f in test_files))
    if test_max_words > 0:
        parts.append(f"max{test_max_words}")
    decoding = decoding_name(parse_decoding(transfer_decoding, "transfer_decoding"))
    if decoding:
        parts.append(decoding)
    decoding = decoding_name(parse_reconstruction_decoding(reconstruction_decoding, "reconstruction_decoding"))
    if decoding:
        parts.append("rec-" + decoding)
    return "".join("-" + p for p in parts)


def _settings_suffix(settings):
    return options_suffix(settings.prior, settings.test_max_words, settings.transfer_decoding, settings.test_files,
                          settings.reconstruction_decoding)


def eval_dir(workdir, checkpoint=0, prior="model", test_max_words=0, transfer_decoding="", test_files=(),
             reconstruction_decoding=""):
    """Where `evaluate_workdir` reports: `<workdir>/eval`, or `<workdir>/eval-<step>` for a checkpoint,
    followed by `options_suffix` of the other settings."""
    name = f"eval-{checkpoint}" if checkpoint else "eval"
    return os.path.join(workdir, name + options_suffix(prior, test_max_words, transfer_decoding, test_files,
                                                       reconstruction_decoding))


def evaluate_workdir(workdir, settings=EvalSettings(), checkpoint=0):
    """Evaluates the model trained in `workdir` (`checkpoint` > 0: that step's checkpoint, reported in
    `eval-<step>/`); returns the metrics dict (also written to disk)."""
    model, vocab, config = load_trained(workdir, checkpoint)
    out = eval_dir(workdir, checkpoint) + _settings_suffix(settings)  # the folder eval_dir gives these settings
    return evaluate_model(model, vocab, config, out, settings,
                          source=os.path.abspath(workdir) + (f" checkpoint {checkpoint}" if checkpoint else ""),
                          training_log=os.path.join(workdir, "metrics.jsonl"))


def evaluate_presets(names, settings=EvalSettings(), out="", data_dir=""):
    """Evaluates zoo presets (names or preset directories) on the data recorded in their metadata (its
    files looked up in `data_dir` when given: `preset_config`). One preset reports in `out` (default
    `eval_<name>`), several in `<out or eval>/<name>`; the defaults end in `options_suffix` of the settings,
    as a workdir's report folder does. Returns the metrics dicts."""
    from arae_tf import zoo
    results = []
    for name in names:
        short = os.path.basename(os.path.normpath(name))
        model = zoo.load(name)
        config = preset_config(model, data_dir)
        suffix = _settings_suffix(settings)
        where = os.path.join(out or "eval" + suffix, short) if len(names) > 1 else (out or f"eval_{short}{suffix}")
        results.append(evaluate_model(model, getattr(model, "vocabulary", None), config, where, settings, source="zoo:" + name))
    return results


def write_comparison(path, results, sources):
    """Writes the headline numbers of the reports `results` side by side (`report.comparison_table`) to
    `path`, each column named after the last folder of its workdir or preset in `sources`."""
    names = [os.path.basename(os.path.normpath(s)) for s in sources]
    with open(path, "w") as f:
        f.write(report.comparison_table(results, names) + "\n")
    logging.info(f"[evaluate] wrote {path}")


def preset_config(model, data_dir=""):
    """The training config recorded in a zoo preset's metadata, data paths checked.

    `data_dir` replaces the directory of every data file (their names are kept), for a preset
    trained on another machine. A missing file raises FileNotFoundError naming it."""
    saved = (getattr(model, "preset", None) or {}).get("training", {}).get("config")
    if not isinstance(saved, dict):
        raise ValueError("the preset's metadata.json has no training.config: it cannot say what data it was trained on")
    config = config_from_dict(saved)
    d = config.data
    if d.source == "images":
        if data_dir:
            d.image_file = os.path.join(data_dir, os.path.basename(d.image_file))
        if not os.path.exists(d.image_file):
            raise FileNotFoundError(f"data file {d.image_file} (config data.image_file) not found: pass "
                                    f"--data_dir=<directory holding {os.path.basename(d.image_file)}>")
    if d.source == "files":
        for key in ("train_files", "valid_files", "test_files", "train_exclude_files"):
            files = tuple(d.get(key) or ())
            if data_dir and key == "train_exclude_files":  # another corpus's folder, beside data_dir
                files = tuple(os.path.join(os.path.dirname(os.path.normpath(data_dir)),
                                           os.path.basename(os.path.dirname(f)), os.path.basename(f)) for f in files)
            elif data_dir:
                files = tuple(os.path.join(data_dir, os.path.basename(f)) for f in files)
            for f in files:
                if not os.path.exists(f):
                    raise FileNotFoundError(f"data file {f} (config data.{key}) not found: pass --data_dir=<directory "
                                            f"holding {os.path.basename(f)}>")
            setattr(d, key, files)
    return config


def _timed(what, fn, show=lambda r: r):
    t = time.time()
    result = fn()
    _log(f"{what}: {show(result)} ({time.time() - t:.0f}s)")
    return result


def _recorded_command():
    """This process's argv with machine paths made checkout-relative (`preset_lib.portable`)."""
    from arae_tf.preset_lib import portable
    return portable(list(sys.argv))


def _recorded(source, settings, out=""):
    """(workdir, settings dict) as a report records them, with no folder of this machine in them: the
    workdir as `workdirs/<name>` (`/runs/w checkpoint 5` -> `workdirs/w checkpoint 5`), the cache folder
    relative to the workdir (`/runs/cache/x` with workdir `/runs/w` -> `../cache/x`: what
    `paper_tables.lm_rows` reads back), other paths checkout-relative (`preset_lib.portable`). A preset's
    report (no workdir) places paths beside its report folder `out` as the workdir's are placed
    (`/runs/cache/x` with out `/runs/eval_p` -> `workdirs/cache/x`)."""
    from arae_tf.preset_lib import portable
    path, sep, step = (source or "").partition(" checkpoint ")
    workdir = os.path.isabs(path)
    beside = path if workdir else (os.path.abspath(out) if out else "")
    roots = (os.path.dirname(os.path.normpath(beside)),) if beside else ()
    recorded = dataclasses.asdict(settings)
    cache = recorded.pop("cache_dir")
    recorded = portable(recorded, roots=roots)
    recorded["cache_dir"] = (os.path.relpath(os.path.abspath(cache), path) if cache and workdir
                             else portable(cache, roots=roots))
    return portable(path, roots=roots) + sep + step, recorded


def evaluate_model(model, vocab, config, out, settings=EvalSettings(), source="", training_log=""):
    """Evaluates `model` on `config`'s data; writes metrics.json, report.md, samples and plots to `out`.

    `config` is read, never changed (`settings.test_files` apply to a copy). Image models (`vocab` None)
    get `image_lib.evaluate_images`: NLL per pixel, pixel accuracy, code statistics and PNG grids."""
    if model.modality == "image":
        if (settings.prior != "model" or settings.test_files or settings.test_max_words or settings.transfer_decoding
                or settings.reconstruction_decoding):
            raise ValueError("image models are evaluated on their own prior and test split: --prior=gaussian_fit, "
                             "--test_files, --test_max_words, --transfer_decoding and --reconstruction_decoding are "
                             "for text models (the AE's Gaussian fit is its own prior)")
        from arae_tf import image_lib
        m = image_lib.evaluate_images(model, config, out, seed=settings.seed, log=_log, cache_dir=settings.cache_dir)
        m.update(workdir=_recorded(source, settings, out)[0], model=config.model, command=_recorded_command())
        atomic_json(os.path.join(out, "metrics.json"), m)
        return m
    decoding = parse_decoding(settings.transfer_decoding, "transfer_decoding")  # checked before anything is written
    if decoding and model.decoder_classes < 2:
        raise ValueError(f"transfer_decoding={settings.transfer_decoding!r} is for transfer models (one decoder "
                         f"per class); this {config.model} model has one decoder")
    rec_decoding = parse_reconstruction_decoding(settings.reconstruction_decoding, "reconstruction_decoding")
    t_all = time.time()
    os.makedirs(out, exist_ok=True)
    cache = settings.cache_dir or os.path.join(out, "cache")
    if settings.test_files:
        config = config.copy_and_resolve_references()
        config.data.test_files = tuple(settings.test_files)
    train = load_examples(config.data, "train")
    test = load_examples(config.data, "test")
    if settings.test_max_words > 0:
        from arae_tf.data.vocab import split_words  # as the training data's length filter counts words
        kept = [e for e in test if len(split_words(e[0])) <= settings.test_max_words]
        if not kept:
            raise ValueError(f"test_max_words={settings.test_max_words} leaves none of the {len(test)} test sentences")
        _log(f"test sentences of at most {settings.test_max_words} words: {len(kept)} of {len(test)}")
        test = kept
    train_text, test_text = [t for t, _ in train], [t for t, _ in test]
    test_split = "test" if (config.data.get("test_files") or config.data.source != "files") else "valid"
    _log(f"{source or out}: {config.model}, {len(train)} train / {len(test)} {test_split} sentences")
    recorded_source, recorded_settings = _recorded(source, settings, out)
    m = {"workdir": recorded_source, "model": config.model, "test_split": test_split,
         "settings": recorded_settings, "command": _recorded_command()}

    max_len = settings.decode_max_len
    m["reconstruction"], recon_examples, recon_texts = _timed(
        "reconstruction", lambda: reconstruction.reconstruction_report(model, vocab, test, config, max_len, rec_decoding),
        show=lambda r: r[0])
    if pipeline.has_sources(test):
        m["dialog"] = _timed("dialog", lambda: dialog.dialog_report(
            model, vocab, test, config, max_len, settings.seed, greedy_replies=None if rec_decoding else recon_texts),
            show=lambda d: f"BLEU-2 {d['bleu2']:.2f} BLEU-4 {d['bleu4']:.2f} Dist-1 {d['dist1']:.3f}")

    if settings.prior not in PRIORS:
        raise ValueError(f"EvalSettings.prior must be one of {PRIORS}, got {settings.prior!r}")
    codes, fit_source = None, None
    if settings.prior == "gaussian_fit" and model.code_fit is not None:  # a preset's code_fit.npz: no refit
        codes, fit_source = (lambda n, s: model.gaussian_fit_codes(n, seed=s)), "the model's code_fit"
        _log("samples from the Gaussian fit the model carries (code_fit)")
    elif settings.prior == "gaussian_fit":
        from arae_tf.prior_lib import training_codes
        fitted = _timed("training codes for the Gaussian fit", lambda: training_codes(model, config),
                        show=lambda c: f"{len(c)} codes")
        codes, fit_source = samples.gaussian_code_sampler(fitted), f"{len(fitted)} training codes"
    elif model.fits_codes:  # the same fit as training's validation (the stream's first code_fit_batches batches)
        samples.fit_codes(model, samples.code_fit_dataset(train, vocab, config), config)
    texts = samples.decode_samples(model, vocab, settings.num_samples, settings.seed, max_len, log=_log, codes=codes)
    with open(os.path.join(out, "samples.txt"), "w") as f:
        f.writelines(s + "\n" for s in texts)
    t = time.time()
    real_lm = lm_lib.cached_lm(os.path.join(cache, "lm_real"), train_text, vocab, settings.lm)
    m["samples"] = samples.samples_report(texts, train_text, test_text, vocab, settings, real_lm)
    m["samples"]["prior"] = settings.prior
    if fit_source:
        m["samples"]["gaussian_fit"] = fit_source
    m["lm"] = {"settings": dataclasses.asdict(settings.lm), "test_ppl_real": lm_lib.perplexity(
        real_lm, test_text, vocab, max_len=settings.lm.max_len)}
    _log(f"samples: {m['samples']} ({time.time() - t:.0f}s)")

    clf = None
    if config.data.num_classes >= 2:
        clf, m["classifier"] = samples.classifier_report(train, test, texts, settings, cache)
        _log(f"classifier: {m['classifier']}")
    if model.decoder_classes > 1:  # one decoder per class: transfer
        m["transfer"] = _timed("transfer", lambda: transfer.transfer_report(
            model, vocab, train, test, settings, real_lm, clf, m.get("classifier", {}).get("test_accuracy"),
            decoding=decoding or None))

    m["latent"], arrays = _timed("latent diagnostics", lambda: latent.latent_report(
        model, vocab, test_text[: settings.diagnostic_sentences], settings), show=lambda r: "done")

    m["seconds"] = time.time() - t_all
    atomic_json(os.path.join(out, "metrics.json"), m)
    figures = report.plots(training_log, out, m, arrays["z"], arrays["z_prior"], arrays["sigma"])
    report.write_report(out, m, recon_examples, texts, arrays["interpolations"], figures)
    _log(f"wrote {out}/metrics.json and report.md in {m['seconds']:.0f}s")
    return m
