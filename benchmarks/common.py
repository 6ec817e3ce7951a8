"""Shared set-up of the benchmarks: the original implementation's figures (../shared/PEER.md), its
Yelp configuration, and timing helpers."""

import contextlib
import os
import platform
import statistics
import subprocess
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
YELP = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "yelp"))

# ../shared/PEER.md: the authors' PyTorch ARAE (yelp/, emsize 128, nhidden 128, batch 64, maxlen 25)
# on this machine kind, 2 threads.
PEER_TRAIN_SENTENCES_PER_S = 283     # Algorithm 2, 128 new sentences per iteration (0.452 s)
PEER_GENERATION_SENTENCES_PER_S = 2410  # greedy, batch 100, always 25 steps
PEER_VOCAB = 9085


def peer_config(model="arae_transfer", batch_size=128):
    """Our config with the original's Yelp sizes: emsize 128, nhidden 128 (the code is the encoder
    state: latent 128), vocabulary 9,085, maxlen 25, two classes, GAN 32 -> 128 -> 128, 5 critic
    steps with WGAN-GP. `batch_size` 128 = the original's 2 x 64 new sentences per iteration."""
    from arae_tf.config_base import base_config, use_files
    c = base_config(model)
    use_files(c, YELP, ["train.0.txt", "train.1.txt"], ["valid.0.txt", "valid.1.txt"], num_classes=2)
    c.data.max_len = 25
    c.data.vocab_size = PEER_VOCAB
    c.data.batch_size = batch_size
    c.backbone.embed_dim = c.backbone.hidden_dim = c.backbone.latent_dim = 128
    c.optim.ae_optimizer = "sgd"
    c.optim.ae_lr = 1.0
    return c


@contextlib.contextmanager
def peer_model(model_name, precision, batch_size, train_ex, vocab, xla=False):
    """Yields (model, repeating bucketed Yelp dataset) for `peer_config(model_name)` built under the
    dtype policy `precision` (restored on exit), seeded, with `jit_compile=xla`."""
    import keras

    from arae_tf import train_lib
    from arae_tf.data import pipeline
    from arae_tf.models import build_model

    c = peer_config(model_name, batch_size)
    c.train.jit_compile = xla
    c.train.mixed_precision = precision
    keras.utils.set_random_seed(0)
    with train_lib.precision_policy(c):
        model = build_model(c, len(vocab))
        yield model, pipeline.make_dataset(train_ex, vocab, batch_size, c.data.max_len, shuffle=True, seed=0,
                                           repeat=True, drop_remainder=True)


def training_throughput(model_name, precision, xla, steps, batch_size, train_ex, vocab, warmup=10):
    """Steady-state new sentences/s of `model.fit` on `peer_model(...)`: one fit of `warmup + steps`
    iterations, timed from the start of iteration `warmup` to the end of the last one. The warm-up
    takes the tracing (one trace per new bucket shape until the trace generalises), XLA compilation
    and the first fill of the dataset's shuffle buffer, which a long training run pays once."""
    import keras

    class Clock(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == warmup:
                self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.end = time.perf_counter()

    clock = Clock()
    with peer_model(model_name, precision, batch_size, train_ex, vocab, xla=xla) as (model, ds):
        model.fit(ds, steps_per_epoch=warmup + steps, epochs=1, verbose=0, callbacks=[clock])
    return steps * batch_size / (clock.end - clock.start)


def generation(model, batch, repeats, max_len=25, z=None):
    """(sentences/s, steps run) of greedy `decode_ids` of `batch` prior codes (or the codes `z`),
    median of `repeats` calls."""
    import numpy as np
    z = model.sample_codes(batch, seed=0) if z is None else z
    fn = lambda: np.asarray(model.decode_ids(z, max_len=max_len))  # noqa: E731
    sec = timed(fn, repeats)
    steps = int((fn() != 0).sum(axis=1).max())  # decoding stops once every row has emitted <eos>
    return batch / sec, steps


def machine():
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import tensorflow as tf
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return (f"{cpu or platform.processor()}, {os.cpu_count()} CPUs, TF {tf.__version__}"
            + (f", GPUs {gpus}" if gpus else ""))


def timed(fn, repeats, warmup=1):
    """Median seconds of `fn()` over `repeats` calls after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def git_revision():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return ""
