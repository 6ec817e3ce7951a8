"""Zoo presets (save/load/verify/remote/fine-tune) and the SavedModel export, checked in a fresh
process that does not import arae_tf."""

import hashlib
import json
import os
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from arae_tf import export_lib, zoo
from arae_tf.data import pipeline, synthetic
from arae_tf.data.vocab import Vocabulary
from tests.conftest import REPO, tiny_ae
from tests.test_transfer import tiny_transfer


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny 2-class transfer model trained 60 iterations (non-degenerate weights), with its vocabulary."""
    ex = synthetic.generate(512, num_classes=2, seed=0)
    vocab = Vocabulary.build(t for t, _ in ex)
    model = tiny_transfer(len(vocab), num_classes=2)
    ds = pipeline.make_dataset(ex, vocab, 32, 12, repeat=True)
    model.fit(ds, steps_per_epoch=60, epochs=1, verbose=0)
    model.vocabulary = vocab
    return model, vocab, [t for t, _ in ex[:6]]


@pytest.fixture
def preset(tmp_path, trained):
    model, vocab, _ = trained
    return zoo.save_preset(model, vocab, str(tmp_path / "tiny"), {"name": "tiny", "description": "a test preset"},
                           dtype="float32")


def test_preset_round_trip_exact_and_compiled(preset, trained):
    model, _, texts = trained
    loaded = zoo.load(preset)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert loaded.transfer(texts, to=1) == model.transfer(texts, to=1)
    assert loaded.sample(5, seed=3, decoder=0) == model.sample(5, seed=3, decoder=0)
    assert loaded.preset["name"] == "tiny" and loaded.compiled


def test_float16_preset_is_close(tmp_path, trained, preset):
    model, vocab, texts = trained
    path = zoo.save_preset(model, vocab, str(tmp_path / "half"), {"name": "half"}, dtype="float16")
    loaded = zoo.load(path)
    np.testing.assert_allclose(loaded.encode(texts), model.encode(texts), atol=2e-2)
    full = os.path.getsize(os.path.join(preset, "weights.npz"))  # the float32 copy
    assert os.path.getsize(os.path.join(path, "weights.npz")) < 0.8 * full  # (zip headers weigh on tiny models)


def test_int8_preset_quantizes_the_vocabulary_matrices_and_decodes_close(tmp_path, trained):
    """dtype="int8": every (vocabulary, d) or (d, vocabulary) matrix is int8 with one scale per word,
    within half a quantization step of the float32 weight once loaded; everything else is float16."""
    model, vocab, texts = trained
    path = zoo.save_preset(model, vocab, str(tmp_path / "int8"), {"name": "int8"}, dtype="int8")
    with np.load(os.path.join(path, "weights.npz")) as npz:
        stored = {k: npz[k] for k in npz.files}
    quantized = [k for k, a in stored.items() if a.dtype == np.int8]
    assert quantized and all(len(vocab) in stored[k].shape for k in quantized)
    assert all(k + zoo.SCALE_SUFFIX in stored for k in quantized)
    floats = [k for k, a in stored.items() if a.dtype.kind == "f" and not k.endswith(zoo.SCALE_SUFFIX)]
    assert floats and all(stored[k].dtype == np.float16 for k in floats)
    loaded = zoo.load(path)
    assert loaded.preset["dtype"] == "int8"
    for a, b in zip(model.weights, loaded.weights):
        if a.path in quantized:
            step = stored[a.path + zoo.SCALE_SUFFIX]
            assert np.all(np.abs(a.numpy() - b.numpy()) <= 0.5 * step + 1e-7), a.path
    np.testing.assert_allclose(loaded.encode(texts), model.encode(texts), atol=5e-2)


def test_int8_without_its_scale_is_refused_by_name(tmp_path, trained):
    model, vocab, _ = trained
    path = zoo.save_preset(model, vocab, str(tmp_path / "int8"), {"name": "int8"}, dtype="int8")
    with np.load(os.path.join(path, "weights.npz")) as npz:
        stored = {k: npz[k] for k in npz.files}
    dropped = next(k for k in stored if k.endswith(zoo.SCALE_SUFFIX))
    del stored[dropped]
    np.savez(os.path.join(path, "weights.npz"), **stored)
    zoo.write_manifest(path)
    with pytest.raises(zoo.PresetError, match=f"int8 weight {dropped[:-len(zoo.SCALE_SUFFIX)]} has no"):
        zoo.load(path)
    with pytest.raises(ValueError, match="dtype must be one of float16, float32, int8, got 'int4'"):
        zoo.save_preset(model, vocab, str(tmp_path / "int4"), {"name": "int4"}, dtype="int4")
    assert not os.path.exists(tmp_path / "int4")


def test_fine_tuning_from_a_preset(preset):
    loaded = zoo.load(preset)
    ex = synthetic.generate(128, num_classes=2, seed=9)
    ds = pipeline.make_dataset(ex, loaded.vocabulary, 32, 12, repeat=True)
    before = int(loaded.train_iterations.numpy())
    hist = loaded.fit(ds, steps_per_epoch=3, epochs=1, verbose=0)
    assert int(loaded.train_iterations.numpy()) == before + 3 and np.isfinite(hist.history["rec_loss"][-1])


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_tampered_preset_is_refused(preset, damage):
    path = os.path.join(preset, "weights.npz")
    if damage == "flip":
        data = bytearray(open(path, "rb").read())
        data[len(data) // 2] ^= 0xFF
        open(path, "wb").write(bytes(data))
    elif damage == "truncate":
        open(path, "r+b").truncate(os.path.getsize(path) // 2)
    else:
        os.remove(path)
    with pytest.raises(zoo.PresetError, match="weights.npz"):
        zoo.load(preset)


def test_text_preset_whose_manifest_omits_the_vocabulary_is_refused(preset):
    """Only image presets may go without vocabulary.txt; a text preset's must be listed (and so verified)."""
    manifest = os.path.join(preset, zoo.MANIFEST)
    lines = [line for line in open(manifest) if not line.rstrip().endswith("vocabulary.txt")]
    open(manifest, "w").writelines(lines)
    with pytest.raises(zoo.PresetError, match="does not list vocabulary.txt, which a text model needs"):
        zoo.load(preset)


def test_unknown_name_lists_known(monkeypatch, tmp_path, preset):
    monkeypatch.setenv("ARAE_TF_ZOO_DIR", os.path.dirname(preset))
    monkeypatch.setenv("ARAE_TF_CACHE", str(tmp_path / "cache"))
    with pytest.raises(zoo.PresetError, match="known presets: .*tiny"):
        zoo.load("no_such_model")
    names = {p["name"]: p for p in zoo.list()}
    assert names["tiny"]["description"] == "a test preset" and names["tiny"]["size_mb"] > 0
    assert zoo.load("tiny").preset["name"] == "tiny"


def test_preset_weights_of_a_model_built_under_another_name(tmp_path, vocab):
    """Weights a model holds itself are stored under its name (`ae/code_mean`); a second model built in
    the same process (`ae_1`) reads them under the preset's name (a warm start's case)."""
    from tests.conftest import tiny_ae
    first, second = tiny_ae(len(vocab)), tiny_ae(len(vocab))
    first.code_mean.assign(np.arange(8, dtype=np.float32))
    assert first.name != second.name and any(v.path.startswith(first.name + "/") for v in first.weights)
    path = zoo.save_preset(first, vocab, str(tmp_path / "ae"), {"name": "ae", "description": "x"}, dtype="float32")
    assert zoo.assign_preset_weights(second, path, "mismatch") == len(second.weights)
    for a, b in zip(first.weights, second.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_every_shipped_preset_says_what_it_is():
    """zoo.list() and each card's first paragraph show a one-line description (three arae_yelp
    presets once shipped without one; make_preset now requires it)."""
    shipped = [p for p in zoo.list() if p["location"].startswith(zoo.presets_dir())]
    assert {p["name"] for p in shipped} >= {"arae_yelp", "arae_snli", "wae_snli", "wed_dailydialog", "arae_mnist"}
    for p in shipped:
        assert len(p["description"].strip()) > 20, p["name"]
        card = open(os.path.join(p["location"], "MODEL_CARD.md"), encoding="utf-8").read().split("\n")
        assert card[:3] == [f"# {p['name']}", "", p["description"]], p["name"]


def test_remote_preset_checked_by_sha256(monkeypatch, tmp_path, preset):
    monkeypatch.setenv("ARAE_TF_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ARAE_TF_ZOO_DIR", str(tmp_path / "empty"))
    archive = str(tmp_path / "tiny.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(preset, arcname="tiny_remote")
    sha = hashlib.sha256(open(archive, "rb").read()).hexdigest()
    monkeypatch.setattr(zoo, "_REMOTE", {})
    zoo.register_remote("bad_remote", "file://" + archive, "0" * 64)
    with pytest.raises(zoo.PresetError, match="refusing"):
        zoo.load("bad_remote")
    zoo.register_remote("tiny_remote", "file://" + archive, sha, "remote copy")
    model = zoo.load("tiny_remote")  # downloaded into the cache, verified, loaded
    assert os.path.isdir(tmp_path / "cache" / "zoo" / "tiny_remote") and model.preset["name"] == "tiny"


def _rewrite_manifest(preset):
    zoo.write_manifest(preset)  # the damage below is then invisible to the checksums


def test_manifest_entries_outside_the_preset_are_refused(preset):
    manifest = os.path.join(preset, "SHA256SUMS")
    outside = os.path.join(os.path.dirname(preset), "outside.txt")
    open(outside, "w").write("x")
    sha = hashlib.sha256(b"x").hexdigest()
    for entry in ("../outside.txt", "../../../../etc/hostname", "/etc/hostname", "sub/file", ".hidden"):
        zoo.write_manifest(preset)
        with open(manifest, "a") as f:
            f.write(f"{sha}  {entry}\n")
        with pytest.raises(zoo.PresetError, match="not a plain file name inside the preset"):
            zoo.load(preset)
    # A preset file replaced by a link (to a file with the listed content) is refused too.
    zoo.write_manifest(preset)
    card = os.path.join(preset, "MODEL_CARD.md")
    copy = os.path.join(os.path.dirname(preset), "card_copy.md")
    os.replace(card, copy)
    os.symlink(copy, card)
    with pytest.raises(zoo.PresetError, match="is a link"):
        zoo.load(preset)


def test_damage_behind_a_matching_manifest_names_the_preset(preset):
    path = os.path.join(preset, "weights.npz")
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
    _rewrite_manifest(preset)
    with pytest.raises(zoo.PresetError, match=f"preset {preset} could not be loaded"):
        zoo.load(preset)


def test_non_finite_weights_are_refused_on_save_and_on_load(tmp_path, preset, trained):
    model, vocab, _ = trained
    with np.load(os.path.join(preset, "weights.npz")) as npz:
        arrays = {k: npz[k] for k in npz.files}
    key = sorted(k for k in arrays if arrays[k].dtype.kind == "f")[0]
    arrays[key] = arrays[key].copy()
    arrays[key].flat[0] = np.nan
    np.savez(os.path.join(preset, "weights.npz"), **arrays)
    _rewrite_manifest(preset)
    with pytest.raises(zoo.PresetError, match=f"weights \\['{key}'\\] hold NaN"):
        zoo.load(preset)
    v = next(w for w in model.weights if "float" in str(w.dtype))
    keep = v.numpy().copy()
    try:
        v.assign(np.full(v.shape, np.inf, v.dtype))
        with pytest.raises(zoo.PresetError, match="NaN or infinite"):
            zoo.save_preset(model, vocab, str(tmp_path / "inf"), {"name": "inf"})
        assert not os.path.exists(tmp_path / "inf")  # nothing half-written
    finally:
        v.assign(keep)


@pytest.mark.parametrize("member", ["../evil.txt", "/abs/evil.txt", "link"])
def test_remote_archive_members_outside_the_preset_are_refused(monkeypatch, tmp_path, preset, member):
    import io
    monkeypatch.setenv("ARAE_TF_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ARAE_TF_ZOO_DIR", str(tmp_path / "empty"))
    archive = str(tmp_path / "evil.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(preset, arcname="evil")
        info = tarfile.TarInfo(member)
        if member == "link":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/hostname"
            tar.addfile(info)
        else:
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    sha = hashlib.sha256(open(archive, "rb").read()).hexdigest()
    monkeypatch.setattr(zoo, "_REMOTE", {})
    zoo.register_remote("evil", "file://" + archive, sha)
    with pytest.raises(zoo.PresetError, match=f"member '{member}'"):
        zoo.load("evil")
    assert not os.path.exists(tmp_path / "cache" / "zoo" / "evil")


# -- export -------------------------------------------------------------------
_FRESH = r"""
import json, sys
import tensorflow as tf
from tensorflow.python.framework import op_def_registry
sm = tf.saved_model.load(sys.argv[1])
spec = json.loads(sys.argv[2])
texts = tf.constant(spec["texts"])
sig = sm.signatures
out = {"signatures": sorted(sig.keys())}
out["codes"] = sig["encode"](sentences=texts)["codes"].numpy().tolist()
dec = lambda t: [s.decode() for s in t.numpy().tolist()]
n = len(spec["texts"])
if "transfer" in sig:
    out["transfer"] = dec(sig["transfer"](sentences=texts, to=tf.constant([1] * n))["sentences"])
    out["reconstruct"] = dec(sig["reconstruct"](sentences=texts, labels=tf.constant(spec["labels"]))["sentences"])
    out["sample"] = dec(sig["sample"](num=tf.constant(4), seed=tf.constant(7), label=tf.constant(1))["sentences"])
    out["interpolate"] = dec(sig["interpolate"](a=texts[0], b=texts[1], steps=tf.constant(4),
                                                label=tf.constant(0))["sentences"])
else:
    out["reconstruct"] = dec(sig["reconstruct"](sentences=texts)["sentences"])
    out["sample"] = dec(sig["sample"](num=tf.constant(4), seed=tf.constant(7))["sentences"])
    out["interpolate"] = dec(sig["interpolate"](a=texts[0], b=texts[1], steps=tf.constant(4))["sentences"])
if "sample_gaussian_fit" in sig:
    out["sample_gaussian_fit"] = dec(sig["sample_gaussian_fit"](num=tf.constant(4), seed=tf.constant(7))["sentences"])
ops = json.loads(open(sys.argv[3]).read())
out["non_core_ops"] = [o for o in ops if op_def_registry.get(o) is None]
out["arae_tf_imported"] = any(m.startswith("arae_tf") for m in sys.modules)
print("RESULT" + json.dumps(out))
"""


def _run_fresh(export_dir, texts, labels):
    ops_file = os.path.join(export_dir, "..", "ops.json")
    json.dump(export_lib.saved_model_ops(export_dir), open(ops_file, "w"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    r = subprocess.run([sys.executable, "-c", _FRESH, export_dir, json.dumps({"texts": texts, "labels": labels}),
                        ops_file], capture_output=True, text=True, env=env, cwd="/", timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.split("RESULT", 1)[1])


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); `make test-slow`
def test_export_transfer_model_matches_python_in_a_fresh_process(tmp_path, trained):
    """Every signature gives what the Python model gives; `transfer` decodes with the model's
    `transfer_decoding`, here beam search with contrast and cycle reranking."""
    model, vocab, texts = trained
    texts = texts[:4] + ["Some UNSEEN words , and CAPITALS", ""]
    labels = [0, 1, 0, 1, 1, 0]
    out_dir = str(tmp_path / "export" / "1")
    decoding = {"method": "beam", "beam_size": 3, "contrast": 0.3, "cycle": 0.5}
    model.transfer_decoding = decoding  # `transfer` decodes so
    try:
        names = export_lib.export_model(model, vocab, out_dir, max_len=12)
        assert model.transfer(texts, to=1, max_len=12) == model.transfer(texts, to=1, max_len=12, **decoding)
        transferred = model.transfer(texts, to=1, max_len=12)
    finally:
        model.transfer_decoding = None
    assert names == ["encode", "reconstruct", "sample", "interpolate", "transfer"]
    got = _run_fresh(out_dir, texts, labels)
    assert not got["arae_tf_imported"] and got["non_core_ops"] == []
    assert got["signatures"] == sorted(names + ["serving_default"])  # serving_default = encode
    np.testing.assert_allclose(got["codes"], model.encode(texts), atol=1e-5)
    assert got["transfer"] == transferred
    assert got["reconstruct"] == model.transfer(texts, to=np.array(labels), max_len=12)  # greedy
    assert got["sample"] == model.sample(4, seed=7, max_len=12, decoder=1)
    assert got["interpolate"] == model.interpolate(texts[0], texts[1], steps=4, max_len=12, decoder=0)
    with pytest.raises(FileExistsError):
        export_lib.export_model(model, vocab, out_dir)


def test_export_plain_model_and_binary_from_preset(tmp_path, vocab, examples):
    model = tiny_ae(len(vocab))
    model.vocabulary = vocab
    model.fit_gaussian_to_codes(model.encode([t for t, _ in examples[:300]]))  # -> sample_gaussian_fit
    path = zoo.save_preset(model, vocab, str(tmp_path / "ae_tiny"), {"name": "ae_tiny"}, dtype="float32")
    out_dir = str(tmp_path / "ae_export" / "1")
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    r = subprocess.run([sys.executable, "-m", "arae_tf.export", f"--model={path}", f"--out={out_dir}", "--max_len=10"],
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert r.returncode == 0 and "signatures encode, reconstruct, sample, interpolate, sample_gaussian_fit" in \
        r.stdout, r.stderr[-2000:]
    texts = [t for t, _ in examples[:3]]
    got = _run_fresh(out_dir, texts, [0, 0, 0])
    assert got["non_core_ops"] == [] and "transfer" not in got["signatures"]
    assert got["reconstruct"] == model.reconstruct(texts, max_len=10)
    assert got["sample"] == model.sample(4, seed=7, max_len=10)
    assert got["sample_gaussian_fit"] == model.sample(4, seed=7, max_len=10, prior="gaussian_fit")


def test_a_preset_carries_the_gaussian_fit_of_its_codes(tmp_path, vocab, examples):
    """`sample(prior="gaussian_fit")` draws from `code_fit` (the same codes as evaluation's sampler),
    which a preset stores as code_fit.npz under its manifest; without one, the error says how to get one."""
    from arae_tf.evaluation import samples as samples_lib
    from arae_tf.models.base import NO_CODE_FIT
    model = tiny_ae(len(vocab))
    model.vocabulary = vocab
    with pytest.raises(ValueError, match="no Gaussian fit of its codes.*add_code_fit"):
        model.sample(3, prior="gaussian_fit")
    with pytest.raises(ValueError, match="prior must be one of"):
        model.sample(3, prior="fit")
    with pytest.raises(ValueError, match="prior must be one of.*'fit'"):
        model.generate_ids(3, prior="fit")  # the id-level call checks the name too (it drew from N(0, I))
    assert "make_preset --code_fit" in NO_CODE_FIT
    codes = model.encode([t for t, _ in examples[:200]])
    assert model.fit_gaussian_to_codes(codes) == 200
    np.testing.assert_array_equal(model.gaussian_fit_codes(10, seed=3).numpy(),
                                  samples_lib.gaussian_code_sampler(codes)(10, 3).numpy())
    fitted = model.sample(6, seed=2, prior="gaussian_fit")
    assert fitted != model.sample(6, seed=2)  # the AE's own prior is not fitted yet: N(0, I)
    path = zoo.save_preset(model, vocab, str(tmp_path / "fit"), {"name": "fit"}, dtype="float32")
    assert zoo.CODE_FIT in zoo.verify(path)
    loaded = zoo.load(path)
    assert loaded.sample(6, seed=2, prior="gaussian_fit") == fitted
    # A preset without the file samples only from its prior; a file the manifest does not list is refused.
    plain = zoo.save_preset(tiny_ae(len(vocab)), vocab, str(tmp_path / "plain"), {"name": "plain"}, dtype="float32")
    assert zoo.load(plain).code_fit is None and not os.path.exists(os.path.join(plain, zoo.CODE_FIT))
    manifest = os.path.join(path, zoo.MANIFEST)
    lines = [l for l in open(manifest) if not l.rstrip().endswith(zoo.CODE_FIT)]
    open(manifest, "w").writelines(lines)
    with pytest.raises(zoo.PresetError, match="does not list code_fit.npz"):
        zoo.load(path)
    for mean, tril, what in ((np.zeros(8), np.triu(np.ones((8, 8))), "Cholesky"), (np.zeros(7), np.eye(8), "shape"),
                             (np.full(8, np.nan), np.eye(8), "finite")):
        with pytest.raises(ValueError, match=what):
            model.set_code_fit(mean, tril)


def test_add_code_fit_rewrites_a_preset_whole(tmp_path, vocab):
    """`add_code_fit` (the binary's work): the fit of every training sentence's code, recorded in the
    metadata and the card once however often it runs; the weights untouched."""
    from arae_tf import config_base, preset_lib
    data = tmp_path / "corpus"
    data.mkdir()
    train = [t for t, _ in synthetic.generate(300, num_classes=1, seed=0)]
    (data / "train.txt").write_text("".join(t + "\n" for t in train))
    config = config_base.base_config()
    config_base.use_files(config, str(data), ["train.txt"], ["train.txt"], num_classes=1)
    model = tiny_ae(len(vocab))
    card = "# p\n\nA preset.\n\n## Use\n\n```python\nfrom arae_tf import zoo\nm = zoo.load('p')\n```\n\n## Training\n"
    path = zoo.save_preset(model, vocab, str(tmp_path / "p"), {"name": "p", "training": {"config": config.to_dict()}},
                           dtype="float32", card=card)
    weights = zoo.file_sha256(os.path.join(path, "weights.npz"))
    for _ in range(2):
        _, record = preset_lib.add_code_fit(path)
    assert record["codes"] == len(train) and record["latent_dim"] == 8 and record["command"].endswith(f"--model={path}")
    loaded = zoo.load(path)
    model.vocabulary = vocab
    model.fit_gaussian_to_codes(model.encode(train))
    np.testing.assert_allclose(loaded.code_fit[1], model.code_fit[1], atol=1e-5)
    assert loaded.preset["code_fit"]["codes"] == len(train)
    card = open(os.path.join(path, "MODEL_CARD.md")).read()
    assert card.count(preset_lib.CODE_FIT_HEADING) == 1
    use = card.split("## Use")[1].split("```")[1]  # the Use block's code gains the fit's line, once
    assert use.count(preset_lib.CODE_FIT_USAGE) == 1 and use.rstrip().endswith(preset_lib.CODE_FIT_USAGE)
    assert zoo.file_sha256(os.path.join(path, "weights.npz")) == weights
    assert sorted(os.listdir(tmp_path)) == ["corpus", "p"]  # no .partial / .old left behind


def test_shipped_arae_yelp_loads_in_a_fresh_process():
    """The README's main path: `from arae_tf import zoo; zoo.load('arae_yelp')` in a new interpreter."""
    code = ("import time; t = time.time(); from arae_tf import zoo; m = zoo.load('arae_yelp'); "
            "out = m.transfer(['the staff was rude .'], to=1) + m.sample(2, seed=0, decoder=0) + "
            "m.interpolate('the food was bad .', 'great service !', steps=3, decoder=1); "
            "print('OK', len(out), all(isinstance(s, str) and s for s in out), round(time.time() - t, 1))")
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd="/", timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "OK 6 True" in r.stdout, r.stdout


def test_shipped_preset_in_bfloat16_decodes_like_float32():
    """`zoo.load(name, dtype="mixed_bfloat16")`: bfloat16 compute with the same float32 weights; greedy
    reconstructions of Yelp test sentences agree with float32 on >= 95% of tokens (91% of whole rows
    on all 1,000 when measured; a near-tie flips a word and the rest of the row follows it)."""
    import keras
    f32 = zoo.load("arae_yelp", compile=False)
    bf16 = zoo.load("arae_yelp", compile=False, dtype="mixed_bfloat16")
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    assert bf16.backbone.compute_dtype == "bfloat16" and f32.backbone.compute_dtype == "float32"
    assert [v.dtype for v in bf16.weights] == [v.dtype for v in f32.weights]  # float32 (seed states int)
    for a, b in zip(f32.weights, bf16.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    yelp = os.path.join(REPO, "..", "shared", "data", "yelp")
    texts = [line.strip() for f in ("test.0.txt", "test.1.txt") for line in open(os.path.join(yelp, f))][::5]
    z = f32.encode(texts)
    a, b = np.asarray(f32.decode_ids(z, max_len=25)), np.asarray(bf16.decode_ids(z, max_len=25))
    assert (a == b).mean() >= 0.95 and (a == b).all(axis=1).mean() >= 0.8, ((a == b).mean(), (a == b).all(axis=1).mean())
    with pytest.raises(ValueError, match="float16"):
        zoo.load("arae_yelp", dtype="float16")


def test_evaluate_a_preset_with_its_recorded_data(tmp_path, trained):
    """`evaluate --model`: the preset's training config names its data; a moved corpus is found with data_dir."""
    from arae_tf import config_base, evaluation
    from arae_tf.metrics.lm import LMSettings

    model, vocab, _ = trained
    data = tmp_path / "corpus"
    data.mkdir()
    for split, seed in (("train", 0), ("valid", 1), ("test", 2)):
        ex = synthetic.generate(200, num_classes=2, seed=seed)
        for c in (0, 1):
            (data / f"{split}.{c}.txt").write_text("".join(t + "\n" for t, y in ex if y == c))
    config = config_base.base_config()
    config_base.use_files(config, str(tmp_path / "elsewhere"), ["train.0.txt", "train.1.txt"],
                          ["valid.0.txt", "valid.1.txt"], num_classes=2, test=["test.0.txt", "test.1.txt"])
    path = zoo.save_preset(model, vocab, str(tmp_path / "p"), {"name": "p", "training": {"config": config.to_dict()}},
                           dtype="float32")
    loaded = zoo.load(path)
    with pytest.raises(FileNotFoundError, match=r"elsewhere/train.0.txt \(config data.train_files\).*--data_dir"):
        evaluation.preset_config(loaded)
    cfg = evaluation.preset_config(loaded, data_dir=str(data))
    assert cfg.data.test_files == (str(data / "test.0.txt"), str(data / "test.1.txt"))
    # settings.test_files (here the same files in the other order) apply to a copy: the caller's config stays as it is.
    settings = evaluation.EvalSettings(num_samples=40, reverse_samples=-1, diagnostic_sentences=20, decode_max_len=10,
                                       lm=LMSettings(embed_dim=8, hidden_dim=8, steps=3),
                                       test_files=(str(data / "test.1.txt"), str(data / "test.0.txt")))
    before = cfg.to_dict()
    m = evaluation.evaluate_model(loaded, loaded.vocabulary, cfg, str(tmp_path / "eval"), settings, source="zoo:p")
    assert cfg.to_dict() == before
    assert m["workdir"] == "zoo:p" and m["test_split"] == "test"
    assert m["samples"]["n"] == 40 and 0 <= m["transfer"]["accuracy"] <= 1
    assert os.path.getsize(tmp_path / "eval" / "report.md") > 0
    with pytest.raises(ValueError, match="no training.config"):
        evaluation.preset_config(zoo.load(preset_dir := zoo.save_preset(model, vocab, str(tmp_path / "q"), {"name": "q"},
                                                                        dtype="float32"), compile=False))
    assert preset_dir


@pytest.mark.parametrize("name,calls", [
    ("wae_snli", "m.reconstruct(['a man is playing a guitar .']) + m.sample(2, seed=0) + "
                 "m.interpolate('a man is sleeping .', 'two dogs run on the beach .', steps=3) + "
                 "m.sample(2, seed=0, prior='gaussian_fit')"),
    ("wed_dailydialog", "m.respond(['how much is this shirt ?']) + m.respond(['hello !'], sample=True, seed=1) + "
                        "m.sample(2, seed=0) + m.reconstruct(['see you tomorrow .'])"),
    ("arae_snli", "m.reconstruct(['a man is playing a guitar .']) + m.sample(2, seed=0) + "
                  "m.interpolate('a man is sleeping .', 'two dogs run on the beach .', steps=3)"),
])
def test_shipped_wae_presets_load_in_a_fresh_process(name, calls):
    """The WAE-family presets (issue 5) and arae_snli load offline by name, verify, and generate non-empty text."""
    code = (f"from arae_tf import zoo; m = zoo.load({name!r}); out = {calls}; "
            "print('OK', len(out), all(isinstance(s, str) for s in out), sum(bool(s) for s in out))")
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd="/", timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    n = {"wed_dailydialog": 5, "wae_snli": 8}.get(name, 6)
    assert f"OK {n} True" in r.stdout and int(r.stdout.split()[-1]) >= n - 1, r.stdout


def test_model_card_commands_run_from_a_checkout():
    """Commands recorded on the machine that trained a model are shown with paths that work from a
    checkout: repository paths relative, ../shared/... for the data, workdirs/<name> for the rest."""
    from arae_tf.preset_lib import command_line
    argv = ["/work/snap4/arae_tf/train.py", "--config=/repo/configs/wae_snli.py:wae_s,0.01",
            "--workdir=/work/runs/wae_snli_fast", "--config.data.train_files=/shared/data/snli/train.txt",
            "--config.train.steps=0", "--name=x"]
    assert command_line(argv, repo="/repo") == (
        "python -m arae_tf.train --config=configs/wae_snli.py:wae_s,0.01 --workdir=workdirs/wae_snli_fast "
        "--config.data.train_files=../shared/data/snli/train.txt --config.train.steps=0 --name=x")
    # Other folders beside the workdirs keep their place relative to them (not collapsed to a last name).
    argv = ["/x/arae_tf/evaluate.py", "--workdir=/work/runs/arae_snli", "--cache_dir=/work/runs/eval_cache/arae_snli",
            "--out=/elsewhere/report"]
    assert command_line(argv, repo="/repo") == (
        "python -m arae_tf.evaluate --workdir=workdirs/arae_snli --cache_dir=workdirs/eval_cache/arae_snli "
        "--out=workdirs/report")
    assert command_line(["/x/arae_tf/semisupervised.py", "--workdir=AE=/runs/ae", "--out=/runs/t.md"], repo="/repo") == (
        "python -m arae_tf.semisupervised --workdir=AE=workdirs/ae --out=workdirs/t.md")
    # An --out file below a subfolder keeps it (it is not a workdir of its own).
    assert command_line(["/x/arae_tf/checkpoint_sweep.py", "--workdir=/runs/w", "--out=/runs/s34/sweep.md"],
                        repo="/repo") == "python -m arae_tf.checkpoint_sweep --workdir=workdirs/w --out=workdirs/s34/sweep.md"
    # The tables command's rows (NAME=PATH), a checkpoint's or prior's report folder included.
    from arae_tf.evaluation.paper_tables import _portable_args
    assert _portable_args(["--table=arae_snli", "--row=ARAE samples=/runs/arae", "--row=AE samples=/runs/ae/eval-gaussian_fit",
                           "--out=/runs/t.md"]) == [
        "--table=arae_snli", "--row=ARAE samples=workdirs/arae", "--row=AE samples=workdirs/ae/eval-gaussian_fit",
        "--out=workdirs/t.md"]
