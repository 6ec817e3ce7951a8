"""A built-in corpus of template sentences with a known attribute.

Every sentence comes from a small grammar (`TEMPLATES`) whose adjective slots are
filled from one attribute class's word set; the sets are disjoint, so the class
of any generated or transferred sentence is known exactly (`label_of`), and
whether a sample is a well-formed template sentence can be checked
(`is_grammatical`). Used by the tests, the README demo and anywhere a corpus is
needed without data on disk.
"""

import random
import re

SUBJECTS = ("the food", "the service", "the staff", "our waiter", "the pizza", "this place", "the room",
            "the coffee", "the price", "the music")
VERBS = ("was", "is")
ADVERBS = ("very", "really", "so")
# Disjoint attribute word sets; class c uses CLASS_WORDS[c]. Class 0 negative, 1 positive, 2 neutral.
CLASS_WORDS = (
    ("terrible", "awful", "bad", "horrible", "rude", "bland"),
    ("great", "delicious", "friendly", "amazing", "good", "excellent"),
    ("okay", "average", "fine", "ordinary", "decent", "acceptable"),
)
CLASS_NAMES = ("negative", "positive", "neutral")
TEMPLATES = (
    "{subj} {verb} {adj} .",
    "{subj} {verb} {adv} {adj} .",
    "i thought {subj} {verb} {adj} .",
    "{subj} {verb} {adj} and {adj2} .",
    "we found {subj} {adv} {adj} .",
)
MAX_CLASSES = len(CLASS_WORDS)


def _pattern():
    alt = lambda xs: "(?:" + "|".join(re.escape(x) for x in xs) + ")"
    adj = "(" + "|".join(re.escape(w) for ws in CLASS_WORDS for w in ws) + ")"
    parts = []
    for t in TEMPLATES:
        p = re.escape(t)
        p = p.replace(re.escape("{subj}"), alt(SUBJECTS)).replace(re.escape("{verb}"), alt(VERBS))
        p = p.replace(re.escape("{adv}"), alt(ADVERBS))
        p = p.replace(re.escape("{adj2}"), adj).replace(re.escape("{adj}"), adj)
        parts.append("(?:" + p + ")")
    return re.compile("^(?:" + "|".join(parts) + ")$")


_GRAMMAR = _pattern()
_WORD_CLASS = {w: c for c, ws in enumerate(CLASS_WORDS) for w in ws}


def generate(n, num_classes=2, seed=0):
    """Returns `n` (sentence, label) pairs, labels balanced over `num_classes`, deterministic in `seed`."""
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ValueError(f"num_classes must be in 1..{MAX_CLASSES}, got {num_classes}")
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = i % num_classes
        words = CLASS_WORDS[label]
        adj, adj2 = rng.sample(words, 2)
        text = rng.choice(TEMPLATES).format(
            subj=rng.choice(SUBJECTS), verb=rng.choice(VERBS), adv=rng.choice(ADVERBS), adj=adj, adj2=adj2)
        out.append((text, label))
    rng.shuffle(out)
    return out


def is_grammatical(sentence):
    """True if `sentence` is exactly one of the template sentences (any attribute words)."""
    return bool(_GRAMMAR.match(sentence.strip()))


def label_of(sentence):
    """The attribute class of a sentence: the class all its attribute words belong to, else None."""
    classes = {_WORD_CLASS[w] for w in sentence.split() if w in _WORD_CLASS}
    return classes.pop() if len(classes) == 1 else None



def generate_dialog(n, seed=0):
    """`n` built-in context -> reply pairs (`pipeline.Example`, label 0), deterministic in `seed`.

    The context is a two-class template sentence; the reply asks about it, "why {verb} {subj}
    {adj} ?", with the context's subject, verb and first attribute word, so a reply is right only
    if the encoder carried those three choices (240 combinations) through the code."""
    from arae_tf.data.pipeline import Example

    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = CLASS_WORDS[i % 2]
        subj, verb, adv = rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(ADVERBS)
        adj, adj2 = rng.sample(words, 2)
        context = rng.choice(TEMPLATES).format(subj=subj, verb=verb, adv=adv, adj=adj, adj2=adj2)
        out.append(Example(f"why {verb} {subj} {adj} ?", 0, context))
    return out
