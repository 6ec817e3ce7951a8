"""Zoo presets from training workdirs: the weights, metadata and a model card (`MODEL_CARD.md`).

What `python -m arae_tf.make_preset` does: `load_source` reads a trained workdir (model, test split,
kind of model), `write_preset` stores it under the zoo directory with its card: usage for its kind,
the training command and config (paths made portable: `portable_path`, `command_line`), the data's
terms, the evaluation in `<workdir>/eval/metrics.json` beside the paper's table row where one is
named (`paper_rows`), the storage check (float16 or int8) (`storage_check`) and an optional side-by-side
table against other evaluated workdirs.
"""

import collections
import json
import os
import shutil
import time

from absl import logging

import numpy as np

from arae_tf import evaluation, zoo
from arae_tf.data import pipeline
from arae_tf.data.sources import load_examples
from arae_tf.evaluation import paper_tables, report
from arae_tf.models.text_api import decoding_words, parse_decoding

DATA_NOTES = {
    "yelp": "../shared/data/yelp (Yelp review sentences of Shen et al. 2017, 0 negative / 1 positive; the training "
            "split is built from that release's dev+test files). For research use under Yelp's dataset terms.",
    "snli": "../shared/data/snli (an SNLI-style corpus: SNLI premises and hypotheses, counterfactually revised NLI "
            "pairs and the Flickr30k captions SNLI's premises came from; lower-cased; training keeps the sentences "
            "within the config's data.max_len words). SNLI is CC BY-SA 4.0; the Flickr30k captions are "
            "for non-commercial research: use this model for research only.",
    "binarized_mnist": "../shared/data/binarized_mnist (binarized MNIST, 50,000 train / 10,000 valid / 10,000 test "
                       "images of 28x28 pixels in {0, 1}, from an MIT-licensed repository; MNIST itself is LeCun, "
                       "Cortes and Burges'). For research and testing.",
    "dailydialog": "../shared/data/dailydialog (DailyDialog context → reply pairs from `train.pairs.tsv`, the "
                   "stochastic-WAE paper's Table 2 data; test pairs whose context occurs in training removed). "
                   "DailyDialog is CC BY-NC-SA 4.0: use this model for non-commercial research only.",
}

USAGE = {
    "transfer": ["m.transfer([\"the food was cold and the staff was rude .\"], to=1)  # 0 negative, 1 positive",
                 "m.sample(5, seed=0, decoder=1); m.interpolate(a, b, steps=5); m.reconstruct(texts)"],
    "sentences": ["m.reconstruct([\"a man is playing a guitar .\"])",
                  "m.sample(5, seed=0)  # from the model's prior (learned for ARAE, N(0, I) for the WAE family)",
                  "m.interpolate(\"a man is sleeping .\", \"two dogs run on the beach .\", steps=5)",
                  "z = m.encode(texts); m.decode(z)"],
    "images": ["import numpy as np",
               "x = np.load(\"../shared/data/binarized_mnist/binarized_mnist.npz\")[\"test\"][:8]  # [8, 784] of 0/1",
               "m.reconstruct_images(x)          # pixel probabilities [8, 28, 28]",
               "m.sample_images(16, seed=0)      # from the learned prior",
               "m.interpolate_images(x[0], x[1], steps=8); z = m.encode_images(x); m.decode_images(z)"],
    "dialog": ["m.respond([\"how much is this shirt ?\"])  # greedy reply from the context's code",
               "m.respond(contexts, sample=True, seed=0)  # Gaussian encoders: a draw from q(z|context)",
               "m.sample(5, seed=0)  # replies from the prior N(0, I)"],
}


def model_kind(model, test_examples):
    """"images", "transfer" (one decoder per class), "dialog" (its data are context -> reply pairs) or "sentences"."""
    if model.modality == "image":
        return "images"
    if model.decoder_classes > 1:
        return "transfer"
    return "dialog" if pipeline.has_sources(test_examples) else "sentences"


def dataset_name(config):
    """The ../shared/data folder a config trains on ("builtin" for the built-in corpus)."""
    if config.data.source == "images":
        return os.path.basename(os.path.dirname(os.path.abspath(config.data.image_file)))
    if config.data.source not in ("files", "documents") or not config.data.train_files:
        return config.data.source
    return os.path.basename(os.path.dirname(os.path.abspath(config.data.train_files[0])))


def portable_path(path, repo=None, roots=()):
    """An absolute path of the machine that made a model, as a path that works from a checkout: inside
    the repository, relative to it; inside the `shared` folder beside it, `../shared/...`; inside one
    of `roots` (the folders holding a command's workdirs) `workdirs/<path below the root>`; anything
    else (a workdir on that machine) `workdirs/<its last folder>`."""
    repo = repo or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.normpath(path)
    shared = os.path.normpath(os.path.join(repo, "..", "shared"))
    if path == repo or path.startswith(repo + os.sep):
        return os.path.relpath(path, repo)
    if path.startswith(shared + os.sep):
        return "../shared/" + os.path.relpath(path, shared)
    for root in sorted(roots, key=len, reverse=True):  # the innermost root that holds the path
        if path.startswith(os.path.normpath(root) + os.sep):
            return "workdirs/" + os.path.relpath(path, root)
    return "workdirs/" + os.path.basename(path)


def workdir_roots(argv, flags=("--workdir=", "--out=")):
    """The folders holding the absolute `FLAG[NAME=]PATH` values of a command's workdir flags `flags`
    (the machine's workdirs root; `--out`, a preset's report folder, counts as one, but not an `--out`
    file such as a sweep's `table.md`, which keeps its place beside the workdirs). A workdir's report
    folder (`<workdir>/eval[-<step>]`, as the tables command's rows may name) stands for its workdir."""
    folders = []
    for a in argv:
        if isinstance(a, str) and a.startswith(flags):
            v = a.split("=", 1)[1].rpartition("=")[2]
            if a.startswith("--out=") and os.path.splitext(v)[1]:
                continue  # a file (sweep tables, tables --out=t.md), not a report folder
            if v.startswith("/"):
                v = os.path.normpath(v)
                report = not a.startswith("--out=") and os.path.basename(v).startswith("eval")
                folders.append(os.path.dirname(v) if report else v)
    return tuple(sorted({os.path.dirname(w) for w in folders}))


def portable(obj, repo=None, roots=None):
    """A recorded config or command (nested dicts, lists, strings) with every absolute path made
    portable: `--flag=/path` values and plain paths through `portable_path`, a script of the package
    (`.../arae_tf/train.py`) as `arae_tf/train.py`. In a command, other paths beside its workdirs keep
    their place relative to them (`--cache_dir=/runs/eval_cache/x` with `--workdir=/runs/w`:
    `workdirs/eval_cache/x`)."""
    if isinstance(obj, dict):
        return {k: portable(v, repo, roots) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        roots = workdir_roots(obj) or roots
        return [portable(v, repo, roots) for v in obj]
    if not isinstance(obj, str):
        return obj
    if obj.startswith("--") and "=" in obj:
        flag, value = obj.split("=", 1)
        name, sep, path = value.rpartition("=")  # `--flag=/path` or `--flag=NAME=/path`
        if path.startswith("/"):
            return f"{flag}={name}{sep}{portable_path(path, repo, roots or ())}"
        return obj
    if obj.startswith("/") and obj.endswith(".py") and os.path.basename(os.path.dirname(obj)) == "arae_tf":
        return "arae_tf/" + os.path.basename(obj)
    return portable_path(obj, repo, roots or ()) if obj.startswith("/") else obj


def command_line(argv, repo=None):
    """A recorded argv as the module command a user types from a checkout (`python -m arae_tf.train ...`),
    absolute paths in `--flag=/path` arguments made portable (`portable_path`)."""
    if not argv:
        return ""
    head = argv[0]
    if head.endswith(".py") and os.path.basename(os.path.dirname(head)) == "arae_tf":
        head = "python -m arae_tf." + os.path.basename(head)[:-3]
    return " ".join([head] + portable(list(argv[1:]), repo))


def _evaluation_section(kind, metrics, paper_row):
    if kind == "images":
        from arae_tf import image_lib
        return [image_lib.metrics_table([metrics], ["this preset"]), "",
                "NLL: -log p(x | enc(x)) under the decoder's per-pixel Bernoulli, nats (the code without noise).", "",
                "Reconstructions (pairs: test image, then its reconstruction's pixel probabilities):", "",
                "![reconstructions](reconstructions.png)", "", "Prior samples (pixel probabilities):", "",
                "![samples](samples.png)", "", "Interpolations between test images (one row each, ends included):",
                "", "![interpolations](interpolations.png)", ""]
    if kind == "transfer":
        tr, r = metrics.get("transfer", {}), metrics["reconstruction"]
        return ["| transfer acc | self-BLEU | forward PPL | reverse PPL | rec. BLEU | fastText test acc |",
                "|---|---|---|---|---|---|",
                f"| {report.num(tr.get('accuracy'), 3)} | {report.num(tr.get('self_bleu'), 2)} | "
                f"{report.num(tr.get('forward_ppl'), 1)} | {report.num(tr.get('reverse_ppl'), 1)} | "
                f"{r['bleu']:.2f} | {report.num(tr.get('classifier_test_accuracy'), 3)} |", "",
                "ARAE paper, Table 3 (its own Yelp split, 25 epochs on GPU): AE 59.3% / 37.28 / 31.9 / 68.9; "
                "ARAE λ₁=1 73.4% / 31.15 / 29.7 / 70.1; ARAE λ₁=10 81.8% / 20.18 / 27.7 / 77.0.", ""] + (
            [f"Transfers (test sentences, {decoding_words(tr.get('decoding'))}):", ""] + [f"- {a}  →  {b}" for a, b in tr["examples"][:8]] + [""]
            if tr.get("examples") else [])
    if kind == "dialog":
        d = metrics["dialog"]
        if paper_row:
            lines = [f"Beside the stochastic-WAE paper's Table 2 row `{paper_row}` (its DailyDialog setup, full "
                     "budget on GPU):", "", paper_tables.dialog_table([(paper_row, metrics)])]
        else:
            lines = ["| BLEU-2 | BLEU-4 | entropy | Dist-1 | Dist-2 |", "|---|---|---|---|---|",
                     f"| {d['bleu2']:.2f} | {d['bleu4']:.2f} | {d['entropy']:.2f} | {d['dist1']:.3f} | "
                     f"{d['dist2']:.3f} |"]
        return lines + ["", f"Replies: greedy decodings of the {d['code']} of each test context.", "",
                        "Replies (test context → reference | model):", ""] + [
            f"- {c}  →  {r}  |  {h}" for c, r, h in d["examples"][:8]] + [""]
    r, s = metrics["reconstruction"], metrics["samples"]
    extra_lines = report.length_lines(r) + report.in_vocabulary_lines(s)
    if paper_row:
        return [f"Beside the stochastic-WAE paper's Table 1 row `{paper_row}` (SNLI, 20 passes on GPU; forward PPL "
                "under each side's own reference LM, so compare PPL between rows of one side only):", "",
                paper_tables.wae_table([(paper_row, metrics)]), ""] + extra_lines
    return ["| rec. BLEU | token acc | sample forward PPL | UniKL | entropy | avg len |", "|---|---|---|---|---|---|",
            f"| {r['bleu']:.2f} | {r['token_acc']:.3f} | {report.num(s.get('forward_ppl'), 1)} | {s['unigram_kl']:.3f} | "
            f"{s['entropy']:.2f} | {s['avg_len']:.1f} |", ""] + extra_lines


STORAGE_WORDS = {"int8": "int8 for the vocabulary-sized matrices (embeddings, output layer; a float32 scale "
                         "per word) and float16 elsewhere"}


def _card(name, description, kind, dataset, experiment, metrics, compare_table, notes, fp16_check, paper_row,
          dtype, decoding=None, code_fit=False):
    usage = USAGE[kind] + ([CODE_FIT_USAGE] if code_fit else [])
    lines = [f"# {name}", "", description, "",
             "## Use", "", "```python", "from arae_tf import zoo", f"m = zoo.load({name!r})"] + usage + [
             "```", "", "## Training", "", f"Command: `{command_line(experiment.get('command', []))}`", ""]
    if experiment.get("checkpoint"):
        lines += [f"Published checkpoint: iteration {experiment['checkpoint']} (picked on validation).", ""]
    lines += [f"Data: {DATA_NOTES.get(dataset, dataset)}", "", f"Weights stored as {STORAGE_WORDS.get(dtype, dtype)}; {fp16_check}", ""]
    if decoding:
        lines += [f"Transfer decoding (the default of `m.transfer` and of the SavedModel's `transfer`): "
                  f"`{decoding_words(decoding)}`. "
                  "The paper decodes greedily: `m.transfer(texts, to, method='greedy', contrast=0)`.", ""]
    if metrics:
        lines += [f"## Evaluation (`python -m arae_tf.evaluate`, {dataset} test split)", "",
                  f"Command: `{command_line(metrics.get('command', []))}`", ""]
        lines += _evaluation_section(kind, metrics, paper_row)
    if compare_table:
        lines += ["## Side by side", "", compare_table, ""]
    if notes:
        lines += [notes, ""]
    return "\n".join(lines)


def storage_check(model, loaded, test_examples, kind, n=1000):
    """How close the stored (float16 or int8) weights are: the share of greedy outputs on the first `n` test examples that
    the stored preset reproduces exactly (replies to contexts for dialog models, reconstructions
    otherwise)."""
    examples = test_examples[:n]
    if kind == "images":
        a, b = model.reconstruct_images(examples, flat=True), loaded.reconstruct_images(examples, flat=True)
        same = float(np.mean((a >= 0.5) == (b >= 0.5)))
        return (f"{100 * same:.2f}% of the most likely pixels of {len(examples):,} test reconstructions are the "
                f"float32 model's; pixel probabilities differ by at most {float(np.abs(a - b).max()):.4f}.")
    if kind == "dialog":
        inputs = [pipeline.source_of(e) for e in examples]
        a, b = model.respond(inputs), loaded.respond(inputs)
    else:
        kw = {"decoder": 1} if kind == "transfer" else {}
        inputs = [t for t, _ in examples]
        a, b = model.reconstruct(inputs, **kw), loaded.reconstruct(inputs, **kw)
    same = float(np.mean([x == y for x, y in zip(a, b)]))
    what = "replies" if kind == "dialog" else "decodings"
    return f"{100 * same:.1f}% of {len(inputs):,} greedy test {what} are identical to the float32 model's."


# A trained workdir, loaded for publishing: the model, its vocabulary and config, its test examples
# and its kind (`model_kind`).
Source = collections.namedtuple("Source", "workdir checkpoint model vocab config test_examples kind")


def load_source(workdir, checkpoint=0):
    """The model trained in `workdir` (`checkpoint` > 0: that step's checkpoint) as a `Source`."""
    model, vocab, config = evaluation.load_trained(workdir, checkpoint)
    if config.data.source == "images":
        from arae_tf import image_lib
        return Source(workdir, checkpoint, model, vocab, config, image_lib.load_split(config, "test"), "images")
    test_examples = load_examples(config.data, "test")
    return Source(workdir, checkpoint, model, vocab, config, test_examples, model_kind(model, test_examples))


def paper_rows(kind):
    """The rows of the stochastic-WAE paper's table a model of `kind` can be put beside (none for transfer)."""
    return {"sentences": list(paper_tables.WAE_SNLI), "dialog": list(paper_tables.WAE_DIALOG)}.get(kind, [])


CODE_FIT_HEADING = "## Samples from the codes' Gaussian fit"
CODE_FIT_USAGE = 'm.sample(5, seed=0, prior="gaussian_fit")  # from the Gaussian fit of the training codes (code_fit.npz)'


def fit_training_codes(model, config):
    """Fits a Gaussian to the codes of `config`'s training sentences (`prior_lib.training_codes`, every
    sentence of the training files, as `evaluate --prior=gaussian_fit` does) and keeps it on `model`
    (`code_fit`); returns the record the preset's metadata keeps of it."""
    from arae_tf.prior_lib import training_codes
    t = time.time()
    codes = training_codes(model, config)
    model.fit_gaussian_to_codes(codes)
    mean, tril = model.code_fit
    record = {"codes": int(len(codes)), "train_files": portable(list(config.data.get("train_files") or ())),
              "trace_cov": float(np.sum(tril.astype(np.float64) ** 2)), "latent_dim": int(model.latent_dim),
              "mean_norm": float(np.linalg.norm(mean)), "seconds": round(time.time() - t, 1)}
    logging.info(f"[code_fit] Gaussian fitted to {record['codes']:,} training codes in {record['seconds']:.0f}s "
                 f"(trace of the covariance {record['trace_cov']:.1f}, N(0, I)'s {model.latent_dim}; "
                 f"mean norm {record['mean_norm']:.3f})")
    return record


def code_fit_section(record, origin):
    """The model card's paragraph on a preset's `code_fit.npz` (`record` from `fit_training_codes`;
    `origin`: the sentence saying how it was made)."""
    return "\n".join([
        CODE_FIT_HEADING, "",
        f"The preset carries a Gaussian fitted to the codes of its {record['codes']:,} training sentences "
        f"(`code_fit.npz`: their mean and the Cholesky factor of their covariance; trace {record['trace_cov']:.1f} "
        f"against {record['latent_dim']} for N(0, I)). `m.sample(n, seed=0, prior=\"gaussian_fit\")` decodes codes "
        "drawn from it, and the SavedModel's `sample_gaussian_fit` signature does the same; `m.sample(n)` keeps the "
        "model's own prior. Where the codes fill the prior unevenly, samples from the fit are closer to real text "
        "(`python -m arae_tf.evaluate --model=NAME --prior=gaussian_fit` measures them).",
        "", origin, ""])


def _with_code_fit_usage(card):
    """`card` with CODE_FIT_USAGE as the last line of its "## Use" code block (once; a card without that
    block is returned as it is)."""
    if CODE_FIT_USAGE in card or "\n## Use\n" not in card:
        return card
    head, use = card.split("\n## Use\n", 1)
    start = use.find("```python\n")
    end = use.find("\n```", start + 1) if start >= 0 else -1
    if end < 0:
        return card
    return head + "\n## Use\n" + use[:end] + "\n" + CODE_FIT_USAGE + use[end:]


def _swap_in(partial, path):
    """Replaces the preset folder `path` (if any) by the complete folder `partial`: the old one is moved
    aside first and removed last, so a preset is never half-written."""
    old = path + ".old"
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(path):
        os.rename(path, old)
    os.rename(partial, path)
    shutil.rmtree(old, ignore_errors=True)


def add_code_fit(name, data_dir="", command=""):
    """Gives the existing preset `name` (a name or directory) a Gaussian fit of its training codes:
    `code_fit.npz`, a "code_fit" record in metadata.json and a card section (replacing earlier ones), the
    manifest rewritten; the weights are not touched. The preset is rewritten whole in a sibling folder
    and swapped in, so a failure leaves it as it was. Returns (path, record)."""
    path = zoo.resolve(name)
    model = zoo.load(path, compile=False)
    if model.modality != "text":
        raise ValueError(f"{path} holds an image model: the Gaussian fit of codes is for text presets")
    record = fit_training_codes(model, evaluation.preset_config(model, data_dir))
    command = command or f"python -m arae_tf.add_code_fit --model={name}"
    record["command"] = command
    partial = path + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        shutil.copytree(path, partial)
        zoo.write_code_fit(model, partial)
        meta = zoo.read_json(os.path.join(partial, "metadata.json"))
        meta["code_fit"] = record
        with open(os.path.join(partial, "metadata.json"), "w") as f:
            json.dump(meta, f, indent=2, default=str)
        card = open(os.path.join(partial, "MODEL_CARD.md")).read()
        card = _with_code_fit_usage(card.split("\n" + CODE_FIT_HEADING + "\n")[0].rstrip("\n") + "\n\n")
        with open(os.path.join(partial, "MODEL_CARD.md"), "w") as f:
            f.write(card + code_fit_section(record, f"Added by `{command}`."))
        zoo.write_manifest(partial)
        loaded = zoo.load(partial, compile=False)
        if loaded.sample(4, seed=0, prior="gaussian_fit") != model.sample(4, seed=0, prior="gaussian_fit"):
            raise RuntimeError(f"{partial}: the stored fit does not sample as the fitted model does")
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _swap_in(partial, path)
    logging.info(f"[code_fit] wrote {path}/{zoo.CODE_FIT}")
    return path, record


class TransferDecodingError(ValueError):
    """`transfer_decoding` given for a model that is not a transfer model, or not parseable."""


def write_preset(source, name, description="", zoo_dir=None, dtype="float16", compare=(), notes_file="",
                 paper_row="", transfer_decoding="", code_fit=False):
    """Publishes `source` (a `Source`) as preset `name` under `zoo_dir` (default: the repository's zoo/):
    weights stored as `dtype`, metadata, manifest and the model card, whose evaluation is read from the
    workdir's `eval/` (`eval-<step>/` for a checkpoint) and compared with the evaluated workdirs `compare`;
    `notes_file`: Markdown appended to the card. `transfer_decoding` (a transfer model; "key=value,..."
    as `text_api.parse_decoding`): the preset's default transfer decoding, its evaluation read from
    `eval[-<step>]-<options>/`. `code_fit`: also store a Gaussian fitted to the training codes
    (`fit_training_codes`; `m.sample(n, prior="gaussian_fit")`). Returns the preset's path."""
    workdir, checkpoint, model, vocab, config, test_examples, kind = source
    try:
        decoding = parse_decoding(transfer_decoding)
    except ValueError as e:
        raise TransferDecodingError(str(e)) from None
    if decoding and kind != "transfer":
        raise TransferDecodingError(f"--transfer_decoding is for transfer models; {workdir} holds a {kind} model")
    if decoding:
        model.transfer_decoding = decoding
    if code_fit and kind == "images":
        raise ValueError("--code_fit is for text models (the AE's Gaussian fit of image codes is its own prior)")
    fit_record = fit_training_codes(model, config) if code_fit else None
    with open(os.path.join(workdir, "config.json")) as f:
        experiment = json.load(f)
    if checkpoint:
        experiment["checkpoint"] = checkpoint
    metrics_path = os.path.join(evaluation.eval_dir(workdir, checkpoint, transfer_decoding=transfer_decoding),
                                "metrics.json")
    if decoding and not os.path.exists(metrics_path):
        raise TransferDecodingError(f"no evaluation with this transfer decoding at {metrics_path}: run "
                                    f"python -m arae_tf.evaluate --workdir={workdir}"
                                    f"{f' --checkpoint={checkpoint}' if checkpoint else ''} "
                                    f"--transfer_decoding={transfer_decoding} first")
    metrics = json.load(open(metrics_path)) if os.path.exists(metrics_path) else None
    compare_table = ""
    if compare and kind == "images":
        from arae_tf import image_lib
        compare_table = image_lib.metrics_table([metrics] + [paper_tables.load_eval(w) for w in compare],
                                                [name] + [os.path.basename(os.path.normpath(w)) for w in compare])
    elif compare:
        compare_table = evaluation.comparison_table([metrics] + [paper_tables.load_eval(w) for w in compare],
                                                    [name] + [os.path.basename(os.path.normpath(w)) for w in compare])
    zoo_dir = zoo_dir or zoo.presets_dir()
    path = os.path.join(zoo_dir, name)
    partial = path + ".partial"  # written in full, then renamed: a failure leaves no half-written preset
    shutil.rmtree(partial, ignore_errors=True)
    # Recorded paths of the machine that trained it, made to work from a checkout.
    meta = portable({"name": name, "description": description, "training": experiment, "transfer_decoding": decoding,
                     "metrics": {k: v for k, v in (metrics or {}).items() if k not in ("transfer",)},
                     "transfer_metrics": {k: v for k, v in (metrics or {}).get("transfer", {}).items()
                                          if k != "examples"}})
    if fit_record:
        # what fits it again on the published preset's weights (here the float32 model's codes were fitted:
        # the same up to the storage rounding)
        meta["code_fit"] = dict(fit_record, command=f"python -m arae_tf.add_code_fit --model={name}")
    try:
        zoo.save_preset(model, vocab, partial, meta, dtype=dtype)
        if kind == "images":  # the card's figures travel with the preset
            for png in ("reconstructions.png", "samples.png", "interpolations.png"):
                if os.path.exists(os.path.join(os.path.dirname(metrics_path), png)):
                    shutil.copy(os.path.join(os.path.dirname(metrics_path), png), partial)
        check = storage_check(model, zoo.load(partial, compile=False), test_examples, kind)
        notes = open(notes_file).read() if notes_file else ""
        with open(os.path.join(partial, "MODEL_CARD.md"), "w") as f:
            f.write(_card(name, description, kind, dataset_name(config), experiment, metrics,
                          compare_table, notes, check, paper_row, dtype, decoding, code_fit=bool(fit_record)))
            if fit_record:
                f.write("\n" + code_fit_section(fit_record, (
                    "Fitted by `make_preset --code_fit` to the float32 model's codes; "
                    f"`{meta['code_fit']['command']}` fits it again to the stored weights' codes.")))
        zoo.write_manifest(partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _swap_in(partial, path)
    size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path)) / 2 ** 20
    logging.info(f"[preset] wrote {path} ({size:.1f} MB); {check}")
    return path
