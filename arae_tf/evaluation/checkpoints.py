"""Checkpoint selection on the VALIDATION split: reconstruction BLEU and prior-sample UniKL per checkpoint.

`python -m arae_tf.checkpoint_sweep` runs `sweep` over a training workdir's checkpoints and prints
`sweep_table`; `choose` applies a rule fixed beforehand (the highest BLEU among checkpoints within a
UniKL bound and above a BLEU floor), so a preset is picked without looking at the test split.

Per checkpoint (`validation_measures`): greedy reconstruction BLEU of every validation sentence (with
`reconstruction.bleu_by_length` buckets and token accuracy; encoder-decoder data: the replies), and for
each sampling seed s, `num_samples` greedy samples of the model's prior (decoded with seed s × 100000)
measured as `evaluate` measures its samples (`samples.samples_report`, without the reference LM): UniKL
raw and in the model's vocabulary beside as many real validation sentences, entropy and length. The
figure `choose` bounds is the in-vocabulary UniKL averaged over the seeds.

Rows are cached beside the checkpoints (`<workdir>/checkpoint_sweep/ckpt-<step>.json`, keyed by the
weights' sha256 and the settings), so a sweep repeated while training goes on measures only new
checkpoints.
"""

import json
import os
import time

from absl import logging

from arae_tf.data.sources import load_examples
from arae_tf.evaluation import reconstruction, samples
from arae_tf.workdir import atomic_json, checkpoint_at, checkpoint_steps, load_trained

CACHE_DIR = "checkpoint_sweep"


def _log(msg):
    logging.info(f"[checkpoint_sweep] {msg}")


def validation_measures(model, vocab, config, seeds=(1, 2), num_samples=5000, max_len=20):
    """BLEU and prior-sample figures of one text model on its config's validation split (module doc).

    Returns {"bleu", "bleu_by_length", "token_acc", "sentences", "samples": {seed: samples_report dict},
    "unigram_kl_vocab": the mean over seeds, "unigram_kl_vocab_real", "entropy", "avg_len" (means)}."""
    from arae_tf.evaluation.suite import EvalSettings
    if vocab is None:
        raise ValueError("validation_measures is for text models; image models have no reconstruction BLEU "
                         "or UniKL (python -m arae_tf.evaluate reports their NLL per pixel)")
    if not seeds:
        raise ValueError("validation_measures: give at least one sampling seed")
    if num_samples < 1:
        raise ValueError(f"validation_measures: num_samples must be >= 1, got {num_samples}")
    valid, train = load_examples(config.data, "valid"), load_examples(config.data, "train")
    train_text = [t for t, _ in train]
    valid_text = [t for t, _ in valid]
    rec, _, _ = reconstruction.reconstruction_report(model, vocab, valid, config, max_len)
    out = {"bleu": rec["bleu"], "bleu_by_length": rec["bleu_by_length"], "token_acc": rec["token_acc"],
           "sentences": rec["sentences"], "samples": {}}
    if model.fits_codes:  # as evaluate: the prior fitted to the training stream's first batches
        samples.fit_codes(model, samples.code_fit_dataset(train, vocab, config), config)
    settings = EvalSettings(reverse_samples=-1, unikl_sentences=num_samples)
    for seed in seeds:
        texts = samples.decode_samples(model, vocab, num_samples, int(seed) * 100000, max_len)
        out["samples"][str(seed)] = samples.samples_report(texts, train_text, valid_text, vocab, settings, None)
    rows = list(out["samples"].values())
    for key in ("unigram_kl_vocab", "unigram_kl_vocab_real", "entropy", "avg_len"):
        out[key] = sum(r[key] for r in rows) / len(rows)
    return out


def _weights_digest(workdir, step):
    """The sha256 a checkpoint's marker records for its weights ("" where it records none)."""
    marker = checkpoint_at(workdir, step)[: -len(".weights.h5")] + ".json"
    with open(marker) as f:
        return json.load(f).get("weights_sha256", "")


def sweep(workdir, steps=(), seeds=(1, 2), num_samples=5000, max_len=20, log=_log):
    """`validation_measures` of the checkpoints `steps` of `workdir` (default: every complete one), oldest
    first; each row also has "checkpoint" (its step) and "seconds". A step without a complete checkpoint
    is an error naming the ones there, raised before anything is measured."""
    steps = sorted(set(int(s) for s in steps)) or checkpoint_steps(workdir)
    if not steps:
        raise FileNotFoundError(f"{workdir}/checkpoints holds no complete checkpoint to sweep")
    for step in steps:
        checkpoint_at(workdir, step)  # every step checked before the first is measured
    settings = {"seeds": [int(s) for s in seeds], "num_samples": int(num_samples), "max_len": int(max_len)}
    rows = []
    for step in steps:
        cache = os.path.join(workdir, CACHE_DIR, f"ckpt-{step}.json")
        digest = _weights_digest(workdir, step)
        if os.path.exists(cache):
            with open(cache) as f:
                row = json.load(f)
            if row.get("settings") == settings and row.get("weights_sha256") == digest and digest:
                log(f"checkpoint {step}: measured before ({cache})")
                rows.append(row)
                continue
        t = time.time()
        model, vocab, config = load_trained(workdir, step)
        row = validation_measures(model, vocab, config, settings["seeds"], num_samples, max_len)
        row.update(checkpoint=step, seconds=time.time() - t, settings=settings, weights_sha256=digest)
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        atomic_json(cache, row)
        log(f"checkpoint {step}: BLEU {row['bleu']:.2f}, in-vocabulary UniKL {row['unigram_kl_vocab']:.4f} "
            f"({row['seconds']:.0f}s)")
        rows.append(row)
    return rows


def choose(rows, min_bleu=None, max_unikl=None):
    """The row of highest validation BLEU among those with BLEU >= `min_bleu` and mean in-vocabulary
    UniKL <= `max_unikl` (None: no bound); None where no row qualifies. Ties go to the earlier checkpoint."""
    ok = [r for r in rows if (min_bleu is None or r["bleu"] >= min_bleu)
          and (max_unikl is None or r["unigram_kl_vocab"] <= max_unikl)]
    return max(ok, key=lambda r: (r["bleu"], -r["checkpoint"])) if ok else None


def sweep_table(rows, chosen=None, rule="", command=""):
    """Markdown: one line per checkpoint (BLEU with its length buckets, UniKL per seed and mean, entropy,
    length), the rule and its choice where given, and the command that made it."""
    seeds = list(rows[0]["samples"]) if rows else []
    real = rows[0]["unigram_kl_vocab_real"] if rows else 0.0
    buckets = [b["words"] for b in rows[0]["bleu_by_length"]] if rows else []
    lines = [f"| checkpoint | validation BLEU ({rows[0]['sentences'] if rows else 0} sentences) | "
             f"by length ({' / '.join(buckets)}) | token acc. | in-vocab UniKL (seeds {' / '.join(seeds)}; "
             f"real {real:.3f}) | mean | entropy | length |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mark = "**" if chosen is not None and r["checkpoint"] == chosen["checkpoint"] else ""
        by_length = " / ".join(f"{b['bleu']:.1f}" for b in r["bleu_by_length"])
        unikl = " / ".join(f"{r['samples'][s]['unigram_kl_vocab']:.4f}" for s in seeds)
        lines.append(f"| {mark}{r['checkpoint']}{mark} | {mark}{r['bleu']:.2f}{mark} | {by_length} | "
                     f"{r['token_acc']:.4f} | {unikl} | {mark}{r['unigram_kl_vocab']:.4f}{mark} | "
                     f"{r['entropy']:.2f} | {r['avg_len']:.1f} |")
    if rule:
        lines += ["", f"Rule: {rule}. Chosen: " + (f"checkpoint {chosen['checkpoint']}." if chosen
                                                     else "none qualifies.")]
    if command:
        lines += ["", f"`{command}`"]
    return "\n".join(lines) + "\n"
