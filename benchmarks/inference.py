r"""Inference figures: greedy generation throughput, `zoo.load` time, exported-SavedModel latency.

    python -m benchmarks.inference                    # ~2 minutes on 2 cores

* **generation**: sentences/s of batched greedy decoding from prior codes at max length 25, for the
  original's setting (batch 100, an untrained model of PEER.md's size, which never emits <eos> and
  so always runs 25 steps like the original) and for the shipped `arae_yelp` (stops when every row
  has emitted <eos>), at batch 100 and 1,000; ratio to PEER.md's 2,410 sentences/s. The shipped
  model's prior samples are short, so the figure that shows real lengths is the last: `arae_yelp`
  decoding the codes of the 1,000 Yelp test sentences (mean length about 10 words). Finished rows
  leave the decoding batch, so each step costs only the rows still decoding.
* **zoo.load**: wall time of `from arae_tf import zoo; zoo.load('arae_yelp')` in a fresh process
  (median of 3), with the bare `import tensorflow` time of the same machine beside it.
* **SavedModel**: `arae_yelp` exported, loaded with `tf.saved_model.load` (no arae_tf), `transfer`
  requests of batch 1 and 64: median milliseconds per request, against the Python model's
  `transfer` on the same sentences.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

from benchmarks import common

flags.DEFINE_integer("repeats", 5, "Timed repetitions per figure (median reported).")
FLAGS = flags.FLAGS


def fresh_process_seconds(code, repeats=3):
    times = []
    for _ in range(repeats):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=common.REPO,
                           env=dict(os.environ, PYTHONPATH=common.REPO, TF_CPP_MIN_LOG_LEVEL="3"))
        if r.returncode:
            raise RuntimeError(r.stderr[-2000:])
        times.append(float(r.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main(argv):
    del argv
    import keras
    import numpy as np
    import tensorflow as tf

    from arae_tf import zoo
    from arae_tf.models import build_model

    print(f"# inference, {time.strftime('%Y-%m-%d')}, {common.machine()}, git {common.git_revision()}")
    print("| work | setting | figure | × original (PEER.md) |")
    print("|---|---|---|---|")
    keras.utils.set_random_seed(0)
    untrained = build_model(common.peer_config("arae_transfer"), common.PEER_VOCAB)
    preset = zoo.load("arae_yelp", compile=False)
    for name, model, batch in (("untrained, PEER.md size", untrained, 100), ("arae_yelp", preset, 100),
                               ("arae_yelp", preset, 1000)):
        rate, steps = common.generation(model, batch, FLAGS.repeats)
        print(f"| greedy generation, max length 25 | {name}, batch {batch}, {steps} steps run | "
              f"{rate:.0f} sentences/s | {rate / common.PEER_GENERATION_SENTENCES_PER_S:.2f} |", flush=True)

    test = [l.strip() for f in ("test.0.txt", "test.1.txt") for l in open(os.path.join(common.YELP, f))]
    z = preset.encode(test)
    rate, steps = common.generation(preset, len(test), FLAGS.repeats, z=z)
    print(f"| greedy generation, max length 25 | arae_yelp, codes of the {len(test)} Yelp test sentences, one batch, "
          f"{steps} steps run | {rate:.0f} sentences/s | {rate / common.PEER_GENERATION_SENTENCES_PER_S:.2f} |",
          flush=True)

    load = fresh_process_seconds("import time; t = time.perf_counter(); from arae_tf import zoo; "
                                 "zoo.load('arae_yelp'); print(time.perf_counter() - t)")
    bare = fresh_process_seconds("import time; t = time.perf_counter(); import tensorflow, keras; "
                                 "print(time.perf_counter() - t)")
    print(f"| zoo.load('arae_yelp') | fresh process, imports included | {load:.2f} s "
          f"(import tensorflow + keras alone {bare:.2f} s) | – |", flush=True)

    sentences = [l.strip() for l in open(os.path.join(common.YELP, "test.0.txt"))][:64]
    with tempfile.TemporaryDirectory() as tmp:
        zoo.export("arae_yelp", os.path.join(tmp, "sm"))
        sm = tf.saved_model.load(os.path.join(tmp, "sm"))
        fn = sm.signatures["transfer"]
        for batch in (1, 64):
            s = tf.constant(sentences[:batch])
            to = tf.ones([batch], tf.int32)
            sec = common.timed(lambda: fn(sentences=s, to=to), FLAGS.repeats * 4, warmup=2)
            py = common.timed(lambda: preset.transfer(sentences[:batch], to=np.ones(batch, np.int32)),
                                 FLAGS.repeats * 4, warmup=2)
            print(f"| SavedModel `transfer` request | batch {batch} | {sec * 1000:.1f} ms "
                  f"(Python model {py * 1000:.1f} ms, ×{py / sec:.2f}) | – |", flush=True)


if __name__ == "__main__":
    app.run(main)
