r"""arae_tf against the original PyTorch ARAE, both timed on this machine, alternating in one run.

    python -m benchmarks.versus_original \
        --original_cmd="/tmp/torchvenv/bin/python /tmp/orig_arae/time_original.py --iters=40" --rounds=3

PEER.md's figures for the original were taken on another machine (an Intel Xeon with AMX); this
benchmark times the original again here, so the ratio compares the two programs on the same CPU
at the same moment. Each round runs the original's timing command, then ours:

* **training**: one full Algorithm 2 iteration (`arae_transfer`, PEER.md's sizes, 128 new sentences
  per iteration, steady-state `model.fit` on bucketed Yelp, timed after 10 warm-up iterations) in float32 and in
  `mixed_bfloat16`, against the original's full iteration (2 × 64 sentences);
* **generation**, against the original's greedy decoding of batch 100 from generator noise at max
  length 25 (it always runs all 25 steps):
  - like for like: an untrained model of PEER.md's size, batch 100 (never emits `<eos>`, so it runs
    all 25 steps too), float32 and bfloat16;
  - real work: the shipped `arae_yelp` decoding the codes of the 1,000 Yelp test sentences in one
    batch (finished rows leave the batch; float32 and `zoo.load(..., dtype="mixed_bfloat16")`).

The original is not part of this repository. `--original_cmd` is a shell command that runs it and
prints two lines, `TRAIN_SENTENCES_PER_S=<x>` (128 / mean seconds of one iteration) and
`GENERATION_SENTENCES_PER_S=<x>` (batch 100, max length 25, median); docs/benchmarks.md says how
the timed copy was set up. Prints a Markdown table per round and the median ratio over rounds.
"""

import os
import re
import statistics
import subprocess
import sys
import time

from absl import app, flags

from benchmarks import common

flags.DEFINE_string("original_cmd", "", "Shell command timing the original (see the module docstring).")
flags.DEFINE_integer("rounds", 3, "Rounds of (original, ours).")
flags.DEFINE_integer("steps", 40, "Timed training iterations of ours per variant and round.")
flags.DEFINE_integer("repeats", 5, "Timed generation calls per figure (median).")
FLAGS = flags.FLAGS

KEYS = ("TRAIN_SENTENCES_PER_S", "GENERATION_SENTENCES_PER_S")


def parse_original(output):
    """{key: float} from the original command's output; ValueError naming what is missing."""
    found = {k: float(m.group(1)) for k in KEYS for m in [re.search(rf"^{k}=([0-9.]+)\s*$", output, re.M)] if m}
    missing = [k for k in KEYS if k not in found]
    if missing:
        raise ValueError(f"--original_cmd printed no {' / '.join(missing)}=<number> line; "
                         f"the end of its output was:\n{output[-1500:]}")
    return found


def run_original(cmd):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"--original_cmd exited with {r.returncode}:\n{(r.stdout + r.stderr)[-2000:]}")
    return parse_original(r.stdout)


def ours(train_ex, vocab, test_texts, presets):
    """{work: sentences/s} of this round for arae_tf."""
    import keras

    from arae_tf import train_lib
    from arae_tf.models import build_model

    out = {}
    z = presets["float32"].encode(test_texts)  # the same codes for both precisions
    for precision in ("float32", "mixed_bfloat16"):
        out[f"train {precision}"] = common.training_throughput("arae_transfer", precision, False, FLAGS.steps, 128, train_ex, vocab)
        c = common.peer_config("arae_transfer")
        c.train.mixed_precision = precision
        keras.utils.set_random_seed(0)
        with train_lib.precision_policy(c):
            untrained = build_model(c, common.PEER_VOCAB)
        out[f"generate untrained batch 100 {precision}"], steps = common.generation(untrained, 100, FLAGS.repeats)
        assert steps == 25, steps  # like the original: all 25 steps
        out[f"generate arae_yelp test codes {precision}"], _ = common.generation(
            presets[precision], len(z), FLAGS.repeats, z=z)
    return out


def main(argv):
    del argv
    if not FLAGS.original_cmd:
        sys.exit("--original_cmd is required: a command that times the original ARAE and prints "
                 "TRAIN_SENTENCES_PER_S=<x> and GENERATION_SENTENCES_PER_S=<x> (see docs/benchmarks.md)")
    from arae_tf import train_lib, zoo
    from arae_tf.data.vocab import Vocabulary

    c = common.peer_config()
    train_ex = train_lib.load_examples(c.data, "train")
    vocab = Vocabulary.build((t for t, _ in train_ex), max_size=c.data.vocab_size, min_count=1)
    test_texts = [l.strip() for f in ("test.0.txt", "test.1.txt") for l in open(os.path.join(common.YELP, f))]
    presets = {p: zoo.load("arae_yelp", compile=False, dtype=p) for p in ("float32", "mixed_bfloat16")}

    print(f"# arae_tf versus the original, {time.strftime('%Y-%m-%d')}, {common.machine()}, "
          f"git {common.git_revision()}")
    print(f"# original: {FLAGS.original_cmd}")
    pairs = [("train float32", "TRAIN_SENTENCES_PER_S"), ("train mixed_bfloat16", "TRAIN_SENTENCES_PER_S")]
    for precision in ("float32", "mixed_bfloat16"):
        for work in ("untrained batch 100", "arae_yelp test codes"):
            pairs.append((f"generate {work} {precision}", "GENERATION_SENTENCES_PER_S"))
    ratios = {work: [] for work, _ in pairs}
    for r in range(1, FLAGS.rounds + 1):
        orig = run_original(FLAGS.original_cmd)
        mine = ours(train_ex, vocab, test_texts, presets)
        print(f"\n## round {r}\n| work | original sentences/s | arae_tf sentences/s | × original here | "
              f"× PEER.md |\n|---|---|---|---|---|")
        for work, key in pairs:
            peer = (common.PEER_TRAIN_SENTENCES_PER_S if key.startswith("TRAIN")
                    else common.PEER_GENERATION_SENTENCES_PER_S)
            ratios[work].append(mine[work] / orig[key])
            print(f"| {work} | {orig[key]:.0f} | {mine[work]:.0f} | {mine[work] / orig[key]:.2f} | "
                  f"{mine[work] / peer:.2f} |", flush=True)
    print(f"\n## median over {FLAGS.rounds} rounds\n| work | × original here (median) | range |\n|---|---|---|")
    for work, _ in pairs:
        v = ratios[work]
        print(f"| {work} | {statistics.median(v):.2f} | {min(v):.2f}–{max(v):.2f} |")


if __name__ == "__main__":
    app.run(main)
