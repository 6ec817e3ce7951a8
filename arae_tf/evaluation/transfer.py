"""Style transfer (models with one decoder per class): each sentence to the next class.

`transfer_scores` (self-BLEU against the sources, fastText transfer accuracy) serves both
in-training validation (`train_lib.evaluate`, on the transfers `greedy_reconstructions` decodes)
and `transfer_report` (ARAE Table 3, on the test split).
"""

import numpy as np

from arae_tf.metrics import lm as lm_lib
from arae_tf.metrics.bleu import corpus_bleu


def next_classes(labels, num_classes):
    """The class each sentence is transferred to: (y + 1) mod C (the other class for C = 2)."""
    return (np.asarray(labels) + 1) % num_classes


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


def _transfer_texts(model, examples, max_len, batch=500, decoding=None):
    """(sources, targets, transfers): every sentence of `examples` to its next class, decoded with the
    model's `transfer_decoding` overridden by `decoding`."""
    src = [t for t, _ in examples]
    to = next_classes([y for _, y in examples], model.decoder_classes).tolist()
    out = []
    for i in range(0, len(src), batch):
        out += model.transfer(src[i: i + batch], to=np.array(to[i: i + batch]), max_len=max_len, **(decoding or {}))
    return src, to, out


def transfer_report(model, vocab, train, test, settings, real_lm, clf, clf_test_accuracy=None, decoding=None):
    """ARAE Table 3 metrics on the test split: transfer accuracy (fastText, its own test accuracy
    beside), self-BLEU against the sources, forward PPL of the transfers, and reverse PPL of real test
    text under an LM trained on `num_samples` transferred *training* sentences. The transfers are
    decoded with the model's `transfer_decoding` overridden by `decoding` (recorded as "decoding")."""
    src, to, out = _transfer_texts(model, test, settings.decode_max_len, decoding=decoding)
    rng = np.random.default_rng(settings.seed)
    pick = rng.choice(len(train), size=min(settings.num_samples, len(train)), replace=False)
    _, _, out_train = _transfer_texts(model, [train[i] for i in pick], settings.decode_max_len, decoding=decoding)
    scores = transfer_scores(src, out, to, model.decoder_classes, clf)
    report = {"sentences": len(src), "self_bleu": scores["self_bleu"], "bleu_signature": scores["bleu_signature"],
              "forward_ppl": lm_lib.forward_ppl(out, real_lm, vocab, settings.lm),
              "reverse_ppl": lm_lib.reverse_ppl(out_train, [t for t, _ in test], vocab, settings.lm),
              "reverse_ppl_sentences": len(out_train), "decoding": {**getattr(model, "transfer_decoding", {}), **(decoding or {})}}
    if clf is not None:
        report.update(accuracy=scores["accuracy"], classifier_test_accuracy=clf_test_accuracy,
                      accuracy_by_target=scores["accuracy_by_target"])
    report["examples"] = [[a, b] for a, b in zip(src, out)][:50]
    return report
