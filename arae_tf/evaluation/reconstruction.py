"""Reconstruction: the one greedy decoding of held-out sentences and its BLEU, and the loss metrics.

`greedy_reconstructions` serves both in-training validation (`train_lib.evaluate`: the first
`eval.bleu_sentences` validation sentences) and `reconstruction_report` (every test sentence).
"""

import dataclasses

import numpy as np

from arae_tf.data import pipeline
from arae_tf.metrics.bleu import corpus_bleu
from arae_tf.models.text_api import decoding_name
from arae_tf.models.transfer import next_classes


def loss_metrics(model, dataset):
    """{name: value} of the model's reconstruction metrics (rec_loss, token_acc, z_norm) on `dataset`."""
    results = model.evaluate(dataset, verbose=0, return_dict=True)
    names = {m.name for m in model.reconstruction_metrics}
    return {k: float(v) for k, v in results.items() if k in names}


@dataclasses.dataclass
class Decoded:
    """What `greedy_reconstructions` decoded, one entry per sentence of the batches it read."""
    references: list    # the target sentences as the vocabulary reads them back
    hypotheses: list    # greedy reconstructions (encoder-decoder data: replies decoded from the context's code)
    codes: np.ndarray   # [N, latent_dim] codes the hypotheses were decoded from
    labels: list
    transfers: list     # with `transfer`: each code decoded by the next class's decoder; else None
    bleu: dict          # sacrebleu corpus BLEU ("score", "signature") of the first `scored` hypotheses
    scored: int


def greedy_reconstructions(model, vocab, dataset, max_len, limit=0, transfer=False, decoding=None):
    """Greedy reconstructions of `dataset`'s sentences and their corpus BLEU (`decoding`: other
    options of `decode_ids`, e.g. {"method": "beam", "beam_size": 8}; the transfers stay greedy).

    Whole batches are decoded until `limit` sentences are (0: all of them); BLEU scores the first
    `limit`. Encoder-decoder (dialog) batches are decoded from the code of their "source" (a reply
    to the context). Models with one decoder per class (`model.decoder_classes > 1`) decode each
    sentence with its own class's decoder; with `transfer`, also with the next class's
    (`models.transfer.next_classes`)."""
    refs, hyps, codes, labels, moved, n = [], [], [], [], [], 0
    classes = model.decoder_classes
    if transfer and classes < 2:
        raise ValueError("transfer needs a model with one decoder per class (decoder_classes > 1)")
    for batch in dataset:
        toks, y = batch["tokens"].numpy(), batch["label"].numpy()
        z = model.encode_ids(batch.get("source", toks)).numpy()
        if classes > 1:
            out = model.decode_by_class(z, y, max_len=max_len, **(decoding or {}))
        else:
            out = model.decode_ids(z, max_len=max_len, **(decoding or {})).numpy()
        if transfer:
            moved += [vocab.decode(r) for r in model.decode_by_class(z, next_classes(y, classes), max_len=max_len)]
        codes.append(z)
        refs += [vocab.decode(r) for r in toks]
        hyps += [vocab.decode(r) for r in out]
        labels += y.tolist()
        n += len(toks)
        if limit and n >= limit:
            break
    k = limit or len(refs)
    codes = np.concatenate(codes) if codes else np.zeros((0, model.latent_dim), np.float32)
    return Decoded(refs, hyps, codes, labels, moved if transfer else None,
                   corpus_bleu(hyps[:k], refs[:k]), min(k, len(refs)))


LENGTH_BUCKETS = ((1, 10), (11, 15), (16, None))  # reference words, inclusive; None: no upper bound


def bleu_by_length(hypotheses, references, buckets=LENGTH_BUCKETS):
    """Corpus BLEU of the hypotheses grouped by their reference's length in words: [{"words": "1-10",
    "sentences", "avg_words", "bleu"}] per bucket ((low, high) inclusive, high None: unbounded), empty
    buckets left out. Long sentences are where a fixed-size code loses most (docs/wae_snli_card_notes.md)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    lengths, out = [len(r.split()) for r in references], []
    for low, high in buckets:
        pick = [i for i, n in enumerate(lengths) if low <= n and (high is None or n <= high)]
        if pick:
            out.append({"words": f"{low}-{high}" if high is not None else f"{low}+", "sentences": len(pick),
                        "avg_words": sum(lengths[i] for i in pick) / len(pick),
                        "bleu": corpus_bleu([hypotheses[i] for i in pick], [references[i] for i in pick])["score"]})
    return out


def heldout_dataset(examples, vocab, config):
    """The evaluation suite's batches of held-out `examples`: file order, long sentences truncated."""
    return pipeline.make_dataset(examples, vocab, 256, config.data.max_len, shuffle=False, bucket=False,
                                 length_policy="truncate")


def reconstruction_report(model, vocab, examples, config, max_len, decoding=None):
    """Token accuracy, NLL per token and greedy-reconstruction BLEU on `examples` (also by reference
    length: `bleu_by_length`); `decoding`: decoding options instead of greedy (e.g. beam search,
    `text_api.parse_reconstruction_decoding`), recorded as "decoding".

    Returns (metrics, the first 10 (reference, reconstruction) pairs, every reconstruction). On
    encoder-decoder data a reconstruction is the greedy reply decoded from the context's code."""
    ds = heldout_dataset(examples, vocab, config)
    losses = loss_metrics(model, ds)
    d = greedy_reconstructions(model, vocab, ds, max_len, decoding=decoding)
    return {"token_acc": losses["token_acc"], "nll_per_token": losses["rec_loss"], "bleu": d.bleu["score"],
            "decoding": decoding_name(decoding) or "greedy",
            "bleu_signature": d.bleu["signature"], "sentences": len(d.references),
            "bleu_by_length": bleu_by_length(d.hypotheses, d.references)}, \
        list(zip(d.references[:10], d.hypotheses[:10])), d.hypotheses
