"""The papers' tables re-measured: our evaluations beside the papers' numbers (SPEC 4).

`wae_table` (stochastic-WAE Table 1, SNLI), `dialog_table` (its Table 2, DailyDialog),
`arae_generation_table` (ARAE Table 1) and `transfer_table` (ARAE Table 3, Yelp) put the reports
that `evaluate_workdir` wrote (`load_eval`) beside the paper's rows; `write_table` is what
`python -m arae_tf.tables` writes; `sigma_histogram` plots the posterior sigmas of
Gaussian-encoder models.
"""

import json
import os

from arae_tf.evaluation.report import num

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

# ARAE Table 1 (SNLI generation): reverse PPL, forward PPL ("Real data": the LM trained on real text).
ARAE_SNLI = {
    "Real data": (27.4, None),
    "LM samples": (90.6, 18.8),
    "AE samples": (97.3, 87.8),
    "ARAE samples": (82.2, 44.3),
    "AAE samples": (980.0, None),
}

# ARAE Table 3 (Yelp sentiment transfer): transfer accuracy %, self-BLEU, forward PPL, reverse PPL.
ARAE_YELP = {
    "Cross-aligned AE": (77.1, 17.75, 65.9, 124.2),
    "AE": (59.3, 37.28, 31.9, 68.9),
    "ARAE, λ₁ = 1": (73.4, 31.15, 29.7, 70.1),
    "ARAE, λ₁ = 10": (81.8, 20.18, 27.7, 77.0),
}

TABLES = {"wae_snli": (WAE_SNLI, WAE_SNLI_CORPUS), "wae_dialog": (WAE_DIALOG, WAE_DIALOG_CORPUS),
          "arae_snli": (ARAE_SNLI, None), "arae_yelp": (ARAE_YELP, None)}


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
    """Markdown for [(row name, metrics dict)]: ours and the paper's BLEU, PPL, UniKL, entropy, length.
    Every row's reconstructions must be greedy, as the paper's (`ValueError` otherwise)."""
    _check_rows(rows, paper)
    beam = [n for n, m in rows if m["reconstruction"].get("decoding", "greedy") != "greedy"]
    if beam:
        raise ValueError(f"rows {beam} were reconstructed with other decoding than greedy, the paper's: evaluate "
                         f"them without --reconstruction_decoding")
    head = ("| model | BLEU | forward PPL | UniKL | entropy | avg len | paper BLEU | paper PPL | paper UniKL "
            "| paper entropy | paper avg len |")
    lines = [head, "|---" * 11 + "|"]
    for name, m in rows:
        r, s = m["reconstruction"], m["samples"]
        ours = (r["bleu"], s.get("forward_ppl"), s["unigram_kl"], s["entropy"], s["avg_len"])
        lines.append(f"| {name} | " + " | ".join(num(v, d) for v, d in zip(ours + paper[name], (2, 1, 3, 2, 1) * 2))
                     + " |")
    s = rows[0][1]["samples"]
    # Real test sentences' UniKL at the rows' sample count (evaluations since session 10; earlier ones: "-").
    ours = (None, None, s.get("unigram_kl_real"), s["corpus_entropy"], s["corpus_avg_len"])
    lines.append("| corpus (test) | " + " | ".join(num(v, d) for v, d in zip(ours + corpus, (2, 1, 3, 2, 1) * 2))
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
        lines.append(f"| {name} | " + " | ".join(num(v, k) for v, k in zip(ours + paper[name], digits)) + " |")
    ref = rows[0][1]["dialog"]["reference"]
    ours = (None, None, ref["entropy"], ref["dist1"], ref["dist2"])
    lines.append("| test replies | " + " | ".join(num(v, k) for v, k in zip(ours + corpus, digits)) + " |")
    return "\n".join(lines)


def _require_whole_test_split(m, what):
    """ARAE Table 1's rows and baselines score the same test sentences: refuse a report of another split."""
    if m["settings"].get("test_files") or m["settings"].get("test_max_words"):
        raise ValueError(f"{what} was evaluated on --test_files or --test_max_words: its reverse PPL is of other test "
                         "sentences than the baselines'; evaluate on the config's whole test split")


def _report_workdir(report_dir, m):
    """The workdir of a report folder `<workdir>/eval[-...]` (else the workdir its metrics record)."""
    if str(m.get("workdir", "")).startswith("zoo:"):
        raise ValueError(f"{report_dir} is a zoo preset's report; ARAE Table 1's baselines need a training workdir's "
                         "report (python -m arae_tf.evaluate --workdir=...)")
    if os.path.basename(os.path.normpath(report_dir)).startswith("eval"):
        return os.path.dirname(os.path.normpath(report_dir))
    return m["workdir"].split(" checkpoint ")[0]


def _local_path(recorded, workdir):
    """The cache folder a report records, on this machine: absolute as recorded (reports before session
    17); relative, against the workdir (`evaluation.suite` records it so), else against the current
    folder (older reports of a relative --cache_dir)."""
    if os.path.isabs(recorded):
        return recorded
    beside = os.path.normpath(os.path.join(workdir, recorded))
    if os.path.exists(beside) or not os.path.exists(recorded):
        return beside
    return recorded


def lm_rows(workdir_eval, out_json=""):
    """ARAE Table 1's "Real data" and "LM samples" rows, measured like the model rows of the evaluation
    report `workdir_eval` (its data, vocabulary, reference LM cache, sample count and LM settings):

    * Real data: the test sentences' PPL under an LM trained on as many real training sentences as the
      models' reverse-PPL LMs read samples;
    * LM samples: as many sentences drawn from the reference LM (trained on the real training split),
      scored as a model's samples (forward PPL under that LM, reverse PPL of the test text).
    Cached in `out_json` (default `<report dir>/lm_rows.json`). Returns {row: {"reverse_ppl", ...}}."""
    import dataclasses

    from arae_tf.data.sources import load_examples
    from arae_tf.metrics import lm as lm_lib
    from arae_tf.workdir import config_from_dict, load_trained
    m = load_eval(workdir_eval)
    report_dir = workdir_eval if os.path.exists(os.path.join(workdir_eval, "metrics.json")) else os.path.join(
        workdir_eval, "eval")
    out_json = out_json or os.path.join(report_dir, "lm_rows.json")
    if "reverse_ppl_samples" not in m.get("samples", {}):
        raise ValueError(f"{report_dir}/metrics.json has no reverse PPL (evaluated with --reverse_samples=-1?): "
                         "evaluate with reverse PPL first")
    _require_whole_test_split(m, f"{report_dir}/metrics.json")
    key = {"lm": m["settings"]["lm"], "n": m["samples"]["reverse_ppl_samples"],
           "decode_max_len": m["settings"]["decode_max_len"], "workdir": m["workdir"]}
    if os.path.exists(out_json):
        with open(out_json) as f:
            cached = json.load(f)
        if cached.get("key") == key:
            return cached
    workdir = _report_workdir(report_dir, m)
    _, vocab, config = load_trained(workdir)
    settings = lm_lib.LMSettings(**m["settings"]["lm"])
    n = min(m["samples"]["reverse_ppl_samples"], m["samples"]["n"])
    cache = _local_path(m["settings"]["cache_dir"], workdir) if m["settings"]["cache_dir"] else os.path.join(
        report_dir, "cache")
    train = [t for t, _ in load_examples(config.data, "train")]
    test = [t for t, _ in load_examples(config.data, "test")]
    real_lm = lm_lib.cached_lm(os.path.join(cache, "lm_real"), train, vocab, settings)
    import numpy as np
    order = np.random.default_rng(settings.seed).permutation(len(train))[:n]
    real = lm_lib.reverse_ppl([train[i] for i in order], test, vocab, settings)
    drawn = lm_lib.sample_lm(real_lm, vocab, n, seed=settings.seed, max_len=m["settings"]["decode_max_len"])
    rows = {"Real data": {"reverse_ppl": real, "sentences": n},
            "LM samples": {"reverse_ppl": lm_lib.reverse_ppl(drawn, test, vocab, settings),
                           "forward_ppl": lm_lib.forward_ppl(drawn, real_lm, vocab, settings), "sentences": n},
            "settings": dataclasses.asdict(settings), "source": workdir_eval, "key": key}
    with open(out_json, "w") as f:
        json.dump(rows, f, indent=2)
    return rows


def arae_generation_table(rows, baselines, paper=ARAE_SNLI):
    """ARAE Table 1: [(row name, metrics dict)] of model samples and the `lm_rows` baselines, ours
    beside the paper's reverse and forward PPL, with the samples' distinct share and length. Every row
    must have been measured with the baselines' LM recipe and sample count (`ValueError` otherwise)."""
    _check_rows(rows, paper)
    for name, m in rows:
        s = m["samples"]
        _require_whole_test_split(m, f"row {name!r}")
        if m["settings"]["lm"] != baselines["settings"] or min(s.get("reverse_ppl_samples", -1), s["n"]) != \
                baselines["Real data"]["sentences"]:
            raise ValueError(f"row {name!r} was evaluated with other LM settings or another sample count than the "
                             "baselines: evaluate every row with the same --num_samples, --reverse_samples and LM flags")
    lines = ["| samples | reverse PPL | forward PPL | distinct | avg len | paper reverse PPL | paper forward PPL |",
             "|---|---|---|---|---|---|---|"]
    for name in ("Real data", "LM samples"):
        b = baselines[name]
        lines.append(f"| {name} | {num(b['reverse_ppl'], 1)} | {num(b.get('forward_ppl'), 1)} | – | – | "
                     f"{num(paper[name][0], 1)} | {num(paper[name][1], 1)} |")
    for name, m in rows:
        s = m["samples"]
        lines.append(f"| {name} | {num(s.get('reverse_ppl'), 1)} | {num(s.get('forward_ppl'), 1)} | "
                     f"{num(s.get('distinct_sentences'), 3)} | {num(s['avg_len'], 1)} | {num(paper[name][0], 1)} | "
                     f"{num(paper[name][1], 1)} |")
    n = baselines["Real data"]["sentences"]
    lines += ["", f"Reverse PPL: the test sentences' perplexity under an LM trained on {n:,} sentences of each row "
              "(real training sentences for \"Real data\"); forward PPL: the samples' perplexity under the LM trained "
              "on the real training split (for \"LM samples\", the LM that drew them). One LM recipe for every row."]
    return "\n".join(lines)


def transfer_table(rows, paper=ARAE_YELP):
    """ARAE Table 3: [(row name, metrics dict with "transfer")] beside the paper's transfer accuracy,
    self-BLEU, forward and reverse PPL. Every row must be a whole-test-split report made with one LM
    recipe and one reverse-PPL sentence count (`ValueError` otherwise), so the PPL columns compare."""
    _check_rows(rows, paper)
    missing = [n for n, m in rows if "transfer" not in m]
    if missing:
        raise KeyError(f"rows {missing} have no transfer metrics: are they transfer models with a classifier?")
    for name, m in rows:
        _require_whole_test_split(m, f"row {name!r}")
    first = rows[0][1]
    for name, m in rows[1:]:
        if m["settings"]["lm"] != first["settings"]["lm"] or \
                m["transfer"]["reverse_ppl_sentences"] != first["transfer"]["reverse_ppl_sentences"]:
            raise ValueError(f"row {name!r} was evaluated with other LM settings or another reverse-PPL sentence count "
                             f"than row {rows[0][0]!r}: evaluate every row with the same --num_samples and LM flags")
        if m["transfer"].get("decoding", {}) != first["transfer"].get("decoding", {}):
            raise ValueError(f"row {name!r} decoded its transfers otherwise ({m['transfer'].get('decoding') or 'greedy'}) "
                             f"than row {rows[0][0]!r} ({first['transfer'].get('decoding') or 'greedy'}): evaluate "
                             f"every row with the same --transfer_decoding")
    lines = ["| model | transfer | self-BLEU | forward PPL | reverse PPL | paper transfer | paper BLEU | "
             "paper forward PPL | paper reverse PPL |", "|---" * 9 + "|"]
    for name, m in rows:
        t = m["transfer"]
        acc = None if t.get("accuracy") is None else 100.0 * t["accuracy"]
        ours = (acc, t["self_bleu"], t["forward_ppl"], t["reverse_ppl"])
        cells = [num(v, d) for v, d in zip(ours + paper[name], (1, 2, 1, 1) * 2)]
        cells[0] += "%" if acc is not None else ""
        cells[4] += "%"
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    t = first["transfer"]
    from arae_tf.models.text_api import decoding_words
    decoding = decoding_words(t.get("decoding", {}))
    lines += ["", f"{t['sentences']:,} test sentences, each sent to the other class ({decoding}). Transfer: the share the fastText "
              f"classifier (test accuracy {num(t.get('classifier_test_accuracy'), 3)}) assigns to the target class; "
              "self-BLEU against the sources; forward PPL of the transfers under the LM trained on real training text; "
              f"reverse PPL of the real test sentences under an LM trained on {t['reverse_ppl_sentences']:,} transferred "
              "training sentences. The paper's numbers are on its own Yelp split, with its own classifier and LMs."]
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


def _portable_args(args):
    """The tables command's arguments with this machine's folders made checkout-relative
    (`preset_lib.portable`), the folder holding the rows' workdirs standing for `workdirs/`."""
    from arae_tf.preset_lib import portable, workdir_roots
    return portable(list(args), roots=workdir_roots(args, ("--row=", "--sigma_row=")))


def write_table(table, named_workdirs, out="", args=()):
    """The Markdown of paper table `table` (a key of `TABLES`) for [(paper row name, workdir or
    `workdir/eval-<step>`)], ending with the command (`args`: its arguments) that made it; also
    written to `out` when given. Returns the text."""
    rows = [(name, load_eval(workdir)) for name, workdir in named_workdirs]
    paper, corpus = TABLES[table]
    if table == "arae_snli":
        text = arae_generation_table(rows, lm_rows(named_workdirs[0][1]), paper)
    elif table == "arae_yelp":
        text = transfer_table(rows, paper)
    else:
        text = (dialog_table if table == "wae_dialog" else wae_table)(rows, paper, corpus)
    text += "\n\nGenerated by: `python -m arae_tf.tables " + " ".join(f"'{a}'" for a in _portable_args(args)) + "`\n"
    if out:
        with open(out, "w") as f:
            f.write(text)
    return text
