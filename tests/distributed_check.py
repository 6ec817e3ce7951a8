"""Run as a script by tests/test_distribute.py: one training step of each model on one device and
under MirroredStrategy over two logical CPUs, same global batch and initial weights; prints the
largest weight difference per model as JSON.

Random draws (code noise, prior samples, generator noise, GP interpolation, word dropout) are
replaced by constants so that both runs see the same numbers; every loss term is still computed and
differentiated, so any term scaled for the local instead of the global batch shows up."""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

keras.random.normal = lambda shape, mean=0.0, stddev=1.0, dtype=None, seed=None: keras.ops.zeros(shape) + mean
keras.random.uniform = lambda shape, minval=0.0, maxval=1.0, dtype=None, seed=None: keras.ops.zeros(shape) + 0.5 * (minval + maxval)

from arae_tf.data import pipeline, synthetic  # noqa: E402
from arae_tf.data.vocab import Vocabulary  # noqa: E402
from arae_tf.models import build_model  # noqa: E402
from arae_tf.configs import arae_builtin, arae_transfer_builtin, wae_builtin  # noqa: E402


def configs():
    out = {"arae_transfer": arae_transfer_builtin.get_config(), "arae": arae_builtin.get_config()}
    for name in ("wae_d,3", "wae_s,0.1", "vae", "dae"):
        out[name] = wae_builtin.get_config(name)
    for c in out.values():
        c.backbone.embed_dim, c.backbone.hidden_dim, c.backbone.latent_dim = 8, 16, 8
        if "arae" in c:
            c.arae.generator_hidden = c.arae.critic_hidden = (16, 16)
            c.arae.noise_dim = 4
        c.optim.ae_optimizer = "sgd"  # plain gradient steps: differences are not rescaled by Adam
        c.optim.ae_lr = 0.5  # the ARAE models are recompiled with SGD in `one_step`
    return out


def one_step(config, vocab, batch, strategy, init):
    with strategy.scope():
        model = build_model(config, len(vocab))
        if "arae" in config.model:
            # Plain SGD for every player: Adam turns the numerically-zero gradients of biases in front
            # of BatchNorm into full-size steps of random sign, which would hide real differences.
            sgd = lambda: keras.optimizers.SGD(0.1)  # noqa: E731
            extra = {"classifier_optimizer": sgd()} if config.model == "arae_transfer" else {}
            model.compile(ae_optimizer=keras.optimizers.SGD(0.5, global_clipnorm=1.0), critic_optimizer=sgd(),
                          generator_optimizer=sgd(), encoder_optimizer=sgd(), **extra)
        if init is not None:
            model.set_weights(init)
    start = [np.copy(w) for w in model.get_weights()]
    ds = tf.data.Dataset.from_tensors(batch)
    model.fit(ds, steps_per_epoch=1, epochs=1, verbose=0)
    return start, model.get_weights()


def main():
    examples = synthetic.generate(64, num_classes=2, seed=0)
    vocab = Vocabulary.build(t for t, _ in examples)
    batch = next(iter(pipeline.make_dataset(examples, vocab, 16, 12, shuffle=False, bucket=False)))
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert mirrored.num_replicas_in_sync == 2
    result = {}
    for name, config in configs().items():
        keras.utils.set_random_seed(0)
        init, single = one_step(config, vocab, batch, tf.distribute.get_strategy(), None)
        _, multi = one_step(config, vocab, batch, mirrored, init)
        pairs = [(a, b, c) for a, b, c in zip(single, multi, init) if a.dtype.kind == "f"]
        moved = max(float(np.max(np.abs(a - c))) for a, _, c in pairs)
        diff = max(float(np.max(np.abs(a - b))) for a, b, _ in pairs)
        result[name] = {"max_weight_change": moved, "max_difference": diff}
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
