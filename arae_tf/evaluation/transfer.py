"""Style transfer (models with one decoder per class): each sentence to the next class.

`transfer_scores` (self-BLEU against the sources, fastText transfer accuracy) serves
in-training validation (`train_lib.evaluate`, on the transfers `greedy_reconstructions` decodes),
`transfer_report` (ARAE Table 3, on the test split) and `decoding_sweep` (checkpoints x decoding
options on the validation split: `python -m arae_tf.transfer_sweep`).
"""

import numpy as np

from arae_tf.metrics import lm as lm_lib
from arae_tf.metrics.bleu import corpus_bleu
from arae_tf.models.transfer import next_classes


def transfer_scores(sources, transfers, targets, num_classes, classifier=None):
    """Self-BLEU of `transfers` against their `sources`; with a fastText `classifier`, the share of
    transfers it labels with their target class, overall and by target class."""
    bleu = corpus_bleu(transfers, sources)
    out = {"self_bleu": bleu["score"], "bleu_signature": bleu["signature"]}
    if classifier is not None:
        if not transfers:
            raise ValueError("accuracy of an empty list is undefined")
        hit = np.asarray(classifier.predict(transfers)) == np.asarray(targets, np.int64)
        out["accuracy"] = float(hit.mean())
        out["accuracy_by_target"] = {str(c): float(hit[np.asarray(targets) == c].mean())
                                     for c in range(num_classes) if np.any(np.asarray(targets) == c)}
    return out


# What a decoding option absent from an explicit `decoding` means (the samplers' defaults): explicit
# options replace the model's `transfer_decoding` as a whole, they are not merged into it.
DECODING_DEFAULTS = {"method": "greedy", "contrast": 0.0, "beam_size": 4, "length_penalty": 0.0, "cycle": 0.0}


def _to_next_classes(model, examples, batch, fn):
    """(sources, targets as a list, [fn(sources, targets) of each batch of `batch` sentences]): every
    sentence of `examples` (text, class) sent to its next class."""
    src = [t for t, _ in examples]
    to = next_classes([y for _, y in examples], model.decoder_classes)
    return src, to.tolist(), [fn(src[i: i + batch], to[i: i + batch]) for i in range(0, len(src), batch)]


def _transfer_texts(model, examples, max_len, batch=500, decoding=None):
    """(sources, targets, transfers): every sentence of `examples` to its next class, decoded with
    `decoding` (None: the model's own `transfer_decoding`; options left out take `DECODING_DEFAULTS`)."""
    options = {} if decoding is None else {**DECODING_DEFAULTS, **decoding}
    src, to, parts = _to_next_classes(model, examples, batch,
                                      lambda s, t: model.transfer(s, to=t, max_len=max_len, **options))
    return src, to, [sentence for part in parts for sentence in part]


def transfer_report(model, vocab, train, test, settings, real_lm, clf, clf_test_accuracy=None, decoding=None):
    """ARAE Table 3 metrics on the test split: transfer accuracy (fastText, its own test accuracy
    beside), self-BLEU against the sources, forward PPL of the transfers, and reverse PPL of real test
    text under an LM trained on `num_samples` transferred *training* sentences. The transfers are
    decoded with `decoding` (None: the model's own `transfer_decoding`), recorded as "decoding"."""
    src, to, out = _transfer_texts(model, test, settings.decode_max_len, decoding=decoding)
    rng = np.random.default_rng(settings.seed)
    pick = rng.choice(len(train), size=min(settings.num_samples, len(train)), replace=False)
    _, _, out_train = _transfer_texts(model, [train[i] for i in pick], settings.decode_max_len, decoding=decoding)
    scores = transfer_scores(src, out, to, model.decoder_classes, clf)
    report = {"sentences": len(src), "self_bleu": scores["self_bleu"], "bleu_signature": scores["bleu_signature"],
              "forward_ppl": lm_lib.forward_ppl(out, real_lm, vocab, settings.lm),
              "reverse_ppl": lm_lib.reverse_ppl(out_train, [t for t, _ in test], vocab, settings.lm),
              "reverse_ppl_sentences": len(out_train),
              "decoding": getattr(model, "transfer_decoding", {}) if decoding is None else dict(decoding)}
    if clf is not None:
        report.update(accuracy=scores["accuracy"], classifier_test_accuracy=clf_test_accuracy,
                      accuracy_by_target=scores["accuracy_by_target"])
    report["examples"] = [[a, b] for a, b in zip(src, out)][:50]
    return report


def decoding_grid(method, beam_size, length_penalty, contrasts, cycles=("0",)):
    """The decoding options of every (β, γ) in `contrasts` x `cycles` (strings or numbers), checked:
    ValueError names the bad value."""
    def numbers(values, flag):
        out = []
        for v in values:
            try:
                out.append(float(v))
            except ValueError:
                raise ValueError(f"--{flag}: {v!r} is not a number") from None
        return out
    out = []
    gammas = numbers(cycles, "cycle")
    for beta in numbers(contrasts, "contrast"):
        if not 0 <= beta <= 1:
            raise ValueError(f"--contrast: {beta:g} is not in [0, 1]")
        for gamma in gammas:
            if not 0 <= gamma < float("inf"):
                raise ValueError(f"--cycle: {gamma:g} is not a finite number >= 0")
            if gamma and method != "beam":
                raise ValueError(f"--cycle={gamma:g} reranks a beam's candidates; it needs --method=beam")
            options = {"method": method, "contrast": beta}
            if method == "beam":
                options.update(beam_size=beam_size, length_penalty=length_penalty)
            if gamma:
                options["cycle"] = gamma
            out.append(options)
    return out


def _without_cycle(options):
    return {k: v for k, v in options.items() if k != "cycle"}


def _search_key(options):
    """What a beam search depends on: the options less the cycle weight (hashable)."""
    return tuple(sorted(_without_cycle(options).items()))


def _transfer_nbest(model, examples, max_len, decoding, batch=500):
    """(sources, targets, (candidates, beam scores, cycle terms)): `ARAETransfer.transfer_nbest_ids` of
    every sentence of `examples` to its next class, to rerank at any cycle weight."""
    options = {**DECODING_DEFAULTS, **decoding, "cycle": 0.0}
    src, to, parts = _to_next_classes(model, examples, batch, lambda s, t: model.transfer_nbest_ids(
        model._texts_to_ids(s), t, max_len=max_len, **options))
    return src, to, tuple(np.concatenate(p) for p in zip(*parts))


def decoding_sweep(workdir, checkpoints, options, sentences=2000, seed=0, max_len=20, cache_dir="", log=print):
    """[(checkpoint, options, scores)] on `sentences` validation sentences of `workdir`'s data; scores
    as `evaluation.transfer.transfer_scores` plus "avg_len". Options that differ only in the cycle
    weight share one beam search, reranked for each weight (the transfers are those of
    `ARAETransfer.transfer` with each option)."""
    import os

    from arae_tf.data.sources import load_examples
    from arae_tf.metrics import classifier as classifier_lib
    from arae_tf.models.decoding import rerank_nbest
    from arae_tf.workdir import load_trained

    results = []
    clf = valid = None
    for step in checkpoints:
        model, vocab, config = load_trained(workdir, step)
        if model.decoder_classes < 2:
            raise ValueError(f"{workdir} holds a model with one decoder; the sweep is for transfer models")
        if valid is None:
            valid = load_examples(config.data, "valid")
            if len(valid) > sentences:
                pick = np.random.default_rng(seed).choice(len(valid), sentences, replace=False)
                valid = [valid[i] for i in sorted(pick)]
            clf = classifier_lib.cached_classifier(os.path.join(cache_dir or os.path.join(workdir, "eval", "cache"),
                                                                "fasttext"), load_examples(config.data, "train"))
        reranked = {_search_key(o) for o in options if o.get("cycle")}  # searches shared across cycle weights
        nbest = {}
        for opts in options:
            key = _search_key(opts)
            if key in reranked:
                if key not in nbest:
                    nbest[key] = _transfer_nbest(model, valid, max_len, _without_cycle(opts))
                src, to, lists = nbest[key]
                out = model._ids_to_texts(rerank_nbest(*lists, opts.get("cycle", 0.0)).numpy())
            else:
                src, to, out = _transfer_texts(model, valid, max_len, decoding=opts)
            scores = transfer_scores(src, out, to, model.decoder_classes, clf)
            scores["avg_len"] = float(np.mean([len(o.split()) for o in out]))
            log(f"[sweep] checkpoint {step or 'final'} {opts}: transfer {scores['accuracy']:.3f}, "
                f"self-BLEU {scores['self_bleu']:.2f}")
            results.append((step, opts, scores))
    return results, len(valid)


def sweep_table(results, n, command):
    """The Markdown table of `decoding_sweep`'s results on `n` sentences, ending with `command`."""
    lines = ["| checkpoint | decoding | β | γ (cycle) | transfer acc | self-BLEU | avg length |",
             "|---|---|---|---|---|---|---|"]
    for step, opts, s in results:
        how = f"beam {opts['beam_size']}, lp {opts['length_penalty']:g}" if opts["method"] == "beam" else "greedy"
        lines.append(f"| {step or 'final'} | {how} | {opts['contrast']:g} | {opts.get('cycle', 0):g} | "
                     f"{100 * s['accuracy']:.1f}% | {s['self_bleu']:.2f} | {s['avg_len']:.1f} |")
    lines += ["", f"{n:,} validation sentences, each to the next class; fastText accuracy, self-BLEU against the "
              "sources.", "", f"Generated by: `{command}`", ""]
    return "\n".join(lines)
