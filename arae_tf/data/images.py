"""Binarized images for the image autoencoders (ARAE §5): loading, checking and the training stream.

`load_binarized(path, split)` reads one split of an `.npz` file holding uint8 arrays `train`,
`valid` and `test` of shape [N, n] with values 0 and 1 (`../shared/data/binarized_mnist`), or of
text `.amat`/`.amat.gz` files, one per split, named by a path holding `{split}`
(`.../binarized_mnist_{split}.amat.gz`; one image per line, n values 0/1 separated by spaces). Anything else
is refused with a `ValueError` naming the file, the split (or line) and what is wrong.

`image_dataset` is the training stream: batches {"pixels": float32 [B, n]} drawn pass after pass,
each pass a permutation seeded by (seed, pass); `start_step` resumes it exactly where an
uninterrupted run would be.
"""

import gzip
import os

import numpy as np
import tensorflow as tf

SPLITS = ("train", "valid", "test")


def load_binarized(path, split, input_dim=784):
    """uint8 [N, input_dim] images of `split` from `path` (.npz with one array per split, or .amat[.gz])."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if path.endswith((".amat", ".amat.gz")):
        if "{split}" not in path:
            raise ValueError(f"{path}: an .amat file holds one split; name the files with {{split}} "
                             "(e.g. binarized_mnist_{split}.amat.gz) in config field data.image_file")
        path = path.replace("{split}", split)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such image file (config field data.image_file)")
    if path.endswith(".npz"):
        with np.load(path) as npz:
            if split not in npz.files:
                raise ValueError(f"{path} has no array {split!r}; it has {sorted(npz.files)}")
            x = npz[split]
        where = f"{path}[{split!r}]"
    elif path.endswith((".amat", ".amat.gz")):
        x = _read_amat(path, input_dim)
        where = path
    else:
        raise ValueError(f"{path}: image files must be .npz (arrays train/valid/test) or .amat[.gz]")
    return check_images(x, input_dim, where)


def _read_amat(path, input_dim):
    rows = []
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        for i, line in enumerate(f, 1):
            values = line.split()
            if len(values) != input_dim:
                raise ValueError(f"{path}, line {i}: {len(values)} values, expected {input_dim}")
            try:
                rows.append(np.array(values, np.float32))
            except ValueError:
                raise ValueError(f"{path}, line {i}: values must be numbers 0 or 1") from None
    return np.stack(rows) if rows else np.zeros((0, input_dim), np.float32)


def check_images(x, input_dim, where):
    """`x` as uint8 [N, input_dim] of 0/1 values; `ValueError` naming `where` otherwise."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != input_dim:
        raise ValueError(f"{where}: expected an array [N, {input_dim}] of binarized images, got shape {list(x.shape)}")
    if len(x) == 0:
        raise ValueError(f"{where}: no images")
    if not np.isin(x, (0, 1)).all():
        bad = np.argwhere(~np.isin(x, (0, 1)))[0]
        raise ValueError(f"{where}: image {bad[0]}, pixel {bad[1]} is {x[bad[0], bad[1]].item()!r}; binarized images "
                         "hold 0 and 1 only")
    return x.astype(np.uint8)


def image_dataset(images, batch_size, seed=0, start_step=0, repeat=True, shuffle=True):
    """Batches {"pixels": float32 [B, n]} of `images` (uint8 [N, n]).

    With `shuffle`, pass p visits the images in the order `stateless_shuffle(range(N), [seed, p])`
    and passes follow each other without a gap (a batch may straddle two passes); `start_step`
    skips that many batches without computing them. Without `repeat`, one pass in order with a
    smaller last batch (validation, test)."""
    x = tf.constant(images)
    n = int(images.shape[0])
    if not repeat:
        ds = tf.data.Dataset.range(n).batch(batch_size)
    else:
        first = start_step * batch_size
        start_pass, offset = divmod(first, n)

        def one_pass(p):
            order = tf.range(n, dtype=tf.int64)
            if shuffle:
                order = tf.random.experimental.stateless_shuffle(order, seed=tf.stack([tf.cast(seed, tf.int64), p]))
            return tf.data.Dataset.from_tensor_slices(order)

        ds = tf.data.Dataset.range(start_pass, 2 ** 62).flat_map(one_pass).skip(offset).batch(batch_size,
                                                                                              drop_remainder=True)
    ds = ds.map(lambda idx: {"pixels": tf.cast(tf.gather(x, idx), tf.float32)})
    return ds.prefetch(2)
