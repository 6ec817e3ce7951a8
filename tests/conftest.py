"""Shared fixtures: tiny shapes (vocab from the synthetic corpus, latent 8)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

from arae_tf.data import pipeline, synthetic  # noqa: E402
from arae_tf.data.vocab import Vocabulary  # noqa: E402
from arae_tf.models import ARAE, AE, SentenceAutoencoderBackbone  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))


@pytest.fixture(scope="session")
def examples():
    return synthetic.generate(256, num_classes=2, seed=0)


@pytest.fixture(scope="session")
def vocab(examples):
    return Vocabulary.build(t for t, _ in examples)


@pytest.fixture
def batch(examples, vocab):
    return pipeline.padded_batch([t for t, _ in examples[:6]], vocab)


def tiny_backbone(vocab_size, **kw):
    args = dict(embed_dim=8, hidden_dim=8, latent_dim=8)
    args.update(kw)
    return SentenceAutoencoderBackbone(vocab_size, **args)


def tiny_arae(vocab_size, compile=True, **kw):
    keras.utils.set_random_seed(1)
    args = dict(noise_dim=4, generator_hidden=(8,), critic_hidden=(8, 8), code_noise=0.1)
    args.update(kw)
    model = ARAE(tiny_backbone(vocab_size), **args)
    if compile:
        model.compile()
    return model


def tiny_ae(vocab_size, compile=True):
    keras.utils.set_random_seed(1)
    model = AE(tiny_backbone(vocab_size), code_noise=0.1)
    if compile:
        model.compile(optimizer="adam")
    return model


def _train(config, workdir, steps):
    """Trains `config` in `workdir` for `steps` iterations, one evaluation at the end: its metrics."""
    from arae_tf import train_lib
    config.train.steps = config.train.eval_every = steps
    return train_lib.train_and_evaluate(config, str(workdir))


def train_workdir(tmp_path_factory, config, name, steps=1000):
    """Trains `config` for `steps` iterations (one evaluation at the end): (workdir, config, metrics)."""
    workdir = str(tmp_path_factory.mktemp(name))
    return workdir, config, _train(config, workdir, steps)


def shared_train_workdir(request, tmp_path_factory, config, name, steps=1000):
    """`train_workdir`, trained once per test session even with several xdist workers: the first worker
    to need it trains it under a file lock in the session's common temporary folder, the others wait for
    it and read it. Its users only read the workdir, or write reports under it (tests/test_evaluation.py)."""
    import fcntl
    import json
    base = tmp_path_factory.getbasetemp()
    root = base.parent if hasattr(request.config, "workerinput") else base  # xdist: popen-gw<N>/..
    workdir, done = root / name, root / f"{name}.metrics.json"
    config.train.steps = config.train.eval_every = steps  # also in the config returned by a waiting worker
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            metrics = json.loads(done.read_text())
        else:
            metrics = _train(config, workdir, steps)
            done.write_text(json.dumps(metrics, default=float))
    return str(workdir), config, metrics


@pytest.fixture(scope="session")
def builtin_run(request, tmp_path_factory):
    """A workdir with ARAE trained 1,000 iterations on the built-in corpus: (workdir, config, metrics)."""
    from arae_tf.configs import arae_builtin
    return shared_train_workdir(request, tmp_path_factory, arae_builtin.get_config(), "builtin_run")
