"""SavedModel export with string-in / string-out signatures for TensorFlow Serving.

`export_model(model, vocab, out_dir)` writes a SavedModel whose signatures take and
return strings; tokenization (`arae_tf.data.vocab`'s one definition of a word: control
characters and Unicode whitespace separate words, code-point lowercasing; at most
`max_input_words` words, `<bos>`/`<eos>`) and detokenization run in the graph with the
saved vocabulary, using core TensorFlow ops only (no tensorflow-text op library), so
the stock `tensorflow/serving` model server runs it.

Signatures (inputs -> outputs), all greedy decoding up to `max_len` words, except `transfer`,
which decodes with the model's `transfer_decoding` (e.g. beam search with contrast; greedy if unset),
as `model.transfer` does:

    encode(sentences: string[N])                                -> codes: float32[N, d]
    reconstruct(sentences: string[N] [, labels: int32[N]])      -> sentences: string[N]
    sample(num: int32[], seed: int32[] [, label: int32[]])      -> sentences: string[num]
    interpolate(a: string[], b: string[], steps: int32[] [, label: int32[]]) -> sentences: string[steps]
    transfer(sentences: string[N], to: int32[N])                -> sentences: string[N]   (transfer models)
    sample_gaussian_fit(num: int32[], seed: int32[])            -> sentences: string[num]
        (models carrying a Gaussian fit of their codes, `model.code_fit`: `model.sample(num, seed=seed,
        prior="gaussian_fit")`; not transfer models)

The bracketed `labels`/`label` inputs exist for transfer models (one decoder per class).
`serving_default` is an alias of `encode` (Keras `ExportArchive` names the first endpoint so).
`sample` with the same seed gives the same sentences (stateless random ops), the same as
`model.sample(num, seed=seed)` in Python.

Image models (an `ImageAutoencoderBackbone`) get float tensors in and out instead (`export_images`),
images flattened to n pixels with values in [0, 1] and outputs pixel probabilities:

    encode(images: float32[N, n])                               -> codes: float32[N, d]
    decode(codes: float32[N, d])                                -> images: float32[N, n]
    reconstruct(images: float32[N, n])                          -> images: float32[N, n]
    sample(num: int32[], seed: int32[])                         -> images: float32[num, n]
    interpolate(a: float32[n], b: float32[n], steps: int32[])   -> images: float32[steps, n]

Limits (each checked in the graph; a request outside them fails with INVALID_ARGUMENT naming the
argument, and nothing is computed): 0 <= N, num, steps <= `max_batch` (default 1024); class numbers
(`labels`, `to`, `label`) in 0..C-1, with one per sentence; `seed` >= 0; sentences valid UTF-8.
Empty input (N = 0, num = 0, steps = 0) gives empty output. Sentences longer than
`max_input_words` words are truncated.
"""

import json
import os

import keras
import tensorflow as tf

from arae_tf.data.vocab import BOS_ID, EOS_ID, valid_utf8_graph
from arae_tf.models.decoding import cycle_transfer_by_class, interpolation_path
from arae_tf.models.text_api import split_cycle

SIGNATURES = ("encode", "reconstruct", "sample", "interpolate", "transfer", "sample_gaussian_fit")


def _framed_ids(vocab, lookup, sentences, max_words):
    """The graph twin of `pipeline.frame` + `pipeline.pad`: `<bos>` words `<eos>`, padded, [N, T] int32."""
    words = vocab.tokenize_graph(sentences, lookup)[:, :max_words]
    n = words.nrows()
    bos = tf.RaggedTensor.from_tensor(tf.fill([n, 1], BOS_ID))
    eos = tf.RaggedTensor.from_tensor(tf.fill([n, 1], EOS_ID))
    return tf.concat([bos, words, eos], axis=1).to_tensor(0)


def _require(condition, message):
    """An assertion op failing the request with `message` (INVALID_ARGUMENT) when `condition` is false."""
    return tf.debugging.Assert(condition, [tf.constant(message)])


def _checked(checks, fn):
    """Runs `fn()` after every check in `checks` has passed."""
    with tf.control_dependencies(checks):
        return fn()


def export_model(model, vocab, out_dir, max_len=20, max_input_words=30, max_batch=1024, metadata=None):
    """Writes the SavedModel to `out_dir` (plus `arae_tf_export.json` describing it). Returns the signature names.

    `max_batch` bounds the sentences of one request and `num`/`steps` (module docstring: limits).
    Image models (`vocab` None) are exported by `export_images`."""
    if model.modality == "image":
        return export_images(model, out_dir, max_batch=max_batch, metadata=metadata)
    vocab.check_size(model.backbone.vocab_size, where="model being exported")
    if os.path.exists(out_dir) and os.listdir(out_dir):
        raise FileExistsError(f"{out_dir} exists and is not empty; choose a new --out directory")
    lookup = vocab.lookup_layer()
    lookup.build((None,))
    backbone = model.backbone
    C = model.decoder_classes  # one decoder per class: a transfer model
    transfer = C > 1
    ids = lambda s: _framed_ids(vocab, lookup, s, max_input_words)
    text = vocab.detokenize_graph

    def codes(sentences):
        """Codes [N, d]; an empty batch gives [0, d] (its token tensor has no time steps to run)."""
        tokens = ids(sentences)
        return tf.cond(tf.shape(tokens)[0] > 0, lambda: backbone.encode(tokens),
                       lambda: tf.zeros([0, model.latent_dim], tf.float32))

    def decode(z, classes, **options):
        """Greedy decoding (or `options`) of each code with the decoder of its class ([N] int32, checked)."""
        if C == 1:
            return backbone.decode(z, max_len=max_len, **options)
        return backbone.decode_by_class(z, classes, max_len=max_len, **options)

    def sentences_ok(sentences, name="sentences"):
        n = tf.size(sentences)
        return [_require(n <= max_batch, f"argument `{name}`: at most {max_batch} sentences per request"),
                _require(tf.reduce_all(valid_utf8_graph(sentences)), f"argument `{name}`: not valid UTF-8")]

    def classes_ok(classes, name, n=None):
        checks = [_require(tf.reduce_all((classes >= 0) & (classes < C)),
                           f"argument `{name}`: class numbers must be in 0..{C - 1}")]
        if n is not None:
            checks.append(_require(tf.equal(tf.size(classes), n),
                                   f"argument `{name}`: one class number per sentence"))
        return checks

    def count_ok(v, name):
        return [_require((v >= 0) & (v <= max_batch), f"argument `{name}`: must be in 0..{max_batch}")]

    def seed_ok(seed):
        return [_require(seed >= 0, "argument `seed`: must be >= 0")]

    def encode_text(sentences, classes=None, **options):
        return {"sentences": text(decode(codes(sentences), classes, **options))}

    def transfer_text(sentences, to):
        """`model.transfer`'s decoding: its `transfer_decoding`, with cycle reranking when it sets `cycle`."""
        options, cycle = split_cycle(model.transfer_decoding)
        if not cycle:
            return encode_text(sentences, to, **options)
        tokens = ids(sentences)
        out = tf.cond(tf.shape(tokens)[0] > 0,
                      lambda: cycle_transfer_by_class(backbone, tokens, to, cycle, max_len=max_len, **options),
                      lambda: tf.zeros([0, max_len], tf.int32))
        return {"sentences": text(out)}

    S = lambda shape, dtype, name: tf.TensorSpec(shape, dtype, name=name)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(lookup)

    archive.add_endpoint(
        "encode", lambda sentences: _checked(sentences_ok(sentences),
                                             lambda: {"codes": codes(sentences)}),
        [S([None], tf.string, "sentences")])
    if transfer:
        archive.add_endpoint(
            "reconstruct", lambda sentences, labels: _checked(
                sentences_ok(sentences) + classes_ok(labels, "labels", tf.size(sentences)),
                lambda: encode_text(sentences, labels)),
            [S([None], tf.string, "sentences"), S([None], tf.int32, "labels")])
        archive.add_endpoint(
            "transfer", lambda sentences, to: _checked(
                sentences_ok(sentences) + classes_ok(to, "to", tf.size(sentences)),
                lambda: transfer_text(sentences, to)),
            [S([None], tf.string, "sentences"), S([None], tf.int32, "to")])
        archive.add_endpoint(
            "sample", lambda num, seed, label: _checked(
                count_ok(num, "num") + seed_ok(seed) + classes_ok(label, "label"),
                lambda: {"sentences": text(decode(model.fake_codes(num, seed=tf.stack([seed, 0])),
                                                  tf.fill([num], label)))}),
            [S([], tf.int32, "num"), S([], tf.int32, "seed"), S([], tf.int32, "label")])
    else:
        archive.add_endpoint(
            "reconstruct", lambda sentences: _checked(sentences_ok(sentences), lambda: encode_text(sentences)),
            [S([None], tf.string, "sentences")])
    def sampler(draw):  # an untagged model's sample(num, seed) endpoint over the codes `draw(num, seed=)` gives
        return lambda num, seed: _checked(
            count_ok(num, "num") + seed_ok(seed),
            lambda: {"sentences": text(decode(draw(num, seed=tf.stack([seed, 0])), None))})

    fitted = model.code_fit is not None and not transfer
    if not transfer:
        archive.add_endpoint("sample", sampler(model.sample_codes), [S([], tf.int32, "num"), S([], tf.int32, "seed")])
    if fitted:
        archive.add_endpoint("sample_gaussian_fit", sampler(model.gaussian_fit_codes),
                             [S([], tf.int32, "num"), S([], tf.int32, "seed")])

    def interpolate(a, b, steps, label=None):
        checks = sentences_ok(a, "a") + sentences_ok(b, "b") + count_ok(steps, "steps")
        if label is not None:
            checks += classes_ok(label, "label")

        def run():
            z = codes(tf.stack([a, b]))
            path = interpolation_path(z[0], z[1], steps, backbone.normalize_code)
            return {"sentences": text(decode(path, None if label is None else tf.fill([steps], label)))}
        return _checked(checks, run)

    interp_sig = [S([], tf.string, "a"), S([], tf.string, "b"), S([], tf.int32, "steps")]
    if transfer:
        archive.add_endpoint("interpolate", interpolate, interp_sig + [S([], tf.int32, "label")])
    else:
        archive.add_endpoint("interpolate", lambda a, b, steps: interpolate(a, b, steps), interp_sig)
    archive.write_out(out_dir, verbose=False)
    names = [n for n in SIGNATURES if (transfer or n != "transfer") and (fitted or n != "sample_gaussian_fit")]
    with open(os.path.join(out_dir, "arae_tf_export.json"), "w") as f:
        json.dump({"signatures": names, "model": type(model).__name__, "num_classes": C, "max_len": max_len,
                   "max_input_words": max_input_words, "max_batch": max_batch, "latent_dim": model.latent_dim,
                   **(metadata or {})}, f, indent=2)
    return names


IMAGE_SIGNATURES = ("encode", "decode", "reconstruct", "sample", "interpolate")


def export_images(model, out_dir, max_batch=1024, metadata=None):
    """Writes an image model's SavedModel (float tensors in and out; module docstring) to `out_dir`
    plus `arae_tf_export.json`. Returns the signature names. Every input is checked in the graph
    (at most `max_batch` rows, pixels finite and in [0, 1], counts in 0..max_batch, seed >= 0)."""
    if os.path.exists(out_dir) and os.listdir(out_dir):
        raise FileExistsError(f"{out_dir} exists and is not empty; choose a new --out directory")
    backbone = model.backbone
    n, d = backbone.input_dim, model.latent_dim

    def pixels_ok(x, name):
        return [_require(tf.shape(x)[0] <= max_batch, f"argument `{name}`: at most {max_batch} images per request"),
                _require(tf.reduce_all(tf.math.is_finite(x) & (x >= 0.0) & (x <= 1.0)),
                         f"argument `{name}`: pixel values must be finite and in [0, 1]")]

    def count_ok(v, name):
        return [_require((v >= 0) & (v <= max_batch), f"argument `{name}`: must be in 0..{max_batch}")]

    S = lambda shape, dtype, name: tf.TensorSpec(shape, dtype, name=name)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("encode", lambda images: _checked(pixels_ok(images, "images"),
                                                           lambda: {"codes": backbone.encode(images)}),
                         [S([None, n], tf.float32, "images")])
    archive.add_endpoint("decode", lambda codes: _checked(
        [_require(tf.shape(codes)[0] <= max_batch, f"argument `codes`: at most {max_batch} codes per request"),
         _require(tf.reduce_all(tf.math.is_finite(codes)), "argument `codes`: must be finite")],
        lambda: {"images": backbone.decode(codes)}), [S([None, d], tf.float32, "codes")])
    archive.add_endpoint("reconstruct", lambda images: _checked(
        pixels_ok(images, "images"), lambda: {"images": backbone.decode(backbone.encode(images))}),
        [S([None, n], tf.float32, "images")])
    archive.add_endpoint("sample", lambda num, seed: _checked(
        count_ok(num, "num") + [_require(seed >= 0, "argument `seed`: must be >= 0")],
        lambda: {"images": backbone.decode(model.sample_codes(num, seed=tf.stack([seed, 0])))}),
        [S([], tf.int32, "num"), S([], tf.int32, "seed")])

    def interpolate(a, b, steps):
        def run():
            z = backbone.encode(tf.stack([a, b]))
            return {"images": backbone.decode(interpolation_path(z[0], z[1], steps, backbone.normalize_code))}
        return _checked(pixels_ok(a[None], "a") + pixels_ok(b[None], "b") + count_ok(steps, "steps"), run)

    archive.add_endpoint("interpolate", interpolate,
                         [S([n], tf.float32, "a"), S([n], tf.float32, "b"), S([], tf.int32, "steps")])
    archive.write_out(out_dir, verbose=False)
    with open(os.path.join(out_dir, "arae_tf_export.json"), "w") as f:
        json.dump({"signatures": list(IMAGE_SIGNATURES), "model": type(model).__name__, "modality": "image",
                   "input_dim": n, "image_shape": list(backbone.image_shape), "max_batch": max_batch,
                   "latent_dim": d, **(metadata or {})}, f, indent=2)
    return list(IMAGE_SIGNATURES)


def saved_model_ops(export_dir):
    """Sorted op type names used anywhere in a SavedModel's graphs (including its function library)."""
    from tensorflow.core.protobuf import saved_model_pb2
    sm = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        sm.ParseFromString(f.read())
    ops = set()
    for mg in sm.meta_graphs:
        ops.update(n.op for n in mg.graph_def.node)
        for fn in mg.graph_def.library.function:
            ops.update(n.op for n in fn.node_def)
    return sorted(ops)
