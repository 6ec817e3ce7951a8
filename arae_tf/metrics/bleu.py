"""Corpus BLEU with sacrebleu, recorded together with its signature."""

import sacrebleu


def corpus_bleu(hypotheses, references, tokenize="none", max_ngram_order=4):
    """BLEU of hypotheses against one reference each (pre-tokenized text: tokenize='none').

    Returns dict(score=float, signature=str). Empty input gives score 0.
    """
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    metric = sacrebleu.metrics.BLEU(tokenize=tokenize, max_ngram_order=max_ngram_order, force=True)
    if not hypotheses:
        return {"score": 0.0, "signature": str(metric.get_signature())}
    result = metric.corpus_score(list(hypotheses), [list(references)])
    return {"score": float(result.score), "signature": str(metric.get_signature())}
