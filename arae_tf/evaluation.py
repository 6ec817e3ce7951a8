"""`evaluate_workdir`: the papers' metrics for a trained model, as a report (SPEC 3).

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
"""

import dataclasses
import json
import os
import sys
import time

import numpy as np

from arae_tf import config_base, train_lib
from arae_tf.data import pipeline
from arae_tf.data.vocab import Vocabulary
from arae_tf.metrics import classifier as classifier_lib
from arae_tf.metrics import distribution, latent
from arae_tf.metrics import lm as lm_lib
from arae_tf.metrics.bleu import corpus_bleu
from arae_tf.models import AE, ARAETransfer, build_model


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
    test_files: tuple = ()        # overrides config.data.test_files


def _log(msg):
    print(f"[evaluate] {msg}", flush=True)


def load_trained(workdir, checkpoint=0):
    """(model, vocab, config) of a training workdir: `final/` weights, else the newest checkpoint;
    with `checkpoint` > 0, the checkpoint of that step."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: is {workdir!r} a training workdir "
                                f"(python -m arae_tf.train --workdir=...)?")
    with open(path) as f:
        config = config_from_dict(json.load(f)["config"])
    vocab = Vocabulary.load(os.path.join(workdir, "vocabulary.txt"), lowercase=config.data.lowercase)
    model = build_model(config, len(vocab))
    weights = os.path.join(workdir, "final", "model.weights.h5")
    if checkpoint:
        weights = train_lib.checkpoint_at(workdir, checkpoint)
    elif not os.path.exists(weights):
        _, weights = train_lib.latest_checkpoint(workdir)
        if weights is None:
            raise FileNotFoundError(f"{workdir} has neither final/model.weights.h5 nor a checkpoint")
    model.load_weights(weights)
    model.vocabulary = vocab
    return model, vocab, config


def config_from_dict(saved):
    """A full config (every field of `config_base.base_config`) updated with a saved `config.to_dict()`."""
    config = config_base.base_config()
    config.update_from_flattened_dict(_flatten(saved))
    return config


def _flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, prefix + k + "."))
        else:
            out[prefix + k] = tuple(v) if isinstance(v, list) else v
    return out


def _decode_in_batches(model, vocab, n, seed, max_len, what, batch=500):
    """n prior samples; transfer models alternate their class decoders batch by batch."""
    out, t = [], time.time()
    classes = getattr(model, "num_classes", 1)
    for i in range(0, n, batch):
        kw = {"decoder": (i // batch) % classes} if classes > 1 else {}
        ids = model.generate_ids(min(batch, n - i), seed=seed + i, max_len=max_len, **kw).numpy()
        out += [vocab.decode(r) for r in ids]
        _log(f"{what}: {len(out)}/{n} ({time.time() - t:.0f}s)")
    return out


def reconstruction_report(model, vocab, examples, config, max_len):
    """Token accuracy, NLL per token and greedy-reconstruction BLEU on `examples`.

    Returns (metrics, the first 10 (reference, reconstruction) pairs, every reconstruction). On
    encoder-decoder data a reconstruction is the greedy reply decoded from the context's code."""
    ds = pipeline.make_dataset(examples, vocab, 256, config.data.max_len, shuffle=False, bucket=False,
                               length_policy="truncate")
    res = model.evaluate(ds, verbose=0, return_dict=True)
    refs, hyps = [], []
    own = {}  # transfer models: each sentence through the decoder of its own class
    for b in ds:
        toks = b["tokens"].numpy()
        if isinstance(model, ARAETransfer):
            own = {"labels": b["label"].numpy()}
        refs += [vocab.decode(r) for r in toks]
        # Encoder-decoder data: the target is decoded from the source's code (a reply to its context).
        source = b["source"].numpy() if "source" in b else toks
        hyps += [vocab.decode(r) for r in np.asarray(model.reconstruct_ids(source, max_len=max_len, **own))]
    bleu = corpus_bleu(hyps, refs)
    return {"token_acc": float(res["token_acc"]), "nll_per_token": float(res["rec_loss"]),
            "bleu": bleu["score"], "bleu_signature": bleu["signature"], "sentences": len(refs)}, \
        list(zip(refs[:10], hyps[:10])), hyps


def dialog_report(model, vocab, examples, config, max_len, seed=0, greedy_replies=None):
    """WAE paper Table 2 metrics of replies generated for the contexts of `examples` (`Example`s).

    Replies are greedy decodings of the context's code: the posterior mean for deterministic
    encoders, a draw from q(z|context) for Gaussian ones (VED, WED-S). BLEU-2 and BLEU-4 are
    sacrebleu corpus BLEU against the one reference reply; entropy is the unigram entropy (nats) of
    all generated words, Dist-n the distinct n-grams over all n-grams of the replies. `reference`
    holds the same statistics of the real replies (the paper's "test set" row). `greedy_replies`:
    the posterior-mean replies already decoded (`reconstruction_report`'s), reused for deterministic
    encoders instead of decoding them again."""
    ds = pipeline.make_dataset(examples, vocab, 256, config.data.max_len, shuffle=False, bucket=False,
                               length_policy="truncate")
    sample = bool(getattr(model.backbone, "stochastic", False))
    refs, hyps, contexts = [], [], []
    reuse = greedy_replies is not None and not sample
    for i, b in enumerate(ds):
        contexts += [vocab.decode(r) for r in b["source"].numpy()]
        refs += [vocab.decode(r) for r in b["tokens"].numpy()]
        if not reuse:
            out = model.respond_ids(b["source"].numpy(), sample=sample, seed=seed + i, max_len=max_len)
            hyps += [vocab.decode(r) for r in np.asarray(out)]
    if reuse:
        if len(greedy_replies) != len(refs):
            raise ValueError(f"greedy_replies has {len(greedy_replies)} replies for {len(refs)} pairs")
        hyps = list(greedy_replies)

    def surface(texts):
        return {"entropy": distribution.unigram_entropy(texts), "dist1": distribution.distinct_n(texts, 1),
                "dist2": distribution.distinct_n(texts, 2), "avg_len": distribution.average_length(texts)}

    b2, b4 = corpus_bleu(hyps, refs, max_ngram_order=2), corpus_bleu(hyps, refs, max_ngram_order=4)
    return {"pairs": len(refs), "code": "posterior sample" if sample else "posterior mean",
            "bleu2": b2["score"], "bleu4": b4["score"], "bleu_signature": b4["signature"], **surface(hyps),
            "reference": surface(refs), "examples": list(zip(contexts[:10], refs[:10], hyps[:10]))}


def _transfer_texts(model, examples, max_len, batch=500):
    """(sources, targets, transfers): every sentence to class (y + 1) mod C (the other class for C = 2)."""
    src = [t for t, _ in examples]
    to = [(y + 1) % model.num_classes for _, y in examples]
    out = []
    for i in range(0, len(src), batch):
        out += model.transfer(src[i: i + batch], to=np.array(to[i: i + batch]), max_len=max_len)
    return src, to, out


def transfer_report(model, vocab, train, test, settings, real_lm, clf, clf_test_accuracy=None):
    """ARAE Table 3 metrics on the test split: transfer accuracy (fastText, its own test accuracy
    beside), self-BLEU against the sources, forward PPL of the transfers, and reverse PPL of real test
    text under an LM trained on `num_samples` transferred *training* sentences."""
    src, to, out = _transfer_texts(model, test, settings.decode_max_len)
    rng = np.random.default_rng(settings.seed)
    pick = rng.choice(len(train), size=min(settings.num_samples, len(train)), replace=False)
    _, _, out_train = _transfer_texts(model, [train[i] for i in pick], settings.decode_max_len)
    bleu = corpus_bleu(out, src)
    report = {"sentences": len(src), "self_bleu": bleu["score"], "bleu_signature": bleu["signature"],
              "forward_ppl": lm_lib.forward_ppl(out, real_lm, vocab, settings.lm),
              "reverse_ppl": lm_lib.reverse_ppl(out_train, [t for t, _ in test], vocab, settings.lm),
              "reverse_ppl_sentences": len(out_train)}
    if clf is not None:
        report["accuracy"] = clf.accuracy(out, to)
        report["classifier_test_accuracy"] = clf_test_accuracy
        by_class = {}
        for c in range(model.num_classes):
            rows = [i for i, y in enumerate(to) if y == c]
            if rows:
                by_class[str(c)] = clf.accuracy([out[i] for i in rows], [c] * len(rows))
        report["accuracy_by_target"] = by_class
    report["examples"] = [[a, b] for a, b in zip(src, out)][:50]
    return report


def eval_dir(workdir, checkpoint=0):
    """Where `evaluate_workdir` reports: `<workdir>/eval`, or `<workdir>/eval-<step>` for a checkpoint."""
    return os.path.join(workdir, f"eval-{checkpoint}" if checkpoint else "eval")


def evaluate_workdir(workdir, settings=EvalSettings(), checkpoint=0):
    """Evaluates the model trained in `workdir` (`checkpoint` > 0: that step's checkpoint, reported in
    `eval-<step>/`); returns the metrics dict (also written to disk)."""
    model, vocab, config = load_trained(workdir, checkpoint)
    return evaluate_model(model, vocab, config, eval_dir(workdir, checkpoint), settings,
                          source=os.path.abspath(workdir) + (f" checkpoint {checkpoint}" if checkpoint else ""),
                          training_log=os.path.join(workdir, "metrics.jsonl"))


def preset_config(model, data_dir=""):
    """The training config recorded in a zoo preset's metadata, data paths checked.

    `data_dir` replaces the directory of every data file (their names are kept), for a preset
    trained on another machine. A missing file raises FileNotFoundError naming it."""
    saved = (getattr(model, "preset", None) or {}).get("training", {}).get("config")
    if not isinstance(saved, dict):
        raise ValueError("the preset's metadata.json has no training.config: it cannot say what data it was trained on")
    config = config_from_dict(saved)
    d = config.data
    if d.source == "files":
        for key in ("train_files", "valid_files", "test_files"):
            files = tuple(d.get(key) or ())
            if data_dir:
                files = tuple(os.path.join(data_dir, os.path.basename(f)) for f in files)
            for f in files:
                if not os.path.exists(f):
                    raise FileNotFoundError(f"data file {f} (config data.{key}) not found: pass --data_dir=<directory "
                                            f"holding {os.path.basename(f)}>")
            setattr(d, key, files)
    return config


def evaluate_model(model, vocab, config, out, settings=EvalSettings(), source="", training_log=""):
    """Evaluates `model` on `config`'s data; writes metrics.json, report.md, samples and plots to `out`."""
    t_all = time.time()
    os.makedirs(out, exist_ok=True)
    cache = settings.cache_dir or os.path.join(out, "cache")
    if settings.test_files:
        config.data.test_files = tuple(settings.test_files)
    train = train_lib.load_examples(config.data, "train")
    test = train_lib.load_examples(config.data, "test")
    train_text, test_text = [t for t, _ in train], [t for t, _ in test]
    test_split = "test" if (config.data.get("test_files") or config.data.source != "files") else "valid"
    _log(f"{source or out}: {config.model}, {len(train)} train / {len(test)} {test_split} sentences")
    m = {"workdir": source, "model": config.model, "test_split": test_split,
         "settings": dataclasses.asdict(settings), "command": sys.argv}

    t = time.time()
    m["reconstruction"], recon_examples, recon_texts = reconstruction_report(model, vocab, test, config,
                                                                             settings.decode_max_len)
    _log(f"reconstruction: {m['reconstruction']} ({time.time() - t:.0f}s)")

    if pipeline.has_sources(test):
        t = time.time()
        m["dialog"] = dialog_report(model, vocab, test, config, settings.decode_max_len, settings.seed,
                                    greedy_replies=recon_texts)
        _log(f"dialog: BLEU-2 {m['dialog']['bleu2']:.2f} BLEU-4 {m['dialog']['bleu4']:.2f} "
             f"Dist-1 {m['dialog']['dist1']:.3f} ({time.time() - t:.0f}s)")

    if isinstance(model, AE):
        train_ds = pipeline.make_dataset(train, vocab, 256, config.data.max_len, shuffle=True, seed=settings.seed)
        model.fit_code_distribution(train_ds, max_batches=200)
    samples = _decode_in_batches(model, vocab, settings.num_samples, settings.seed, settings.decode_max_len,
                                 "prior samples")
    with open(os.path.join(out, "samples.txt"), "w") as f:
        f.writelines(s + "\n" for s in samples)
    m["samples"] = distribution.distribution_report(samples, train_text)
    m["samples"]["n"] = len(samples)
    # UniKL at one fixed count for every model, beside real held-out text measured the same way.
    m["samples"].update(distribution.matched_unigram_kl(samples, test_text, train_text, settings.unikl_sentences,
                                                        settings.seed))

    t = time.time()
    real_lm = lm_lib.cached_lm(os.path.join(cache, "lm_real"), train_text, vocab, settings.lm)
    m["lm"] = {"settings": dataclasses.asdict(settings.lm), "test_ppl_real": lm_lib.perplexity(
        real_lm, test_text, vocab, max_len=settings.lm.max_len)}
    m["samples"]["forward_ppl"] = lm_lib.forward_ppl(samples, real_lm, vocab, settings.lm)
    if settings.reverse_samples >= 0:  # < 0: no reverse PPL (it trains one LM per model)
        n_rev = settings.reverse_samples or len(samples)
        m["samples"]["reverse_ppl"] = lm_lib.reverse_ppl(samples[:n_rev], test_text, vocab, settings.lm)
        m["samples"]["reverse_ppl_samples"] = n_rev
    _log(f"samples: {m['samples']} ({time.time() - t:.0f}s)")

    clf = None
    if config.data.num_classes >= 2:
        clf = classifier_lib.cached_classifier(os.path.join(cache, "fasttext"), train, settings.fasttext)
        pred = clf.predict(samples)
        m["classifier"] = {"test_accuracy": clf.accuracy(test_text, [y for _, y in test]),
                           "settings": dataclasses.asdict(settings.fasttext),
                           "sample_class_shares": [pred.count(c) / len(pred) for c in range(clf.num_classes)]}
        _log(f"classifier: {m['classifier']}")

    if isinstance(model, ARAETransfer):
        t = time.time()
        m["transfer"] = transfer_report(model, vocab, train, test, settings, real_lm, clf,
                                        m.get("classifier", {}).get("test_accuracy"))
        _log(f"transfer: {m['transfer']} ({time.time() - t:.0f}s)")

    t = time.time()
    diag = test_text[: settings.diagnostic_sentences]
    z = model.encode(diag)
    z_fake = model.sample_codes(len(diag), seed=settings.seed).numpy()
    m["latent"] = {"z": latent.code_statistics(z), "z_prior": latent.code_statistics(z_fake),
                   "swap_nll": latent.swap_nll_curve(model, vocab, diag, settings.swap_max_k, settings.seed),
                   "edit_cosine": latent.edit_cosine(model, vocab, diag, seed=settings.seed)}
    sigma = latent.sigma_values(model, vocab, diag)
    if sigma is not None:
        m["latent"]["sigma"] = {"mean": float(sigma.mean()), "median": float(np.median(sigma)),
                                "share_below_0.01": float((sigma < 0.01).mean())}
    pairs = [(diag[i], diag[-1 - i]) for i in range(3)]
    interpolations = [model.interpolate(a, b, 5, settings.decode_max_len) for a, b in pairs]
    _log(f"latent diagnostics ({time.time() - t:.0f}s)")

    m["seconds"] = time.time() - t_all
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(m, f, indent=2)
    plots = _plots(training_log, out, m, z, z_fake, sigma)
    _write_report(out, m, recon_examples, samples, interpolations, plots)
    _log(f"wrote {out}/metrics.json and report.md in {m['seconds']:.0f}s")
    return m


# -- plots and report ---------------------------------------------------------
def _plots(log, out, m, z, z_fake, sigma):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    if log and os.path.exists(log):
        rows = [json.loads(l) for l in open(log) if l.strip()]
        keys = [k for k in ("train_rec_loss", "val_rec_loss", "val_token_acc", "val_bleu", "val_code_norm",
                            "prior_code_norm", "val_code_cov_trace", "prior_code_cov_trace", "train_critic_w")
                if any(k in r for r in rows)]
        if rows and keys:
            fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 3))
            for ax, k in zip(np.atleast_1d(axes), keys):
                pts = [(r["step"], r[k]) for r in rows if k in r]
                ax.plot(*zip(*pts), marker=".")
                ax.set_title(k, fontsize=9)
                ax.set_xlabel("iteration", fontsize=8)
            fig.tight_layout()
            fig.savefig(os.path.join(out, "training_curves.png"), dpi=80)
            plt.close(fig)
            made.append(("Training curves", "training_curves.png"))
    curve = m["latent"]["swap_nll"]
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([c["k"] for c in curve], [c["nll_sentence"] for c in curve], marker="o", label=m["model"])
    ax.set_xlabel("k random word swaps")
    ax.set_ylabel("NLL of the original sentence")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "swap_nll.png"), dpi=80)
    plt.close(fig)
    made.append(("k-swap reconstruction NLL (ARAE Fig. 4)", "swap_nll.png"))
    fig, ax = plt.subplots(figsize=(4, 3))
    norms = [np.linalg.norm(z, axis=1), np.linalg.norm(z_fake, axis=1)]
    lo, hi = min(map(np.min, norms)), max(map(np.max, norms))
    bins = np.linspace(lo - 0.05, hi + 0.05, 41)  # unit-norm codes have a zero range
    ax.hist(norms[0], bins=bins, alpha=0.6, label="‖z‖ (test)")
    ax.hist(norms[1], bins=bins, alpha=0.6, label="‖z̃‖ (prior)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "code_norms.png"), dpi=80)
    plt.close(fig)
    made.append(("Code norms", "code_norms.png"))
    if sigma is not None:
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.hist(sigma, bins=50)
        ax.set_xlabel("posterior σ")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "sigma_hist.png"), dpi=80)
        plt.close(fig)
        made.append(("Posterior σ histogram", "sigma_hist.png"))
    return made


def _fmt(x):
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _write_report(out, m, recon_examples, samples, interpolations, plots):
    r, s, lat = m["reconstruction"], m["samples"], m["latent"]
    lines = [f"# Evaluation: {m['model']} ({m['workdir']})", "",
             f"Command: `{' '.join(m['command'])}`  ", f"Test split: {m['test_split']}; "
             f"{s['n']} greedy prior samples; wall time {m['seconds']:.0f}s.", "",
             "## Reconstruction", "", "| token acc | NLL/token | BLEU |", "|---|---|---|",
             f"| {r['token_acc']:.4f} | {r['nll_per_token']:.3f} | {r['bleu']:.2f} |", "",
             f"BLEU signature: `{r['bleu_signature']}`", "",
             "## Samples", "",
             "| forward PPL | reverse PPL | UniKL (real text) | entropy | avg len | Dist-1 | Dist-2 | distinct | copied |",
             "|---|---|---|---|---|---|---|---|---|",
             f"| {s['forward_ppl']:.1f} | {s.get('reverse_ppl', float('nan')):.1f} | {s['unigram_kl']:.3f} "
             f"({s.get('unigram_kl_real', float('nan')):.3f}, n {s.get('unigram_kl_n', s['n'])}) | {s['entropy']:.2f} "
             f"(corpus {s['corpus_entropy']:.2f}) | {s['avg_len']:.1f} (corpus {s['corpus_avg_len']:.1f}) | "
             f"{s['dist1']:.3f} | {s['dist2']:.3f} | {s['distinct_sentences']:.3f} | {s['copied_share']:.3f} |", "",
             f"Reference LM test perplexity on real data: {m['lm']['test_ppl_real']:.1f} "
             f"(settings `{m['lm']['settings']}`); reverse PPL from {s.get('reverse_ppl_samples', 0)} samples.", ""]
    if "classifier" in m:
        c = m["classifier"]
        lines += [f"fastText classifier test accuracy {c['test_accuracy']:.4f}; class shares of the samples "
                  f"{[round(x, 3) for x in c['sample_class_shares']]}.", ""]
    if "transfer" in m:
        tr = m["transfer"]
        lines += ["## Transfer (each test sentence to the other class)", "",
                  "| transfer accuracy | self-BLEU | forward PPL | reverse PPL | classifier test acc |",
                  "|---|---|---|---|---|",
                  f"| {tr.get('accuracy', float('nan')):.3f} | {tr['self_bleu']:.2f} | {tr['forward_ppl']:.1f} | "
                  f"{tr['reverse_ppl']:.1f} | {tr.get('classifier_test_accuracy', float('nan')):.3f} |", "",
                  f"Reverse PPL from an LM trained on {tr['reverse_ppl_sentences']} transferred training sentences.",
                  ""] + [f"- {a}  →  {b}" for a, b in tr["examples"][:10]] + [""]
    if "dialog" in m:
        d, ref = m["dialog"], m["dialog"]["reference"]
        lines += [f"## Replies to test contexts ({d['pairs']} pairs, code: {d['code']})", "",
                  "| | BLEU-2 | BLEU-4 | entropy | Dist-1 | Dist-2 | avg len |", "|---|---|---|---|---|---|---|",
                  f"| generated | {d['bleu2']:.2f} | {d['bleu4']:.2f} | {d['entropy']:.2f} | {d['dist1']:.3f} | "
                  f"{d['dist2']:.3f} | {d['avg_len']:.1f} |",
                  f"| test replies | – | – | {ref['entropy']:.2f} | {ref['dist1']:.3f} | {ref['dist2']:.3f} | "
                  f"{ref['avg_len']:.1f} |", ""] + [f"- {c}  →  {g}  (reference: {r})" for c, r, g in d["examples"]] + [""]
    lines += ["## Latent space", "",
              f"‖z‖ {lat['z']['norm']:.3f}, tr cov z {lat['z']['cov_trace']:.3f}; ‖z̃‖ {lat['z_prior']['norm']:.3f}, "
              f"tr cov z̃ {lat['z_prior']['cov_trace']:.3f}.", "",
              "| k swaps | " + " | ".join(str(c["k"]) for c in lat["swap_nll"]) + " |",
              "|---" * (len(lat["swap_nll"]) + 1) + "|",
              "| NLL/sentence | " + " | ".join(f"{c['nll_sentence']:.2f}" for c in lat["swap_nll"]) + " |",
              "| NLL/token | " + " | ".join(f"{c['nll_token']:.3f}" for c in lat["swap_nll"]) + " |", "",
              "Cosine of codes at word edit distance k: " +
              ", ".join(f"k={e['k']}: {e['cosine']:.3f}" for e in lat["edit_cosine"]["by_edits"]) +
              f"; random pairs: {lat['edit_cosine']['random_pairs']:.3f}.", ""]
    if "sigma" in lat:
        lines += [f"Posterior σ: {', '.join(f'{k} {_fmt(v)}' for k, v in lat['sigma'].items())}.", ""]
    for title, png in plots:
        lines += [f"### {title}", "", f"![{title}]({png})", ""]
    lines += ["## Reconstructions (test, greedy)", ""] + [f"- {a}  →  {b}" for a, b in recon_examples] + [""]
    lines += ["## Interpolations", ""]
    for path in interpolations:
        lines += [f"{i}. {s_}" for i, s_ in enumerate(path)] + [""]
    lines += ["## Prior samples", ""] + [f"- {x}" for x in samples[:20]] + [""]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines))


def comparison_table(metric_dicts, names):
    """A Markdown table of the headline numbers of several evaluations, side by side."""
    rows = [("reconstruction BLEU", lambda m: m["reconstruction"]["bleu"]),
            ("token accuracy", lambda m: m["reconstruction"]["token_acc"]),
            ("forward PPL", lambda m: m["samples"]["forward_ppl"]),
            ("reverse PPL", lambda m: m["samples"].get("reverse_ppl", "–")),
            ("UniKL", lambda m: m["samples"]["unigram_kl"]),
            ("entropy", lambda m: m["samples"]["entropy"]),
            ("avg length", lambda m: m["samples"]["avg_len"]),
            ("Dist-1", lambda m: m["samples"]["dist1"]),
            ("Dist-2", lambda m: m["samples"]["dist2"]),
            ("distinct samples", lambda m: m["samples"]["distinct_sentences"]),
            ("copied from train", lambda m: m["samples"]["copied_share"]),
            ("‖z̃‖", lambda m: m["latent"]["z_prior"]["norm"]),
            ("transfer accuracy", lambda m: m.get("transfer", {}).get("accuracy", "–")),
            ("transfer self-BLEU", lambda m: m.get("transfer", {}).get("self_bleu", "–")),
            ("transfer forward PPL", lambda m: m.get("transfer", {}).get("forward_ppl", "–")),
            ("transfer reverse PPL", lambda m: m.get("transfer", {}).get("reverse_ppl", "–")),
            ("k-swap NLL k=0..4", lambda m: " / ".join(f"{c['nll_sentence']:.2f}" for c in m["latent"]["swap_nll"]))]
    lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for label, get in rows:
        lines.append(f"| {label} | " + " | ".join(_fmt(get(m)) for m in metric_dicts) + " |")
    return "\n".join(lines)
