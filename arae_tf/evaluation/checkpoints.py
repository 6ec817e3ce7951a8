"""Checkpoint selection on the VALIDATION split: reconstruction BLEU and prior-sample UniKL per checkpoint.

`python -m arae_tf.checkpoint_sweep` runs `sweep` over a training workdir's checkpoints and prints
`sweep_table`; `choose` applies a rule fixed beforehand (the highest BLEU among checkpoints within a
UniKL bound and above a BLEU floor), so a preset is picked without looking at the test split.

Per checkpoint (`validation_measures`): greedy reconstruction BLEU of every validation sentence (with
`reconstruction.bleu_by_length` buckets and token accuracy; encoder-decoder data: the replies), and for
each sampling seed s, `num_samples` greedy samples of the model's prior (decoded with seed s × 100000)
measured as `evaluate` measures its samples (`samples.samples_report`, without the reference LM): UniKL
raw and in the model's vocabulary of the first n samples beside n real validation sentences (n the smaller
of `num_samples` and the validation split's size), entropy and length of all of them. The figure `choose`
bounds is the in-vocabulary UniKL averaged over the seeds.

Rows are cached beside the checkpoints (`<workdir>/checkpoint_sweep/ckpt-<step>.json`, keyed by the
weights' sha256 and the settings), so a sweep repeated while training goes on measures only new
checkpoints (as long as training's `train.keep_checkpoints` keeps them: a checkpoint deleted before it is
measured is skipped with a warning).
"""

import hashlib
import json
import os
import time

from absl import logging

from arae_tf.data.sources import load_examples
from arae_tf.evaluation import reconstruction, samples
from arae_tf.workdir import atomic_json, checkpoint_at, checkpoint_steps, load_config, load_trained
from arae_tf.zoo import file_sha256

CACHE_DIR = "checkpoint_sweep"
SEED_STRIDE = 100000  # seed s draws its samples from seed s × SEED_STRIDE on (decode_samples adds the row index)


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
        texts = samples.decode_samples(model, vocab, num_samples, int(seed) * SEED_STRIDE, max_len)
        out["samples"][str(seed)] = samples.samples_report(texts, train_text, valid_text, vocab, settings, None)
    rows = list(out["samples"].values())
    for key in ("unigram_kl_vocab", "unigram_kl_vocab_real", "entropy", "avg_len"):
        out[key] = sum(r[key] for r in rows) / len(rows)
    return out


FORMAT = 1  # bump when what a row measures changes: older cached rows are then measured again


def _marker(workdir, step):
    """The checkpoint's marker (its .json), read."""
    with open(checkpoint_at(workdir, step)[: -len(".weights.h5")] + ".json") as f:
        return json.load(f)


def _cache_key(workdir, step, settings, data):
    """What a cached row must match to be reused: the weights (the sha256 their marker records, else the
    file's own), the vocabulary and data digests the marker records, the config's data section, the
    settings and this module's FORMAT."""
    marker = _marker(workdir, step)
    weights = marker.get("weights_sha256") or file_sha256(checkpoint_at(workdir, step))
    data_json = json.dumps(data.to_dict(), sort_keys=True, default=str)
    return {"format": FORMAT, "weights_sha256": weights, "vocab_sha256": marker.get("vocab_sha256", ""),
            "data_sha256": marker.get("data_sha256", ""), "settings": settings,
            "config_data_sha256": hashlib.sha256(data_json.encode()).hexdigest()}


def plan(workdir, steps=(), seeds=(1, 2), num_samples=5000, max_len=20):
    """What `sweep` will measure, checked before anything is: (config, steps, settings). Errors name the
    workdir, the steps it has, or the bad setting (FileNotFoundError, ValueError)."""
    config = _text_config(workdir)
    seeds, num_samples, max_len = [int(s) for s in seeds], int(num_samples), int(max_len)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct integers, at least one: got {seeds}")
    if not 1 <= num_samples <= SEED_STRIDE:
        raise ValueError(f"num_samples must be in [1, {SEED_STRIDE}] (seed s draws from seed s × {SEED_STRIDE} on), "
                         f"got {num_samples}")
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    steps = sorted(set(int(s) for s in steps)) or checkpoint_steps(workdir)
    if not steps:
        raise FileNotFoundError(f"{workdir}/checkpoints holds no complete checkpoint to sweep")
    for step in steps:
        checkpoint_at(workdir, step)  # every step checked before the first is measured
    if not (config.data.get("test_files") or config.data.source != "files"):
        logging.warning(f"[checkpoint_sweep] {workdir}: the config names no data.test_files, so evaluate's test "
                        f"split is this validation split: a checkpoint chosen here is not tested on unseen text")
    settings = {"seeds": sorted(seeds), "num_samples": num_samples, "max_len": max_len}
    return config, steps, settings


def sweep(workdir, steps=(), seeds=(1, 2), num_samples=5000, max_len=20, log=_log):
    """`validation_measures` of the checkpoints `steps` of `workdir` (default: every complete one), oldest
    first; each row also has "checkpoint" (its step), "seconds" and the cache key. A workdir that is not a
    text model's training workdir, or a step without a complete checkpoint, is an error (naming what is
    there) raised before anything is measured. A checkpoint deleted while the sweep runs (training's
    `train.keep_checkpoints` keeps only the newest) is skipped with a warning; rows are cached in
    `<workdir>/checkpoint_sweep/` and reused while their key (`_cache_key`) still matches."""
    config, steps, settings = plan(workdir, steps, seeds, num_samples, max_len)
    rows = []

    def deleted(step):
        if step in checkpoint_steps(workdir):
            return False
        logging.warning(f"[checkpoint_sweep] checkpoint {step} of {workdir} was deleted before it was measured "
                        f"(train.keep_checkpoints keeps only the newest): skipped")
        return True

    for step in steps:
        try:
            key = _cache_key(workdir, step, settings, config.data)
        except FileNotFoundError:
            if deleted(step):
                continue
            raise
        cache = os.path.join(workdir, CACHE_DIR, f"ckpt-{step}.json")
        if os.path.exists(cache):
            with open(cache) as f:
                row = json.load(f)
            if row.get("key") == key:
                log(f"checkpoint {step}: measured before ({cache})")
                rows.append(row)
                continue
        t = time.time()
        try:
            model, vocab, config = load_trained(workdir, step)
        except (FileNotFoundError, OSError):
            if deleted(step):
                continue
            raise
        row = validation_measures(model, vocab, config, settings["seeds"], num_samples, max_len)
        row.update(checkpoint=step, seconds=time.time() - t, key=key)
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        atomic_json(cache, row)
        log(f"checkpoint {step}: BLEU {row['bleu']:.2f}, in-vocabulary UniKL {row['unigram_kl_vocab']:.4f} "
            f"({row['seconds']:.0f}s)")
        rows.append(row)
    return rows


def _text_config(workdir):
    """The config of a text model's training workdir; errors naming the workdir otherwise."""
    config = load_config(workdir)
    if config.data.source == "images":
        raise ValueError(f"{workdir} holds an image model: the checkpoint sweep measures text reconstruction BLEU "
                         f"and UniKL (python -m arae_tf.evaluate reports an image model's NLL per pixel)")
    return config


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
    n = rows[0]["samples"][seeds[0]]["unigram_kl_n"] if rows else 0
    buckets = [b["words"] for b in rows[0]["bleu_by_length"]] if rows else []
    lines = [f"| checkpoint | validation BLEU ({rows[0]['sentences'] if rows else 0} sentences) | "
             f"by length ({' / '.join(buckets)}) | token acc. | in-vocab UniKL of {n} samples (seeds "
             f"{' / '.join(seeds)}; as many real: {real:.3f}) | mean | entropy | length |",
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
