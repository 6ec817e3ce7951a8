"""Time to quality: validation reconstruction BLEU against training wall time, for two or more recipes
of one task trained one after another in one run, and the ratio of their times to a target BLEU.

    python -m benchmarks.time_to_quality --task=yelp_ae --target_bleu=10 \
        --arm="baseline:" --arm="fast:backbone.sampled_softmax=1024"

An arm is `name:field=value,field=value` (config overrides as on the training binary's command line,
values parsed as Python literals). Each arm trains from the same seed and data order, is validated
every `--eval_every` iterations on the first `--eval_sentences` of the fixed shuffled validation
split (greedy decoding, exact softmax, sacrebleu; the time spent validating is not counted), and
stops at `--target_bleu` or after `--max_seconds` of training. The time to the target is
interpolated linearly between the two validations around it. The first arm is the reference: the
printed ratio is its time divided by each other arm's (>= 2 means the arm reaches the same
validation quality in at most half the wall time). Run it alone on the machine; `--out` writes the
curves as JSON.
"""

import ast
import json
import os
import sys
import time

from absl import app, flags

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.common import REPO, git_revision, machine  # noqa: E402

TASKS = {  # name: (config file, variant, overrides every arm starts from)
    # The Yelp AE baseline (configs/ae_yelp.py: batch 64, Adam 1e-3, code noise 0.1).
    "yelp_ae": ("configs/ae_yelp.py", None, {}),
    # The SNLI WAE-S, lambda_KL 0.01 (configs/wae_snli.py: the paper's sizes, batch 128, Adam 1e-3).
    "snli_wae": ("configs/wae_snli.py", "wae_s,0.01", {}),
    # An AE on the built-in corpus (seconds; the benchmark's test).
    "builtin_ae": ("configs/arae_builtin.py", None, {"model": "ae"}),
}

FLAGS = flags.FLAGS


def define_flags():
    """The binary's flags (defined only when it runs, so that importing this module for its functions
    does not clash with other binaries' flags)."""
    flags.DEFINE_enum("task", "yelp_ae", list(TASKS), "which model and data")
    flags.DEFINE_multi_string("arm", ["baseline:", "sampled256:backbone.sampled_softmax=256"],
                              "name:field=value,... (first arm: the reference)")
    flags.DEFINE_float("target_bleu", 10.0, "validation BLEU to reach")
    flags.DEFINE_float("max_seconds", 1800.0, "training wall seconds per arm at most")
    flags.DEFINE_integer("eval_every", 250, "iterations between validations")
    flags.DEFINE_integer("eval_sentences", 500, "validation sentences decoded for BLEU")
    flags.DEFINE_string("out", "", "write the curves here (JSON)")


def parse_arm(text):
    """'name:a.b=1,c=x' -> (name, {'a.b': 1, 'c': 'x'}); a value that is not a Python literal stays a string."""
    if ":" not in text:
        raise ValueError(f"--arm {text!r}: expected name:field=value,...")
    name, rest = text.split(":", 1)
    overrides = {}
    for part in filter(None, rest.split(",")):
        if "=" not in part:
            raise ValueError(f"--arm {text!r}: {part!r} is not field=value")
        key, value = part.split("=", 1)
        try:
            overrides[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            overrides[key.strip()] = value.strip()
    return name.strip(), overrides


def arm_config(task, overrides):
    """The task's config with an arm's overrides (an unknown field raises KeyError naming it)."""
    import importlib.util
    path, variant, base = TASKS[task]
    spec = importlib.util.spec_from_file_location("task_config", os.path.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    c = module.get_config(variant)
    fields = {**base, **overrides}
    if "model" in fields:  # another model: its sections replace the config's (config_base.set_model)
        from arae_tf.config_base import set_model
        set_model(c, fields.pop("model"))
    for key, value in fields.items():
        node, *parents = key.split(".")[::-1]
        target = c
        for p in reversed(parents):
            if p not in target:
                raise KeyError(f"unknown config field {key!r}")
            target = target[p]
        if node not in target:
            raise KeyError(f"unknown config field {key!r}")
        target[node] = type(target[node])(value) if isinstance(target[node], (int, float)) and not isinstance(
            target[node], bool) else value
    return c


def time_to_target(curve, target):
    """Training seconds at which the curve [(seconds, bleu), ...] first reaches `target`, interpolated
    linearly from the validation before it (None if it never does)."""
    prev = (0.0, 0.0)
    for sec, bleu in curve:
        if bleu >= target:
            (s0, b0) = prev
            return s0 + (sec - s0) * (target - b0) / max(bleu - b0, 1e-9)
        prev = (sec, bleu)
    return None


def run_arm(task, name, overrides, target, max_seconds, eval_every, eval_sentences, log=print):
    """Trains one arm until `target` BLEU or `max_seconds`; returns its curve record."""
    import tempfile

    import keras

    from arae_tf import train_lib
    from arae_tf.data import pipeline
    from arae_tf.models import build_model

    c = arm_config(task, overrides)
    c.eval.bleu_sentences = eval_sentences
    c.eval.max_batches = 2
    c.eval.num_samples = 1
    c.eval.code_fit_batches = 1
    c.eval.transfer_classifier = False
    keras.utils.set_random_seed(c.seed)
    train_ex = train_lib.load_examples(c.data, "train")
    valid_ex = train_lib.validation_order(train_lib.load_examples(c.data, "valid"), c.seed)[:eval_sentences]
    with tempfile.TemporaryDirectory() as tmp:
        vocab = train_lib.prepare_vocabulary(c, train_ex, tmp)
    d = c.data
    with train_lib.precision_policy(c):
        model = build_model(c, len(vocab))
    train_ds = pipeline.make_dataset(train_ex, vocab, d.batch_size, d.max_len, shuffle=True, seed=c.seed,
                                     bucket=d.bucket, repeat=True, length_policy=d.length_policy)
    valid_ds = pipeline.make_dataset(valid_ex, vocab, d.batch_size, d.max_len, shuffle=False, bucket=False,
                                     length_policy=d.length_policy)
    curve, seconds, cpu, step = [], 0.0, 0.0, 0
    while seconds < max_seconds:
        t, p = time.perf_counter(), time.process_time()
        model.fit(train_ds, steps_per_epoch=eval_every, epochs=1, verbose=0)
        seconds += time.perf_counter() - t
        cpu += time.process_time() - p
        step += eval_every
        metrics, _ = train_lib.evaluate(model, vocab, c, valid_ds)
        curve.append({"step": step, "seconds": seconds, "cpu_seconds": cpu, "val_bleu": metrics["val_bleu"],
                      "val_token_acc": metrics.get("val_token_acc")})
        log(f"[{name}] step {step}: {seconds:.0f}s training, validation BLEU {metrics['val_bleu']:.2f}, "
            f"token acc {metrics.get('val_token_acc', float('nan')):.3f}")
        if metrics["val_bleu"] >= target:
            break
    reached = time_to_target([(r["seconds"], r["val_bleu"]) for r in curve], target)
    return {"name": name, "overrides": overrides, "curve": curve, "seconds_to_target": reached,
            "sentences_per_second": step * d.batch_size / max(seconds, 1e-9), "batch_size": d.batch_size}


def summary(arms, target):
    """Markdown: each arm's time to the target, throughput and ratio to the first arm."""
    ref = arms[0]["seconds_to_target"]
    lines = [f"| arm | overrides | seconds to BLEU {target:g} | iterations | sentences/s | ratio to {arms[0]['name']} |",
             "|---|---|---|---|---|---|"]
    for a in arms:
        s = a["seconds_to_target"]
        ratio = f"{ref / s:.2f}" if (s and ref) else "–"
        lines.append(f"| {a['name']} | `{a['overrides']}` | {s:.0f} |" if s else f"| {a['name']} | `{a['overrides']}` | "
                     f"not reached in {a['curve'][-1]['seconds']:.0f} |")
        lines[-1] += f" {a['curve'][-1]['step']} | {a['sentences_per_second']:.0f} | {ratio} |"
    return "\n".join(lines)


def main(argv):
    del argv
    arms = [parse_arm(a) for a in FLAGS.arm]
    for _, overrides in arms:
        arm_config(FLAGS.task, overrides)  # every override checked before anything trains
    print(f"{machine()}, git {git_revision()}", flush=True)
    results = []
    for name, overrides in arms:
        results.append(run_arm(FLAGS.task, name, overrides, FLAGS.target_bleu, FLAGS.max_seconds, FLAGS.eval_every,
                               FLAGS.eval_sentences, log=lambda m: print(m, flush=True)))
    table = summary(results, FLAGS.target_bleu)
    print(table)
    ref = results[0]["seconds_to_target"]
    for r in results[1:]:
        s = r["seconds_to_target"]
        print(f"TIME_TO_QUALITY_RATIO {r['name']}={ref / s:.3f}" if (s and ref) else
              f"TIME_TO_QUALITY_RATIO {r['name']}=nan", flush=True)
    if FLAGS.out:
        with open(FLAGS.out, "w") as f:
            json.dump({"task": FLAGS.task, "target_bleu": FLAGS.target_bleu, "command": sys.argv, "arms": results,
                       "machine": machine(), "git": git_revision()}, f, indent=2)


if __name__ == "__main__":
    define_flags()
    app.run(main)
