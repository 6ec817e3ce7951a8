"""The model zoo: pretrained presets loaded offline in one line.

    from arae_tf import zoo
    zoo.list()                               # names, descriptions, sizes, where they are
    m = zoo.load("arae_yelp")                # a Keras model with its vocabulary attached
    m.transfer(["the food was awful ."], to=1)
    m.sample(5, seed=0); m.interpolate(a, b, steps=5); m.reconstruct([...]); m.encode([...])
    zoo.export("arae_yelp", "/tmp/arae_yelp_savedmodel")   # SavedModel for TensorFlow Serving

A preset is a directory:

    model.json       the Keras model config (keras.saving.serialize_keras_object, with compile config)
    weights.npz      every model weight by variable path (float16 or float32; see metadata "dtype"; with
                     "int8", the vocabulary-sized matrices are int8 with a float32 scale per word
                     stored as "<path>#scale", the rest float16)
    vocabulary.txt   the vocabulary (ids pad 0, unk 1, bos 2, eos 3, words...); text models only
    code_fit.npz     optional: a Gaussian fitted to the training codes ("mean" [d], "scale_tril" [d, d],
                     float32), which `m.sample(n, prior="gaussian_fit")` draws from (`write_code_fit`)
    *.png            figures of the model card (image models: reconstructions, samples, interpolations)
    metadata.json    name, description, training command and config, measured metrics
    MODEL_CARD.md    what it is, how it was trained and evaluated, data licence
    SHA256SUMS       sha256 of every file above; `load` refuses a preset whose files do not match

Where a name is looked for, in order: a directory path given as the name;
`$ARAE_TF_ZOO_DIR/<name>`; the shipped presets (`presets_dir()`: the repository's `zoo/`
folder, installed as `arae_tf.presets`); the cache `$ARAE_TF_CACHE` (default `~/.cache/arae_tf`)`/zoo/<name>`;
finally a registered remote archive (`register_remote(name, url, sha256)`: a .tar.gz
of the preset directory, checked against its sha256, unpacked into the cache).
"""

import builtins
import hashlib
import json
import os
import time

import keras
import numpy as np

from arae_tf import models as _models  # noqa: F401 (registers the model classes for deserialization)
from arae_tf.models.base import dtype_policy
from arae_tf.data.vocab import Vocabulary

CODE_FIT = "code_fit.npz"
PRESET_FILES = ("model.json", "weights.npz", "vocabulary.txt", CODE_FIT, "metadata.json", "MODEL_CARD.md")
REQUIRED_FILES = ("model.json", "weights.npz", "metadata.json", "MODEL_CARD.md")  # + vocabulary.txt for text models
MANIFEST = "SHA256SUMS"
_REMOTE = {}


class PresetError(ValueError):
    """A preset is missing, unknown, incomplete or fails its integrity check."""


# -- locations ----------------------------------------------------------------
def _search_dirs():
    dirs = []
    if os.environ.get("ARAE_TF_ZOO_DIR"):
        dirs.append(os.environ["ARAE_TF_ZOO_DIR"])
    dirs.append(presets_dir())
    dirs.append(os.path.join(cache_dir(), "zoo"))
    return dirs


def presets_dir():
    """The shipped presets: the repository's `zoo/` folder, which installs as `arae_tf.presets`."""
    return package_data_dir("arae_tf.presets")


def package_data_dir(package):
    """The directory of `package` (`arae_tf.presets`, `arae_tf.configs`): inside the installed
    package, or the repository folder an editable install maps it to."""
    import importlib.util
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise PresetError(f"{package} is not installed: reinstall arae_tf (`pip install -e .` in a checkout)")
    return next(iter(spec.submodule_search_locations))


def cache_dir():
    return os.environ.get("ARAE_TF_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "arae_tf")


def _is_preset(path):
    return os.path.isfile(os.path.join(path, MANIFEST))


def register_remote(name, url, sha256, description=""):
    """Registers a preset hosted as a .tar.gz archive at `url` (https:// or file://) with its sha256."""
    _REMOTE[name] = {"url": url, "sha256": sha256.lower(), "description": description}


def _local_presets():
    found = {}
    for d in _search_dirs():
        if os.path.isdir(d):
            for name in sorted(os.listdir(d)):
                if name not in found and _is_preset(os.path.join(d, name)):
                    found[name] = os.path.join(d, name)
    return found


def list():  # noqa: A001 - the zoo's public verb
    """[{name, description, size_mb, location}] of every preset this machine can load."""
    out = []
    for name, path in _local_presets().items():
        meta = read_json(os.path.join(path, "metadata.json"))
        size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path)) / 2 ** 20
        out.append({"name": name, "description": meta.get("description", ""), "size_mb": round(size, 2),
                    "location": path})
    for name, r in _REMOTE.items():
        if name not in {o["name"] for o in out}:
            out.append({"name": name, "description": r["description"], "size_mb": None, "location": r["url"]})
    return out


def resolve(name):
    """The verified local directory of preset `name` (downloading a registered remote one if needed)."""
    if os.path.isdir(name):
        path = name
        if not _is_preset(path):
            raise PresetError(f"{path} is not a preset directory (no {MANIFEST})")
    else:
        path = _local_presets().get(name)
        if path is None and name in _REMOTE:
            from arae_tf.zoo_remote import download
            path = download(name, _REMOTE[name])
        if path is None:
            known = sorted(set(_local_presets()) | set(_REMOTE))
            raise PresetError(f"unknown preset {name!r}; known presets: {', '.join(known) or '(none)'}")
    verify(path)
    return path


def file_sha256(path):
    """sha256 hex digest of a file, read in blocks (preset manifests, checkpoint markers)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(path):
    """Writes SHA256SUMS for the preset files in `path`."""
    names = [f for f in PRESET_FILES if os.path.exists(os.path.join(path, f))]
    names += sorted(f for f in os.listdir(path) if f.endswith(".png") and _plain_file_name(f))
    lines = [f"{file_sha256(os.path.join(path, f))}  {f}\n" for f in names]
    with open(os.path.join(path, MANIFEST), "w") as f:
        f.writelines(lines)


def verify(path):
    """Raises `PresetError` naming the first file of `path` that is missing or differs from SHA256SUMS;
    returns the names the manifest lists (all verified)."""
    listed = _manifest(path)
    for f, want in listed.items():
        p = os.path.join(path, f)
        if os.path.islink(p):
            raise PresetError(f"{p} is a link; a preset holds plain files only")
        if not os.path.isfile(p):
            raise PresetError(f"{p} is missing")
        got = file_sha256(p)
        if got != want:
            raise PresetError(f"{p} does not match its sha256 in {MANIFEST} (got {got[:12]}..., expected "
                              f"{want[:12]}...): the file is truncated or was modified; refusing to load it")
    return set(listed)


def _manifest(path):
    """{file: sha256} of `path`'s SHA256SUMS, checked for form and for the required files (no hashing)."""
    manifest = os.path.join(path, MANIFEST)
    if not os.path.isfile(manifest):
        raise PresetError(f"{manifest} is missing: cannot verify the preset")
    listed = {}
    for i, line in enumerate(open(manifest), 1):
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64:
            raise PresetError(f"{manifest}, line {i}: expected '<sha256>  <file>', got {line.strip()!r}")
        if not _plain_file_name(parts[1]):
            raise PresetError(f"{manifest}, line {i}: {parts[1]!r} is not a plain file name inside the preset "
                              "directory; refusing the preset")
        listed[parts[1]] = parts[0]
    for f in REQUIRED_FILES:
        if f not in listed:
            raise PresetError(f"{manifest} does not list {f}")
    return listed


def _plain_file_name(name):
    """True for a file name with no folder part, not '.', '..' or hidden: it can only name a file
    directly inside the preset directory."""
    return (name == os.path.basename(name) and "/" not in name and "\\" not in name and ":" not in name
            and not name.startswith("."))


def non_finite(arrays):
    """Names of the float arrays in {name: array} that hold NaN or inf."""
    return [k for k, a in arrays.items() if np.issubdtype(np.asarray(a).dtype, np.floating)
            and not np.isfinite(a).all()]


def check_finite(arrays, where):
    """Raises PresetError naming `where` and the first weights with NaN or infinite values."""
    bad = non_finite(arrays)
    if bad:
        raise PresetError(f"{where}: weights {bad[:5]} hold NaN or infinite values (training diverged?); refusing them")


def read_json(path):
    with open(path) as f:
        return json.load(f)


# -- save / load --------------------------------------------------------------
STORAGE_DTYPES = ("float16", "float32", "int8")
SCALE_SUFFIX = "#scale"


def quantize_int8(a):
    """Symmetric int8 quantization of a 2-D matrix `a` with one float32 scale per index of its longer
    axis (per word for a (vocabulary, dim) embedding or a (dim, vocabulary) output kernel):
    returns (q, scale) with `q * scale` ≈ `a`, the error at most half a scale step per entry."""
    axis = 1 if a.shape[0] >= a.shape[1] else 0  # reduce over the shorter axis
    peak = np.abs(a).max(axis=axis, keepdims=True).astype(np.float32)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(a / scale), -127, 127).astype(np.int8)
    return q, scale


def storage_arrays(model, dtype):
    """The arrays `save_preset` writes for `model` in storage `dtype` (see `STORAGE_DTYPES`): every
    float32 weight cast to `dtype`, except with "int8", where the 2-D weights with a dimension equal
    to the vocabulary size (the embeddings and the output layer, most of a text model's bytes) are
    `quantize_int8`-ed and everything else is float16."""
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(STORAGE_DTYPES)}, got {dtype!r}")
    vocab_size = getattr(model.backbone, "vocab_size", None) if model.modality == "text" else None
    arrays = {}
    for v in model.weights:
        a = np.asarray(v.numpy())
        if a.dtype != np.float32:
            arrays[v.path] = a
        elif dtype == "int8" and a.ndim == 2 and vocab_size in a.shape:
            arrays[v.path], arrays[v.path + SCALE_SUFFIX] = quantize_int8(a)
        else:
            arrays[v.path] = a.astype("float16" if dtype == "int8" else dtype)
    return arrays


def save_preset(model, vocab, path, metadata, dtype="float16", card=""):
    """Writes `model` (weights only, no optimizer state) as a preset directory with its manifest
    (`vocab` None for an image model: no vocabulary.txt). `dtype`: the weights' storage, "float16"
    (default), "float32" (exact) or "int8" (`storage_arrays`: int8 vocabulary-sized matrices, about
    40% smaller than float16 for a 10k-word model); `load` always computes in float32."""
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(STORAGE_DTYPES)}, got {dtype!r}")
    if (vocab is None) != (model.modality == "image"):
        raise ValueError(f"a {model.modality} model is saved {'without' if model.modality == 'image' else 'with'} "
                         "a vocabulary")
    if vocab is not None:
        vocab.check_size(model.backbone.vocab_size, where="model")
    check_finite({v.path: np.asarray(v.numpy()) for v in model.weights}, f"saving preset {path}")
    if len({v.path for v in model.weights}) != len(model.weights):
        raise ValueError("model weights have duplicate paths; cannot save them by name")
    arrays = storage_arrays(model, dtype)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "model.json"), "w") as f:
        json.dump(keras.saving.serialize_keras_object(model), f, indent=1)
    np.savez(os.path.join(path, "weights.npz"), **arrays)
    if vocab is not None:
        vocab.save(os.path.join(path, "vocabulary.txt"))
    write_code_fit(model, path)
    with open(os.path.join(path, "metadata.json"), "w") as f:
        json.dump({**metadata, "dtype": dtype, "saved": time.strftime("%Y-%m-%d %H:%M:%S")}, f, indent=2, default=str)
    with open(os.path.join(path, "MODEL_CARD.md"), "w") as f:
        f.write(card or f"# {metadata.get('name', 'preset')}\n\n{metadata.get('description', '')}\n")
    write_manifest(path)
    return path


def write_code_fit(model, path):
    """Writes `model.code_fit` (if any) as `path`/code_fit.npz (float32 "mean" and "scale_tril"); returns
    whether it wrote one. `write_manifest` lists it."""
    if getattr(model, "code_fit", None) is None:
        return False
    mean, tril = model.code_fit
    np.savez(os.path.join(path, CODE_FIT), mean=mean, scale_tril=tril)
    return True


def read_code_fit(model, path):
    """Sets `model`'s `code_fit` from `path`/code_fit.npz where the preset has one (already `verify`-ed);
    `PresetError` where the file is there but the manifest does not list it, or it does not fit the model."""
    where = os.path.join(path, CODE_FIT)
    if not os.path.exists(where):
        return
    if CODE_FIT not in _manifest(path):
        raise PresetError(f"{path}/{MANIFEST} does not list {CODE_FIT}")
    try:
        with np.load(where) as npz:
            model.set_code_fit(npz["mean"], npz["scale_tril"])
    except (KeyError, ValueError) as e:
        raise PresetError(f"{where}: {e}") from None


def dequantized(arrays, where):
    """`arrays` read from a weights.npz with every int8 matrix and its "<path>#scale" turned back into
    float32 (`where` names the file in errors)."""
    out = {}
    for k, a in arrays.items():
        if k.endswith(SCALE_SUFFIX):
            if k[:-len(SCALE_SUFFIX)] not in arrays:
                raise PresetError(f"{where}: {k} scales no weight")
            continue
        if a.dtype == np.int8:
            scale = arrays.get(k + SCALE_SUFFIX)
            if scale is None:
                raise PresetError(f"{where}: int8 weight {k} has no {k + SCALE_SUFFIX}")
            try:
                a = a.astype(np.float32) * scale.astype(np.float32)
            except ValueError as e:
                raise PresetError(f"{where}: {k + SCALE_SUFFIX} of shape {scale.shape} does not fit {k} {a.shape}") from e
        out[k] = a
    return out


def preset_arrays(path):
    """{variable path: array} of the weights of preset directory `path` (checked finite; int8 matrices
    dequantized to float32; float16 ones left as stored)."""
    where = os.path.join(path, "weights.npz")
    with np.load(where) as npz:
        arrays = {k: npz[k] for k in npz.files}
    check_finite(arrays, where)
    return dequantized(arrays, where)


def preset_vocabulary(path):
    """The vocabulary file of preset directory `path` (already `verify`-ed: not hashed again), or None
    for an image model's preset; `PresetError` where the manifest does not list it (a text model needs
    it verified)."""
    vocab = os.path.join(path, "vocabulary.txt")
    if not os.path.exists(vocab):
        return None
    if "vocabulary.txt" not in _manifest(path):
        raise PresetError(f"{path}/{MANIFEST} does not list vocabulary.txt, which a text model needs")
    return vocab


def assign_preset_weights(model, path, mismatch, skip=()):
    """Assigns preset `path`'s weights to `model`'s variables of the same paths, cast to each variable's
    dtype. Every weight is checked (name and shape; `mismatch` ends the message) before any is assigned,
    so a refused preset leaves `model` as it was. Weights the model holds itself are stored under its
    name (`ae/code_mean`); a model built under another name (`ae_1`, a second one in one process) reads
    them under the preset's. Variables whose path ends with one of `skip` keep their values and need
    not be in the preset."""
    where = os.path.join(path, "weights.npz")
    arrays = preset_arrays(path)
    stored_name = read_json(os.path.join(path, "model.json")).get("config", {}).get("name")
    skipped = lambda p: any(p.endswith(s) for s in skip)  # noqa: E731
    names = {k for k in arrays if not skipped(k)}
    pairs = []
    for v in model.weights:
        if skipped(v.path):
            continue
        key = v.path
        if stored_name and key.startswith(model.name + "/"):
            key = stored_name + key[len(model.name):]
        if key not in names:
            raise PresetError(f"{where} has no weight {key!r}: {mismatch}")
        a = arrays[key]
        if tuple(a.shape) != tuple(v.shape):
            raise PresetError(f"{where}: {key} has shape {a.shape}, the model expects {tuple(v.shape)}: {mismatch}")
        pairs.append((v, a))
        names.discard(key)
    if names:
        raise PresetError(f"{where} has weights the model does not: {sorted(names)[:5]}: {mismatch}")
    for v, a in pairs:
        v.assign(a.astype(v.dtype))
    return len(pairs)


def _with_dtype_policy(config, policy):
    """`config` (a serialized Keras object) with every layer's dtype policy replaced by `policy`."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy":
            return dict(config, config={"name": policy})
        return {k: _with_dtype_policy(v, policy) for k, v in config.items()}
    if isinstance(config, builtins.list):  # (this module's `list` is the preset listing)
        return [_with_dtype_policy(v, policy) for v in config]
    return config


def load(name, compile=True, dtype="float32"):
    """The preset `name` as a Keras model with `model.vocabulary` attached (text models) and `model.preset`
    metadata.

    Args:
        compile: (default) compile the model with its training optimizers, ready for `fit`
            (fine-tuning); weights are cast to float32 whatever their storage dtype.
        dtype: the Keras dtype policy to compute in: "float32" (default, what the preset was
            evaluated in) or "mixed_bfloat16" (float32 weights, bfloat16 matmuls: faster decoding
            on CPUs with AVX-512 BF16/AMX and on recent GPUs; greedy outputs can differ from float32
            on near-ties, see docs/benchmarks.md).
    """
    with dtype_policy(dtype, "zoo.load(dtype=...)"):  # checked before anything is read or fetched
        path = resolve(name)
        try:
            return _load_verified(path, compile, dtype)
        except PresetError:
            raise
        except Exception as e:  # a damaged file that still matches its manifest: name the preset
            raise PresetError(f"preset {path} could not be loaded: {type(e).__name__}: {e}") from e


def _load_verified(path, compile, dtype):
    config = read_json(os.path.join(path, "model.json"))
    if not compile:
        config = {k: v for k, v in config.items() if k != "compile_config"}
    # The policy in the config is each layer's own; sublayers made in __init__ take the global one.
    model = keras.saving.deserialize_keras_object(_with_dtype_policy(config, dtype))
    assign_preset_weights(model, path, "the preset does not match its model.json")
    if model.modality == "text":
        vocab = preset_vocabulary(path)
        if vocab is None:
            raise PresetError(f"{path}/vocabulary.txt is missing, which a text model needs")
        model.vocabulary = Vocabulary.load(vocab)
    read_code_fit(model, path)
    model.preset = read_json(os.path.join(path, "metadata.json"))
    return model


def export(name, out_dir, **kwargs):
    """Writes preset `name` as a SavedModel with string signatures (see `arae_tf.export_lib`)."""
    from arae_tf import export_lib
    model = load(name, compile=False)
    return export_lib.export_model(model, getattr(model, "vocabulary", None), out_dir,
                                   metadata={"preset": model.preset.get("name", name)}, **kwargs)
