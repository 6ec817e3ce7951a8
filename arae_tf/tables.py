r"""Re-measured paper tables: our evaluations side by side with the papers' numbers (SPEC 4).

Reads `<workdir>/eval/metrics.json` written by `python -m arae_tf.evaluate` and writes Markdown:

    python -m arae_tf.tables --table=wae_snli --out=docs/wae_table.md \
        --row="DAE=workdirs/snli/dae" --row="VAE (KL-annealed)=workdirs/snli/vae" ...

    python -m arae_tf.tables --table=wae_dialog --row="DED=workdirs/dialog/ded" ...

    python -m arae_tf.tables --sigma_row="WAE-S λ_KL=0=workdirs/snli/wae_s0" --sigma_png=docs/sigma.png

Row names must be the papers' row names (listed by `--table` errors) so the paper's numbers can
be put beside them.
"""

import json
import os
import sys

from absl import app, flags

from arae_tf import cli

# Stochastic WAE Table 1 (SNLI): BLEU, PPL, UniKL, entropy, average length.
WAE_SNLI = {
    "DAE": (86.35, 146.2, 0.178, 6.23, 11.0),
    "VAE (KL-annealed)": (43.18, 79.4, 0.081, 5.04, 8.8),
    "WAE-D λ=3": (86.03, 113.8, 0.071, 5.59, 10.0),
    "WAE-D λ=10": (84.29, 104.9, 0.073, 5.57, 9.9),
    "WAE-S λ_KL=0": (75.66, 115.2, 0.069, 5.61, 9.9),
    "WAE-S λ_KL=0.01": (82.01, 84.9, 0.058, 5.26, 9.4),
    "WAE-S λ_KL=0.1": (47.63, 62.5, 0.150, 4.65, 8.7),
}
WAE_SNLI_CORPUS = (None, None, 0.0, 5.65, 9.6)

# Stochastic WAE Table 2 (DailyDialog): BLEU-2, BLEU-4, entropy, Dist-1, Dist-2.
WAE_DIALOG = {
    "DED": (3.96, 0.85, 5.55, 0.044, 0.275),
    "VED": (3.26, 0.59, 5.45, 0.053, 0.204),
    "WED-D": (4.05, 0.98, 5.53, 0.042, 0.272),
    "WED-S": (3.72, 0.69, 5.59, 0.066, 0.309),
}
WAE_DIALOG_CORPUS = (None, None, 6.15, 0.077, 0.414)

TABLES = {"wae_snli": (WAE_SNLI, WAE_SNLI_CORPUS), "wae_dialog": (WAE_DIALOG, WAE_DIALOG_CORPUS)}


def _fmt(x, digits):
    return "–" if x is None else f"{x:.{digits}f}"


def load_eval(workdir):
    """The evaluation report of a workdir (`<workdir>/eval/metrics.json`), or of an evaluation directory
    given directly (`<workdir>/eval-<step>`, written by `evaluate --checkpoint=<step>`)."""
    path = os.path.join(workdir, "metrics.json")
    if not os.path.exists(path):
        path = os.path.join(workdir, "eval", "metrics.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: run `python -m arae_tf.evaluate --workdir={workdir}` first")
    with open(path) as f:
        return json.load(f)


def _check_rows(rows, paper):
    unknown = [n for n, _ in rows if n not in paper]
    if unknown:
        raise KeyError(f"rows {unknown} are not rows of the paper's table; known: {list(paper)}")


def wae_table(rows, paper=WAE_SNLI, corpus=WAE_SNLI_CORPUS):
    """Markdown for [(row name, metrics dict)]: ours and the paper's BLEU, PPL, UniKL, entropy, length."""
    _check_rows(rows, paper)
    head = ("| model | BLEU | forward PPL | UniKL | entropy | avg len | paper BLEU | paper PPL | paper UniKL "
            "| paper entropy | paper avg len |")
    lines = [head, "|---" * 11 + "|"]
    for name, m in rows:
        r, s = m["reconstruction"], m["samples"]
        ours = (r["bleu"], s["forward_ppl"], s["unigram_kl"], s["entropy"], s["avg_len"])
        lines.append(f"| {name} | " + " | ".join(_fmt(v, d) for v, d in zip(ours + paper[name], (2, 1, 3, 2, 1) * 2))
                     + " |")
    s = rows[0][1]["samples"]
    # Real test sentences' UniKL at the rows' sample count (evaluations since session 10; earlier ones: "-").
    ours = (None, None, s.get("unigram_kl_real"), s["corpus_entropy"], s["corpus_avg_len"])
    lines.append("| corpus (test) | " + " | ".join(_fmt(v, d) for v, d in zip(ours + corpus, (2, 1, 3, 2, 1) * 2))
                 + " |")
    return "\n".join(lines)


def dialog_table(rows, paper=WAE_DIALOG, corpus=WAE_DIALOG_CORPUS):
    """Markdown for [(row name, metrics dict with "dialog")]: ours and the paper's Table 2 columns."""
    _check_rows(rows, paper)
    missing = [n for n, m in rows if "dialog" not in m]
    if missing:
        raise KeyError(f"rows {missing} have no dialog metrics: were they trained on context/reply pairs?")
    cols = ("BLEU-2", "BLEU-4", "entropy", "Dist-1", "Dist-2")
    lines = ["| model | " + " | ".join(cols) + " | " + " | ".join("paper " + c for c in cols) + " |",
             "|---" * 11 + "|"]
    digits = (2, 2, 2, 3, 3) * 2
    for name, m in rows:
        d = m["dialog"]
        ours = (d["bleu2"], d["bleu4"], d["entropy"], d["dist1"], d["dist2"])
        lines.append(f"| {name} | " + " | ".join(_fmt(v, k) for v, k in zip(ours + paper[name], digits)) + " |")
    ref = rows[0][1]["dialog"]["reference"]
    ours = (None, None, ref["entropy"], ref["dist1"], ref["dist2"])
    lines.append("| test replies | " + " | ".join(_fmt(v, k) for v, k in zip(ours + corpus, digits)) + " |")
    return "\n".join(lines)


def sigma_histogram(rows, out_png, num_sentences=1000):
    """One PNG overlaying the posterior-sigma histograms of Gaussian-encoder models [(name, workdir)],
    each on the first `num_sentences` sentences of its test split. Returns {name: median sigma}."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from arae_tf import train_lib
    from arae_tf.evaluation import load_trained
    from arae_tf.metrics import latent

    fig, ax = plt.subplots(figsize=(6, 3.5))
    medians = {}
    for name, workdir in rows:
        model, vocab, config = load_trained(workdir)
        sentences = [t for t, _ in train_lib.load_examples(config.data, "test")][:num_sentences]
        sigma = latent.sigma_values(model, vocab, sentences)
        if sigma is None:
            raise ValueError(f"{workdir}: the model has no Gaussian encoder, so no sigma to plot")
        medians[name] = float(np.median(sigma))
        ax.hist(np.log10(np.maximum(sigma, 1e-6)), bins=60, alpha=0.6, label=f"{name} (median σ {medians[name]:.3g})")
    ax.set_xlabel("log10 σ (all latent dimensions, test sentences)")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    plt.close(fig)
    return medians


FLAGS = flags.FLAGS
flags.DEFINE_enum("table", "wae_snli", sorted(TABLES), "Which paper table.")
flags.DEFINE_multi_string("row", [], "`paper row name=workdir` (or `=workdir/eval-<step>` for a checkpoint's report), in table order.")
flags.DEFINE_string("out", "", "Markdown file to write (default: print).")
flags.DEFINE_multi_string("sigma_row", [], "`name=workdir` of a Gaussian-encoder model for the sigma histogram.")
flags.DEFINE_string("sigma_png", "", "With --sigma_row: the PNG to write.")


def _pairs(specs, flag):
    out = []
    for spec in specs:
        if "=" not in spec:
            raise app.UsageError(f"--{flag}={spec!r}: expected 'name=workdir'")
        out.append(tuple(spec.rsplit("=", 1)))  # row names may hold "=" (λ=3), paths do not
    return out


def main(argv):
    del argv
    if FLAGS.sigma_row:
        if not FLAGS.sigma_png:
            raise app.UsageError("--sigma_row needs --sigma_png")
        print("median sigma:", sigma_histogram(_pairs(FLAGS.sigma_row, "sigma_row"), FLAGS.sigma_png))
        if not FLAGS.row:
            return
    rows = [(name, load_eval(workdir)) for name, workdir in _pairs(FLAGS.row, "row")]
    if not rows:
        raise app.UsageError("give at least one --row")
    paper, corpus = TABLES[FLAGS.table]
    text = (dialog_table if FLAGS.table == "wae_dialog" else wae_table)(rows, paper, corpus)
    text += "\n\nGenerated by: `python -m arae_tf.tables " + " ".join(f"'{a}'" for a in sys.argv[1:]) + "`\n"
    if FLAGS.out:
        with open(FLAGS.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    cli.run(main)
