"""The string-level API of every model (`encode`, `decode`, `reconstruct`, `respond`, `sample`,
`interpolate`; `transfer` in `ARAETransfer`) and the checks it applies to its arguments.

`TextAPI` is a mixin of `TextAutoencoder`: it turns sentences into token ids with the attached
`model.vocabulary` (set by `zoo.load` / `load_trained`) and calls the id-level methods
(`encode_ids`, `decode_ids`, `respond_ids`, `generate_ids`). Every argument is checked before any
work (`TypeError`/`ValueError` naming it); one call decodes at most `MAX_ROWS` rows.
"""

import numpy as np

from arae_tf.data.pipeline import padded_batch
from arae_tf.models.decoding import METHODS as DECODE_METHODS
from arae_tf.models.decoding import interpolation_path


SAMPLE_PRIORS = ("model", "gaussian_fit")  # `sample(prior=...)`: the model's own prior, or the codes' Gaussian fit


def check_prior(prior):
    """`ValueError` naming `prior` unless it is one of `SAMPLE_PRIORS`."""
    if prior not in SAMPLE_PRIORS:
        raise ValueError(f"prior must be one of {SAMPLE_PRIORS}, got {prior!r}")


class TextAPI:
    """Sentences in, sentences out (see the module docstring)."""

    max_input_words = 30  # text methods truncate longer inputs (training used shorter sentences)

    @property
    def vocabulary(self):
        """The `Vocabulary` the text methods use (None until attached)."""
        return getattr(self, "_vocabulary", None)

    @vocabulary.setter
    def vocabulary(self, vocab):
        if vocab is not None:
            vocab.check_size(self.backbone.vocab_size, where="this model")
        object.__setattr__(self, "_vocabulary", vocab)  # plain attribute: not tracked by Keras

    def _vocab(self):
        if getattr(self.backbone, "modality", "text") != "text":
            raise TypeError("this model autoencodes images: use encode_images, decode_images, reconstruct_images, "
                            "sample_images and interpolate_images")
        if self.vocabulary is None:
            raise ValueError("this model has no vocabulary attached: use arae_tf.zoo.load(...) or "
                             "arae_tf.evaluation.load_trained(workdir), or set model.vocabulary = Vocabulary.load(path)")
        return self.vocabulary

    def _texts_to_ids(self, texts, name="texts"):
        """Token ids [N, T] of a list of sentences (str, or bytes holding UTF-8); [0, 2] for no sentence."""
        texts = as_text_list(texts, name)
        if not texts:
            return np.zeros((0, 2), np.int32)
        return padded_batch(texts, self._vocab(), max_len=self.max_input_words)

    def _ids_to_texts(self, ids):
        vocab = self._vocab()
        return [vocab.decode(r) for r in np.asarray(ids)]

    def encode(self, texts):
        """Codes [N, latent_dim] (numpy) of a list of sentences (str, or bytes holding UTF-8)."""
        return self.encode_ids(self._texts_to_ids(texts)).numpy()

    def decode(self, z, max_len=20, **decode_kwargs):
        """Sentences decoded (greedy by default) from codes [N, latent_dim]."""
        self._vocab()
        return self._ids_to_texts(self.decode_ids(z, max_len=max_len, **decode_kwargs))

    def reconstruct(self, texts, max_len=20, **decode_kwargs):
        """Each sentence encoded and decoded again."""
        return self.decode(self.encode(texts), max_len=max_len, **decode_kwargs)

    def respond(self, contexts, max_len=20, sample=False, seed=0, **decode_kwargs):
        """Encoder-decoder models (dialog, trained on `source` batches): a reply to each context.

        `sample=True` draws the code from a Gaussian encoder's q(z|context) instead of taking
        its mean (how VED / WED-S generate in the WAE papers)."""
        return self._ids_to_texts(self.respond_ids(self._texts_to_ids(contexts), sample=sample, seed=seed,
                                                   max_len=max_len, **decode_kwargs))

    def sample(self, n, seed=0, max_len=20, prior="model", **decode_kwargs):
        """`n` sentences (0 <= n <= MAX_ROWS) decoded from codes drawn from the model's prior; `seed`
        an int in [0, 2**63) (the same seed, the same sentences). `prior="gaussian_fit"` draws the codes
        from the Gaussian fitted to the training codes that the model carries (`code_fit`; presets made
        with `make_preset --code_fit`) instead: where the codes fill their prior unevenly (a WAE's
        N(0, I)) its samples are closer to real text (docs/wae_snli_card_notes.md)."""
        check_prior(prior)
        check_count(n, "n")
        self._vocab()
        return self._ids_to_texts(self.generate_ids(n, seed=seed, prior=prior, max_len=max_len, **decode_kwargs))

    def interpolate(self, a, b, steps=5, max_len=20, **decode_kwargs):
        """Sentences decoded along the line from the code of sentence `a` to that of `b` (`steps` points,
        0 <= steps <= MAX_ROWS, both ends included; one point is `a`), re-normalised to the unit sphere
        when the model normalises codes. The same float32 ops as the SavedModel's `interpolate`."""
        check_count(steps, "steps")
        z = self.encode_ids(self._texts_to_ids([a, b], "a/b"))
        return self.decode(interpolation_path(z[0], z[1], steps, self.backbone.normalize_code), max_len=max_len,
                           **decode_kwargs)

    def shift(self, texts, offset, scale=1.0, max_len=20, **decode_kwargs):
        """Sentences decoded from their codes moved by `scale * offset` (a [latent_dim] vector, e.g.
        `arithmetic.offset_vector`; ARAE Fig. 5), re-normalised to the unit sphere when the model
        normalises codes. `scale` 0 gives the reconstructions."""
        offset = np.asarray(offset, np.float32)
        if offset.shape != (self.latent_dim,) or not np.all(np.isfinite(offset)):
            raise ValueError(f"offset must be a finite vector of shape [{self.latent_dim}], got shape {list(offset.shape)}")
        if not (isinstance(scale, (int, float, np.floating)) and np.isfinite(scale)):
            raise ValueError(f"scale must be a finite number, got {scale!r}")
        z = self.encode(texts) + np.float32(scale) * offset[None]
        if self.backbone.normalize_code:
            z = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
        return self.decode(z, max_len=max_len, **decode_kwargs)


# The decoding options a transfer model may carry as its default (`ARAETransfer.transfer_decoding`):
# deterministic ones only, so a SavedModel's `transfer` signature gives the same sentences.
# `cycle` (gamma >= 0, beam only) reranks the beam by how well the source reads back from each candidate's
# code (`decoding.cycle_transfer_by_class`).
TRANSFER_DECODING = {"method": str, "beam_size": int, "length_penalty": float, "contrast": float, "cycle": float}


def parse_decoding(spec, where="--transfer_decoding"):
    """Decoding options from "key=value,..." (e.g. "method=beam,beam_size=4,length_penalty=1,contrast=0.1";
    "" gives {}). Keys: those of `TRANSFER_DECODING`; method greedy or beam. Errors name `where`."""
    out = {}
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        key, eq, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not eq or key not in TRANSFER_DECODING:
            raise ValueError(f"{where}: {part!r} is not key=value with a key of {sorted(TRANSFER_DECODING)}")
        if key in out:
            raise ValueError(f"{where}: {key} given twice")
        try:
            out[key] = TRANSFER_DECODING[key](value)
        except ValueError:
            raise ValueError(f"{where}: {key}={value!r} is not a {TRANSFER_DECODING[key].__name__}") from None
    return check_transfer_decoding(out, where)


RECONSTRUCTION_DECODING = ("method", "beam_size", "length_penalty")  # `evaluate --reconstruction_decoding`


def parse_reconstruction_decoding(spec, where="--reconstruction_decoding"):
    """Decoding options of held-out reconstructions from "key=value,..." (e.g. "method=beam,beam_size=8";
    "" gives {}: greedy, the papers' choice). Keys: `RECONSTRUCTION_DECODING`; method greedy or beam.
    Errors name `where`; `contrast` and `cycle` are transfer options and are refused here."""
    out = parse_decoding(spec, where)
    other = sorted(set(out) - set(RECONSTRUCTION_DECODING))
    if other:
        raise ValueError(f"{where}: {other} are transfer options; a reconstruction takes {list(RECONSTRUCTION_DECODING)}")
    return out


def check_transfer_decoding(options, where="transfer_decoding"):
    """`options` if they can be a transfer model's stored decoding: keys of `TRANSFER_DECODING`,
    method greedy or beam (deterministic); ValueError naming `where` otherwise."""
    unknown = sorted(set(options) - set(TRANSFER_DECODING))
    if unknown:
        raise ValueError(f"{where}: unknown option(s) {unknown}; known: {sorted(TRANSFER_DECODING)}")
    if options.get("method", "greedy") not in ("greedy", "beam"):
        raise ValueError(f"{where}: method must be greedy or beam (deterministic), got {options['method']!r}")
    check_cycle(options, where)
    return options


def split_cycle(stored, overrides=None):
    """(decoding options, cycle weight) of a transfer: the model's `stored` transfer decoding overridden
    by a call's `overrides`, with `cycle` taken out. A stored cycle is dropped when the overrides choose
    another method than beam search (the reranking is for the beam; e.g. the paper's greedy)."""
    overrides = overrides or {}
    options = {**stored, **overrides}
    cycle = options.pop("cycle", 0.0)
    if "cycle" not in overrides and options.get("method", "greedy") != "beam":
        cycle = 0.0
    return options, cycle


def check_cycle(options, where="decoding options"):
    """ValueError naming `where` unless `options`' `cycle` (if any) is a number >= 0, and > 0 only with
    method beam."""
    if "cycle" not in options:
        return
    v = options["cycle"]
    if not (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < float("inf")):
        raise ValueError(f"{where}: cycle must be a finite number >= 0, got {v!r}")
    if v and options.get("method", "greedy") != "beam":
        raise ValueError(f"{where}: cycle > 0 reranks a beam's candidates; it needs method=beam")


def decoding_words(options):
    """Decoding options for people: "greedy" for none, else `key=value, ...`."""
    return ", ".join(f"{k}={v!r}" for k, v in options.items()) if options else "greedy"


def decoding_name(options):
    """A short file-name-safe name of transfer decoding options ("" for none): e.g. "beam4-lp1-c0.1"."""
    if not options:
        return ""
    o = dict(options)
    name = f"beam{o.get('beam_size', 4)}" if o.get("method") == "beam" else "greedy"
    if o.get("method") == "beam" and o.get("length_penalty"):
        name += f"-lp{o['length_penalty']:g}"
    if o.get("contrast"):
        name += f"-c{o['contrast']:g}"
    if o.get("cycle"):
        name += f"-cyc{o['cycle']:g}"
    return name


MAX_ROWS = 100_000  # the most sentences, samples or interpolation points one text-API call decodes


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def check_count(n, name, limit=MAX_ROWS):
    """`n` must be an int in [0, limit] (`TypeError`/`ValueError` naming `name`)."""
    if not _is_int(n):
        raise TypeError(f"{name} must be an int, got {n!r}")
    if not 0 <= n <= limit:
        raise ValueError(f"{name} must be in [0, {limit}], got {n}")
    return int(n)


def check_decode_options(options, num_decoders):
    """Checks the keyword options of `SentenceAutoencoderBackbone.decode` before any work."""
    known = {"max_len", "method", "temperature", "top_k", "top_p", "beam_size", "length_penalty", "decoder",
             "contrast"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown decoding option(s) {unknown}; known: {sorted(known)}")
    o = options
    if "max_len" in o and (not _is_int(o["max_len"]) or not 1 <= o["max_len"] <= 1000):
        raise ValueError(f"max_len must be an int in [1, 1000], got {o['max_len']!r}")
    if "method" in o and o["method"] not in DECODE_METHODS:
        raise ValueError(f"method must be one of {DECODE_METHODS}, got {o['method']!r}")
    if "decoder" in o and (not _is_int(o["decoder"]) or not 0 <= o["decoder"] < num_decoders):
        raise ValueError(f"decoder must be an int in [0, {num_decoders}), got {o['decoder']!r}")
    if "temperature" in o and not (isinstance(o["temperature"], (int, float)) and 0 < o["temperature"] < float("inf")):
        raise ValueError(f"temperature must be a finite number > 0, got {o['temperature']!r}")
    if "top_k" in o and (not _is_int(o["top_k"]) or o["top_k"] < 0):
        raise ValueError(f"top_k must be an int >= 0 (0: off), got {o['top_k']!r}")
    if "top_p" in o and not (isinstance(o["top_p"], (int, float)) and 0 < o["top_p"] <= 1):
        raise ValueError(f"top_p must be a number in (0, 1], got {o['top_p']!r}")
    if "beam_size" in o and (not _is_int(o["beam_size"]) or not 1 <= o["beam_size"] <= 64):
        raise ValueError(f"beam_size must be an int in [1, 64], got {o['beam_size']!r}")
    if "length_penalty" in o and not (isinstance(o["length_penalty"], (int, float))
                                      and abs(o["length_penalty"]) < float("inf")):
        raise ValueError(f"length_penalty must be a finite number, got {o['length_penalty']!r}")
    if "contrast" in o:
        if not (isinstance(o["contrast"], (int, float)) and not isinstance(o["contrast"], bool)
                and 0 <= o["contrast"] <= 1):
            raise ValueError(f"contrast must be a number in [0, 1], got {o['contrast']!r}")
        if o["contrast"] and num_decoders < 2:
            raise ValueError(f"contrast > 0 contrasts a model's decoders; this model has {num_decoders}")


def as_text_list(texts, name="texts", limit=MAX_ROWS):
    """A list of str from a list/tuple/array of sentences, each a str or bytes holding UTF-8 (decoded);
    anything else is refused, naming the argument and the position."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{name}: pass a list of sentences, not a single string")
    try:
        items = list(texts)
    except TypeError:
        raise TypeError(f"{name} must be a list of sentences, got {type(texts).__name__}") from None
    if len(items) > limit:
        raise ValueError(f"{name}: at most {limit} sentences per call, got {len(items)}")
    out = []
    for i, t in enumerate(items):
        if isinstance(t, (bytes, np.bytes_)):
            try:
                t = bytes(t).decode("utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(f"{name}[{i}] is not valid UTF-8 ({e.reason} at byte {e.start})") from None
        elif isinstance(t, np.str_):
            t = str(t)
        elif not isinstance(t, str):
            raise TypeError(f"{name}[{i}] must be a str (or UTF-8 bytes), got {type(t).__name__}")
        out.append(t)
    return out
