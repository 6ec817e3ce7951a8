"""The evaluation report: PNG plots, `report.md`, and a Markdown table comparing evaluations."""

import json
import os

import numpy as np


MISSING = "–"


def num(x, digits):
    """`x` with `digits` decimals for a report table; "–" where the figure is missing (None or NaN), as
    every report, card and paper table writes it."""
    if x is None or (isinstance(x, float) and x != x):
        return MISSING
    return f"{x:.{digits}f}"


def plots(log, out, m, z, z_fake, sigma):
    """PNG plots into `out`: training curves from the training log `log` (where there is one), the k-swap
    NLL curve, code norms of z and z~, the posterior-sigma histogram; returns [(title, file name)]."""
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


def fmt(x):
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def length_lines(r):
    """Report lines on a reconstruction report's BLEU by reference length (`bleu_by_length`); none for
    reports that predate it."""
    if not r.get("bleu_by_length"):
        return []
    return ["Reconstruction BLEU by reference length: " + "; ".join(
        f"{b['words']} words {b['bleu']:.2f} ({b['sentences']} sentences, avg {b['avg_words']:.1f})"
        for b in r["bleu_by_length"]) + ".", ""]


def in_vocabulary_lines(s):
    """Report lines on a samples report's UniKL and entropy in the model's own vocabulary (the
    `unigram_kl_vocab*` keys of `evaluation.samples.samples_report`); none for reports that predate them."""
    if "unigram_kl_vocab" not in s:
        return []
    return [f"In the model's vocabulary (every word it lacks as `<unk>`, real text and corpus alike): UniKL "
            f"{s['unigram_kl_vocab']:.3f} (real text {s['unigram_kl_vocab_real']:.3f}, n {s['unigram_kl_n']}), "
            f"sample entropy {s['entropy']:.2f} (corpus {s['corpus_entropy_vocab']:.2f}).", ""]


def _length_note(m):
    n = m.get("settings", {}).get("test_max_words", 0)
    return f" (sentences of at most {n} words)" if n else ""


def write_report(out, m, recon_examples, samples, interpolations, figures):
    """Writes `out/report.md`: the metrics `m` of `evaluate_model` as Markdown tables, examples, and
    the `figures` ([(title, PNG file name)], from `plots`)."""
    r, s, lat = m["reconstruction"], m["samples"], m["latent"]
    from arae_tf.preset_lib import command_line, portable_path
    source = m.get("workdir") or "preset"
    where = portable_path(source) if os.path.isabs(source) else source  # reports record portable paths
    lines = [f"# Evaluation: {m['model']} ({where})", "",
             f"Command: `{command_line(m['command'])}`  ", f"Test split: {m['test_split']}{_length_note(m)}; "
             f"{s['n']} greedy prior samples; wall time {m['seconds']:.0f}s.", "",
             "## Reconstruction", "", f"| token acc | NLL/token | BLEU ({r.get('decoding', 'greedy')}) |", "|---|---|---|",
             f"| {r['token_acc']:.4f} | {r['nll_per_token']:.3f} | {r['bleu']:.2f} |", "",
             f"BLEU signature: `{r['bleu_signature']}`", "",
             *length_lines(r),
             "## Samples", "",
             "| forward PPL | reverse PPL | UniKL (real text) | entropy | avg len | Dist-1 | Dist-2 | distinct | copied |",
             "|---|---|---|---|---|---|---|---|---|",
             f"| {num(s.get('forward_ppl'), 1)} | {num(s.get('reverse_ppl'), 1)} | {s['unigram_kl']:.3f} "
             f"({num(s.get('unigram_kl_real'), 3)}, n {s.get('unigram_kl_n', s['n'])}) | {s['entropy']:.2f} "
             f"(corpus {s['corpus_entropy']:.2f}) | {s['avg_len']:.1f} (corpus {s['corpus_avg_len']:.1f}) | "
             f"{s['dist1']:.3f} | {s['dist2']:.3f} | {s['distinct_sentences']:.3f} | {s['copied_share']:.3f} |", "",
             *in_vocabulary_lines(s),
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
                  f"| {num(tr.get('accuracy'), 3)} | {tr['self_bleu']:.2f} | {tr['forward_ppl']:.1f} | "
                  f"{tr['reverse_ppl']:.1f} | {num(tr.get('classifier_test_accuracy'), 3)} |", "",
                  f"Reverse PPL from an LM trained on {tr['reverse_ppl_sentences']} transferred training sentences.",
                  ""] + [f"- {a}  →  {b}" for a, b in tr["examples"][:10]] + [""]
    if "dialog" in m:
        d, ref = m["dialog"], m["dialog"]["reference"]
        lines += [f"## Replies to test contexts ({d['pairs']} pairs, code: {d['code']})", "",
                  "| | BLEU-2 | BLEU-4 | entropy | Dist-1 | Dist-2 | avg len | distinct replies |",
                  "|---|---|---|---|---|---|---|---|",
                  f"| generated | {d['bleu2']:.2f} | {d['bleu4']:.2f} | {d['entropy']:.2f} | {d['dist1']:.3f} | "
                  f"{d['dist2']:.3f} | {d['avg_len']:.1f} | {num(d.get('distinct'), 3)} |",
                  f"| test replies | – | – | {ref['entropy']:.2f} | {ref['dist1']:.3f} | {ref['dist2']:.3f} | "
                  f"{ref['avg_len']:.1f} | {num(ref.get('distinct'), 3)} |", ""] + [f"- {c}  →  {g}  (reference: {r})" for c, r, g in d["examples"]] + [""]
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
        lines += [f"Posterior σ: {', '.join(f'{k} {fmt(v)}' for k, v in lat['sigma'].items())}.", ""]
    for title, png in figures:
        lines += [f"### {title}", "", f"![{title}]({png})", ""]
    lines += [f"## Reconstructions (test, {r.get('decoding', 'greedy')})", ""] + [f"- {a}  →  {b}" for a, b in recon_examples] + [""]
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
            ("forward PPL", lambda m: m["samples"].get("forward_ppl", MISSING)),
            ("reverse PPL", lambda m: m["samples"].get("reverse_ppl", MISSING)),
            ("UniKL", lambda m: m["samples"]["unigram_kl"]),
            ("entropy", lambda m: m["samples"]["entropy"]),
            ("avg length", lambda m: m["samples"]["avg_len"]),
            ("Dist-1", lambda m: m["samples"]["dist1"]),
            ("Dist-2", lambda m: m["samples"]["dist2"]),
            ("distinct samples", lambda m: m["samples"]["distinct_sentences"]),
            ("copied from train", lambda m: m["samples"]["copied_share"]),
            ("‖z̃‖", lambda m: m["latent"]["z_prior"]["norm"]),
            ("transfer accuracy", lambda m: m.get("transfer", {}).get("accuracy", MISSING)),
            ("transfer self-BLEU", lambda m: m.get("transfer", {}).get("self_bleu", MISSING)),
            ("transfer forward PPL", lambda m: m.get("transfer", {}).get("forward_ppl", MISSING)),
            ("transfer reverse PPL", lambda m: m.get("transfer", {}).get("reverse_ppl", MISSING)),
            ("k-swap NLL k=0..4", lambda m: " / ".join(f"{c['nll_sentence']:.2f}" for c in m["latent"]["swap_nll"]))]
    lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for label, get in rows:
        lines.append(f"| {label} | " + " | ".join(fmt(get(m)) for m in metric_dicts) + " |")
    return "\n".join(lines)
