"""Fuzz tests of every SavedModel signature against the Python text API (issue 17).

Seeded random requests: sentences of vocabulary words mixed with random Unicode (NUL, no-break and
ideographic spaces, other control characters, capitals, code points from every plane), invalid
UTF-8, empty batches, batches over the export's `max_batch`, class numbers, counts and seeds in and
out of range. For every request the graph and Python either both refuse it (graph:
INVALID_ARGUMENT; Python: ValueError/TypeError) or both answer, identically, with well-formed output.
Tokenisation is fuzzed on its own as well. 2,000 requests in the default suite, 20,000 under `slow`.
"""

import random

import numpy as np
import pytest
import tensorflow as tf

from arae_tf import export_lib
from arae_tf.data.vocab import SPECIALS, Vocabulary, normalize_graph, split_words
from tests.conftest import tiny_arae
from tests.test_transfer import tiny_transfer

MAX_BATCH = 8
MAX_LEN = 6
ODD = [0x00, 0x09, 0x0A, 0x1C, 0x7F, 0x85, 0xA0, 0x130, 0x3A3, 0x1680, 0x2007, 0x200B, 0x2028, 0x3000, 0xFEFF,
       0xFFFD, 0x1F600, 0x10FFFF]


def random_text(rng, words):
    """A str mixing vocabulary words (any case) with odd and random code points and separators."""
    parts = []
    for _ in range(rng.randint(0, 10)):
        r = rng.random()
        if r < 0.5:
            w = rng.choice(words)
            parts.append(w.upper() if rng.random() < 0.2 else w)
        elif r < 0.7:
            parts.append(chr(rng.choice(ODD)))
        elif r < 0.85:
            parts.append(chr(rng.randint(0x20, 0x7E)))
        else:
            c = rng.randint(0, 0x10FFFF)
            parts.append(chr(c if not 0xD800 <= c <= 0xDFFF else 0x41))
        parts.append(rng.choice([" ", " ", "", "\t", "\u00a0", "\u3000", "\x00", "  "]))
    return "".join(parts)


def random_sentence(rng, words):
    """(graph input bytes, Python input (str or bytes), valid UTF-8?)."""
    if rng.random() < 0.03:
        raw = random_text(rng, words).encode("utf-8") + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80abc"])
        return raw, raw, False
    t = random_text(rng, words)
    return t.encode("utf-8"), (t if rng.random() < 0.7 else t.encode("utf-8")), True


def random_count(rng):
    return rng.choice([0, 1, 2, 3, 5, MAX_BATCH, MAX_BATCH + 1, -1, rng.randint(-5, 2 * MAX_BATCH)])


def random_class(rng, C):
    return rng.choice(list(range(C)) * 4 + [-1, C, C + 1, -(2 ** 31), 2 ** 31 - 1])


class Refused(Exception):
    pass


def graph_call(fn, **kwargs):
    try:
        return {k: v.numpy() for k, v in fn(**kwargs).items()}
    except tf.errors.InvalidArgumentError as e:
        raise Refused(e.message) from None


def python_call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError) as e:
        raise Refused(str(e)) from None


def outcome(call, *args, **kwargs):
    try:
        return "ok", call(*args, **kwargs)
    except Refused as e:
        return "refused", str(e)


def well_formed(sentences, vocab, n):
    assert len(sentences) == n
    known = set(vocab.tokens) - set(SPECIALS) | {"<unk>"}
    for s in sentences:
        s = s.decode("utf-8") if isinstance(s, bytes) else s
        assert all(w in known for w in s.split()), s


@pytest.fixture(scope="module")
def exported(tmp_path_factory, examples):
    """A tiny 3-class transfer model and a tiny ARAE (random weights), each with its SavedModel."""
    vocab = Vocabulary.build(t for t, _ in examples)
    out = {}
    for name, model in (("transfer", tiny_transfer(len(vocab), num_classes=3)), ("arae", tiny_arae(len(vocab)))):
        model.vocabulary = vocab
        path = str(tmp_path_factory.mktemp(name) / "1")
        export_lib.export_model(model, vocab, path, max_len=MAX_LEN, max_batch=MAX_BATCH)
        out[name] = (model, tf.saved_model.load(path).signatures)
    return vocab, out


def one_request(rng, vocab, model, sig, transfer):
    """Builds one random request for a random signature; checks graph and Python agree."""
    C = model.num_classes if transfer else 1
    name = rng.choice(["encode", "reconstruct", "sample", "interpolate"] + (["transfer"] if transfer else []))
    if name in ("encode", "reconstruct", "transfer"):
        n = rng.choice([0, 1, 2, 3, 4, MAX_BATCH, MAX_BATCH + 1])
        batch = [random_sentence(rng, vocab.words) for _ in range(n)]
        graph_in = tf.constant([g for g, _, _ in batch], tf.string, shape=[n])
        py_in = [p for _, p, _ in batch]
        over = n > MAX_BATCH
        if name == "encode":
            g = outcome(graph_call, sig["encode"], sentences=graph_in)
            p = outcome(python_call, model.encode, py_in)
        else:
            classes = [random_class(rng, C) for _ in range(n if rng.random() < 0.9 else rng.randint(0, 4))]
            if name == "reconstruct" and not transfer:
                g = outcome(graph_call, sig["reconstruct"], sentences=graph_in)
                p = outcome(python_call, model.reconstruct, py_in, max_len=MAX_LEN)
            else:
                arg = "labels" if name == "reconstruct" else "to"
                g = outcome(graph_call, sig[name], sentences=graph_in,
                            **{arg: tf.constant(classes, tf.int32, shape=[len(classes)])})
                p = outcome(python_call, model.transfer, py_in, to=np.asarray(classes, np.int64), max_len=MAX_LEN)
    elif name == "sample":
        num, seed = random_count(rng), rng.choice([0, 1, 7, 2 ** 31 - 1, -1, rng.randint(0, 10 ** 6)])
        over = num > MAX_BATCH
        kw = {}
        if transfer:
            kw = {"label": random_class(rng, C)}
        g = outcome(graph_call, sig["sample"], num=tf.constant(num), seed=tf.constant(seed),
                    **{k: tf.constant(v) for k, v in kw.items()})
        p = outcome(python_call, model.sample, num, seed=seed, max_len=MAX_LEN,
                    **({"decoder": kw["label"]} if transfer else {}))
    else:
        (ga, pa, _), (gb, pb, _) = random_sentence(rng, vocab.words), random_sentence(rng, vocab.words)
        steps = random_count(rng)
        over = steps > MAX_BATCH
        kw = {"label": random_class(rng, C)} if transfer else {}
        g = outcome(graph_call, sig["interpolate"], a=tf.constant(ga), b=tf.constant(gb), steps=tf.constant(steps),
                    **{k: tf.constant(v) for k, v in kw.items()})
        p = outcome(python_call, model.interpolate, pa, pb, steps=steps, max_len=MAX_LEN,
                    **({"decoder": kw["label"]} if transfer else {}))
    if over:  # over the SavedModel's per-request limit (the Python API's is MAX_ROWS)
        assert g[0] == "refused" and "argument `" in g[1], (name, g)
        return name, "over"
    assert g[0] == p[0], (name, g, p)
    if g[0] == "refused":
        assert "argument `" in g[1], g[1]
        return name, "refused"
    if name == "encode":
        np.testing.assert_array_equal(g[1]["codes"], p[1])
        assert g[1]["codes"].shape == (len(p[1]), model.latent_dim) and np.isfinite(g[1]["codes"]).all()
    else:
        got = [s.decode("utf-8") for s in g[1]["sentences"].tolist()]
        assert got == p[1], (name, got, p[1])
        well_formed(got, vocab, len(p[1]))
    return name, "answered"


def fuzz(exported, n, seed):
    vocab, models = exported
    rng = random.Random(seed)
    seen = {}
    for i in range(n):
        kind = "transfer" if i % 2 == 0 else "arae"
        model, sig = models[kind]
        key = one_request(rng, vocab, model, sig, kind == "transfer")
        seen[key] = seen.get(key, 0) + 1
    # Every signature was answered and refused, and each limit was hit.
    for name in ("encode", "reconstruct", "sample", "interpolate", "transfer"):
        assert seen.get((name, "answered"), 0) > 0 and seen.get((name, "over"), 0) > 0, seen
        if name != "encode":
            assert seen.get((name, "refused"), 0) > 0, seen
    return seen


def test_fuzz_signatures_against_python(exported):
    fuzz(exported, 2000, seed=0)


@pytest.mark.slow
def test_fuzz_signatures_against_python_long(exported):
    fuzz(exported, 20000, seed=1)


def _fuzz_tokenisation(n, seed):
    rng = random.Random(seed)
    words = ["a", "b", "Word", "ÉCOLE", "straße", "ΣΑΣ", "İstanbul"]
    texts = [random_text(rng, words) for _ in range(n)]
    graph = tf.strings.split(normalize_graph(tf.constant([t.encode("utf-8") for t in texts]))).to_list()
    for t, g in zip(texts, graph):
        assert split_words(t) == [w.decode("utf-8") for w in g], repr(t)


def test_python_and_graph_tokenise_every_string_alike():
    _fuzz_tokenisation(5000, seed=0)


@pytest.mark.slow
def test_python_and_graph_tokenise_every_string_alike_long():
    _fuzz_tokenisation(100000, seed=1)


def test_nul_and_unicode_spaces_separate_words_on_both_sides():
    text = "Good\x00FOOD\u00a0and\u3000Service\x1f!"
    assert split_words(text) == ["good", "food", "and", "service", "!"]
    graph = tf.strings.split(normalize_graph(tf.constant([text.encode("utf-8")]))).to_list()[0]
    assert [w.decode() for w in graph] == split_words(text)
