"""Binarized images end to end (ARAE §5, SPEC 2.5): the training data and validation of
`python -m arae_tf.train` on `data.source = "images"`, the test evaluation of
`python -m arae_tf.evaluate`, and image grids as PNG.

The model is the text models' class (`ARAE`, `AE`) over an `ImageAutoencoderBackbone`; what differs
is the data (`arae_tf.data.images`) and what is measured: the negative log-likelihood per pixel
of reconstructions, -log p(x | enc(x)) / n in nats (the decoder's Bernoulli, the code taken
without noise), pixel accuracy, the code statistics of ARAE Fig. 3, and grids of
reconstructions, prior samples and interpolations.
"""

import json
import os
import time

import numpy as np

from arae_tf.data import images as images_lib
from arae_tf.evaluation import latent as latent_lib

GRID_COLUMNS = 10


# -- data -----------------------------------------------------------------------
def load_split(config, split):
    """uint8 [N, n] images of `split` ("train", "valid", "test") of `config.data.image_file`."""
    return images_lib.load_binarized(config.data.image_file, split, config.image.input_dim)


def datasets(config, start_step, train=None, valid=None):
    """(train images, the training stream from `start_step`, validation stream, code-fit stream).
    `train` / `valid`: the splits if already loaded (`load_split`), else read here."""
    train = load_split(config, "train") if train is None else train
    valid = load_split(config, "valid") if valid is None else valid
    b = config.data.batch_size
    stream = images_lib.image_dataset(train, b, seed=config.seed, start_step=start_step)
    code_fit = images_lib.image_dataset(train, b, seed=config.seed).take(config.eval.code_fit_batches)
    valid_ds = images_lib.image_dataset(valid, b, repeat=False)
    return train, stream, valid_ds, code_fit


# -- validation during training ---------------------------------------------------
def evaluate(model, config, valid_ds, code_fit_ds=None):
    """Validation metrics (rec_loss is the NLL per pixel; token_acc the pixel accuracy) and prior
    samples as pixel probabilities. Returns (metrics, {"samples": [16, h, w]})."""
    from arae_tf.evaluation import reconstruction
    e = config.eval
    metrics = {"val_" + k: v for k, v in reconstruction.loss_metrics(
        model, valid_ds.take(e.max_batches) if e.max_batches else valid_ds).items()}
    if code_fit_ds is not None and model.fits_codes:
        model.fit_code_distribution(code_fit_ds)
    codes = np.concatenate([model.encode_inputs(b["pixels"]).numpy() for b in valid_ds.take(10)])
    metrics.update(latent_lib.validation_code_metrics(model, codes, config.seed))
    return metrics, {"samples": model.sample_images(16, seed=config.seed)}


# -- test evaluation ----------------------------------------------------------------
def nll_per_pixel(model, images, batch=1000):
    """Mean -log p(x | enc(x)) per pixel (nats) over `images` [N, n]."""
    total = sum(float(model.image_nll(images[i:i + batch]).sum()) for i in range(0, len(images), batch))
    return total / (len(images) * images.shape[1])


def pixel_accuracy(model, images, batch=1000):
    """Share of pixels whose most likely reconstructed value is the input's."""
    hits = sum(float(((model.reconstruct_images(images[i:i + batch], flat=True) >= 0.5) == (images[i:i + batch] >= 0.5))
                     .sum()) for i in range(0, len(images), batch))
    return hits / images.size


# -- a digit classifier for sample quality ------------------------------------------
def labelled_digits_file(config):
    """`mnist_5k/mnist_5k.csv.gz` beside the model's image data folder (../shared/data), or None."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(config.data.image_file))), "mnist_5k",
                        "mnist_5k.csv.gz")
    return path if os.path.exists(path) else None


def digit_classifier(csv_path, seed=0, epochs=30, cache_dir=""):
    """An MLP (784-256-10) trained on the labelled digits of `csv_path` (784 grey values 0-255 then the
    label per line), binarized at 128 as the data: returns (predict(images [N, 784]) -> probabilities
    [N, 10], its accuracy on the last 1,000 digits, held out).

    With `cache_dir`, the trained weights are kept there (`digit_classifier.weights.h5` and its
    `.json`) and reused while the file's sha256, `seed` and `epochs` are the same."""
    import keras

    from arae_tf.zoo import file_sha256
    key = {"sha256": file_sha256(csv_path), "seed": seed, "epochs": epochs}
    stem = os.path.join(cache_dir, "digit_classifier") if cache_dir else ""
    weights, meta = stem + ".weights.h5", stem + ".json"
    keras.utils.set_random_seed(seed)
    net = keras.Sequential([keras.Input((784,)), keras.layers.Dense(256, activation="relu"),
                            keras.layers.Dropout(0.3, seed=seed), keras.layers.Dense(10)])
    predict = lambda images: keras.ops.convert_to_numpy(keras.ops.softmax(net(np.asarray(images, np.float32))))
    if stem and os.path.exists(meta) and os.path.exists(weights):
        try:
            with open(meta) as f:
                cached = json.load(f)
        except ValueError:
            cached = {}  # unreadable: retrain and rewrite
        if cached.get("key") == key:
            net.load_weights(weights)
            return predict, cached["held_out_accuracy"]
    data = np.loadtxt(csv_path, delimiter=",", dtype=np.int64)
    x, y = (data[:, :784] >= 128).astype(np.float32), data[:, 784]
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    net.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
    net.fit(x[:-1000], y[:-1000], batch_size=100, epochs=epochs, verbose=0, shuffle=False)
    accuracy = float(net.evaluate(x[-1000:], y[-1000:], verbose=0, return_dict=True)["accuracy"])
    if stem:
        from arae_tf.workdir import atomic_json
        os.makedirs(cache_dir, exist_ok=True)
        if os.path.exists(meta):
            os.remove(meta)  # the old key must not outlive its weights
        net.save_weights(stem + ".tmp.weights.h5")
        os.replace(stem + ".tmp.weights.h5", weights)
        atomic_json(meta, {"key": key, "held_out_accuracy": accuracy})  # last: weights without it are never read
    return predict, accuracy


def digit_scores(probabilities, confident=0.9):
    """Sample quality under the digit classifier: the mean top probability, the share of images it
    assigns with probability >= `confident`, and the entropy (nats) of the predicted classes' shares
    (log 10 = 2.303 when every digit is equally represented; low when samples collapse onto a few)."""
    p = np.asarray(probabilities)
    shares = np.bincount(p.argmax(1), minlength=p.shape[1]) / len(p)
    nz = shares[shares > 0]
    return {"mean_top_probability": float(p.max(1).mean()), "confident_share": float((p.max(1) >= confident).mean()),
            "class_entropy": float(-(nz * np.log(nz)).sum())}


def evaluate_images(model, config, out, seed=0, num_grid=100, split="test", log=print, num_samples=10000,
                    cache_dir=""):
    """Writes `out/metrics.json`, `out/report.md` and PNG grids (reconstructions, prior samples,
    interpolations) for an image model on `split`. Returns the metrics.

    Where labelled digits sit beside the data (`labelled_digits_file`), `num_samples` prior samples
    (binarized at 0.5) and the real `split` images are scored by `digit_classifier` (`digit_scores`),
    trained once per `cache_dir` (default `out/cache`)."""
    os.makedirs(out, exist_ok=True)
    t = time.time()
    if model.fits_codes:  # the AE: a Gaussian fitted to training codes, the stream's first batches (as in training)
        model.fit_code_distribution(datasets(config, 0)[3])
    x = load_split(config, split)
    z = model.encode_images(x[:5000])
    z_prior = model.sample_codes(5000, seed=seed).numpy()
    m = {"split": split, "images": int(len(x)),
         "nll_per_pixel": nll_per_pixel(model, x), "pixel_accuracy": pixel_accuracy(model, x),
         **latent_lib.code_statistics(z, z_prior)}
    m["nll_per_image"] = m["nll_per_pixel"] * x.shape[1]
    digits = labelled_digits_file(config)
    if digits and x.shape[1] == 784:
        predict, accuracy = digit_classifier(digits, seed=seed, cache_dir=cache_dir or os.path.join(out, "cache"))
        samples = np.concatenate([model.sample_images(1000, seed=seed + i, flat=True)
                                  for i in range(0, num_samples, 1000)]) >= 0.5
        from arae_tf.preset_lib import portable_path
        m["digit_classifier"] = {"file": portable_path(os.path.abspath(digits)), "held_out_accuracy": accuracy,
                                 "samples": {"count": int(len(samples)), **digit_scores(predict(samples))},
                                 "real": {"count": int(len(x)), **digit_scores(predict(x))}}
    h, w = model.backbone.image_shape
    figures = {
        "reconstructions": save_grid(os.path.join(out, "reconstructions.png"),
                                     interleave(x[:num_grid // 2].reshape(-1, h, w),
                                                model.reconstruct_images(x[:num_grid // 2]))),
        "samples": save_grid(os.path.join(out, "samples.png"), model.sample_images(num_grid, seed=seed)),
        "interpolations": save_grid(os.path.join(out, "interpolations.png"), np.concatenate(
            [model.interpolate_images(x[i], x[j], steps=GRID_COLUMNS) for i, j in interpolation_pairs(len(x), seed)]))}
    m["seconds"] = time.time() - t
    from arae_tf.workdir import atomic_json
    atomic_json(os.path.join(out, "metrics.json"), m)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(report(m, figures))
    log(f"[evaluate] {split}: NLL {m['nll_per_pixel']:.4f} nats/pixel ({m['nll_per_image']:.1f} per image), "
        f"pixel accuracy {m['pixel_accuracy']:.4f}; |z| {m['z']['norm']:.3f}, |z~| {m['z_prior']['norm']:.3f} -> {out}")
    return m


def metrics_table(metric_dicts, names):
    """A Markdown table of `evaluate_images` metrics, one row per model (`names`); with the digit
    classifier's scores of prior samples where measured, and a last row for the real test images."""
    rows = ["| model | NLL per pixel (nats) | NLL per image | pixel accuracy | ‖z‖ | ‖z̃‖ | tr cov z | tr cov z̃ "
            "| samples: mean top p | confident (p ≥ 0.9) | class entropy |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    dash = "–"
    for name, m in zip(names, metric_dicts):
        d = m.get("digit_classifier", {}).get("samples")
        tail = (f"{d['mean_top_probability']:.3f} | {d['confident_share']:.3f} | {d['class_entropy']:.3f}" if d
                else f"{dash} | {dash} | {dash}")
        rows.append(f"| {name} | {m['nll_per_pixel']:.4f} | {m['nll_per_image']:.1f} | {m['pixel_accuracy']:.4f} | "
                    f"{m['z']['norm']:.3f} | {m['z_prior']['norm']:.3f} | {m['z']['cov_trace']:.3f} | "
                    f"{m['z_prior']['cov_trace']:.3f} | {tail} |")
    real = next((m["digit_classifier"] for m in metric_dicts if "digit_classifier" in m), None)
    if real:
        r = real["real"]
        rows.append(f"| real test images | {dash} | {dash} | {dash} | {dash} | {dash} | {dash} | {dash} | "
                    f"{r['mean_top_probability']:.3f} | {r['confident_share']:.3f} | {r['class_entropy']:.3f} |")
        rows += ["", f"Sample scores: {real['samples']['count']:,} prior samples (pixels binarized at 0.5) under an "
                 f"MLP digit classifier trained on `{real['file']}` (binarized at 128; held-out accuracy "
                 f"{real['held_out_accuracy']:.3f}). Class entropy: of the predicted digits' shares, log 10 = 2.303 "
                 "when every digit is equally represented."]
    return "\n".join(rows)


def report(m, figures):
    """The Markdown report of `evaluate_images`' metrics and figures (file names relative to it)."""
    return "\n".join([
        f"# Image autoencoder evaluation ({m['split']} split, {m['images']:,} images)", "",
        metrics_table([m], ["this model"]), "",
        "NLL: -log p(x | enc(x)) under the decoder's per-pixel Bernoulli, the code without noise.", "",
        "Reconstructions (pairs: input, then its reconstruction's pixel probabilities):", "",
        f"![reconstructions]({os.path.basename(figures['reconstructions'])})", "",
        "Prior samples (pixel probabilities):", "", f"![samples]({os.path.basename(figures['samples'])})", "",
        "Interpolations between test images (one row each, ends included):", "",
        f"![interpolations]({os.path.basename(figures['interpolations'])})", ""])


def interpolation_pairs(n, seed, count=8):
    """`count` (i, j) index pairs of distinct images among `n`, drawn with `seed` (the same every run)."""
    rng = np.random.default_rng(seed)
    return [tuple(int(v) for v in rng.choice(n, 2, replace=False)) for _ in range(count)]


# -- grids --------------------------------------------------------------------------
def interleave(a, b):
    """[a0, b0, a1, b1, ...] of two equal-length image stacks."""
    out = np.empty((2 * len(a),) + a.shape[1:], np.float32)
    out[0::2], out[1::2] = a, b
    return out


def grid(images, columns=GRID_COLUMNS, pad=1):
    """One array [H, W] tiling images [N, h, w] (values in [0, 1]) in rows of `columns`, with a `pad`
    pixel border of 0.5 between them."""
    images = np.asarray(images, np.float32)
    n, h, w = images.shape
    rows = max(1, -(-n // columns))
    out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad), 0.5, np.float32)
    for k in range(n):
        r, c = divmod(k, columns)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = images[k]
    return out


def save_grid(path, images, columns=GRID_COLUMNS, scale=2):
    """Writes `grid(images)` as a grey-scale PNG (ink dark on white), each pixel `scale`x`scale`; returns `path`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    g = 1.0 - grid(images, columns)
    plt.imsave(path, np.kron(g, np.ones((scale, scale), np.float32)), cmap="gray", vmin=0.0, vmax=1.0)
    return path
