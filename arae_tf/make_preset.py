"""Turns a training workdir into a zoo preset (`zoo/<name>/`), with a model card.

    python -m arae_tf.make_preset --workdir=workdirs/arae_yelp_transfer --name=arae_yelp \\
        --description="ARAE sentiment transfer on Yelp" [--compare=workdirs/ae_yelp_transfer]

Weights are stored as float16 (`--dtype=float32` to keep them exact). The card records the
training command and config (from the workdir), the evaluation numbers found in
`<workdir>/eval/metrics.json` (run `python -m arae_tf.evaluate` first) and, with `--compare`,
a side-by-side table against another evaluated workdir.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

flags.DEFINE_string("workdir", None, "Training workdir.")
flags.DEFINE_integer("checkpoint", 0, "Step of the checkpoint to publish (default: final/ weights or the "
                     "newest checkpoint); its evaluation is read from <workdir>/eval-<step>/.")
flags.DEFINE_string("name", None, "Preset name (directory under --zoo_dir).")
flags.DEFINE_string("description", "", "One line for zoo.list().")
flags.DEFINE_string("zoo_dir", None, "Where presets live (default: the repository's zoo/).")
flags.DEFINE_string("dtype", "float16", "Weight storage: float16 or float32.")
flags.DEFINE_multi_string("compare", [], "Other evaluated workdirs for the card's comparison table.")
flags.DEFINE_string("notes", "", "A Markdown file appended to the card (measured curves, caveats).")
flags.mark_flags_as_required(["workdir", "name"])
FLAGS = flags.FLAGS


def _card(name, description, experiment, metrics, compare_table, notes, fp16_check):
    cmd = " ".join(experiment.get("command", []))
    lines = [f"# {name}", "", description, "",
             "## Use", "", "```python", "from arae_tf import zoo", f"m = zoo.load({name!r})",
             "m.transfer([\"the food was cold and the staff was rude .\"], to=1)  # 0 negative, 1 positive",
             "m.sample(5, seed=0, decoder=1); m.interpolate(a, b, steps=5); m.reconstruct(texts)", "```", "",
             "## Training", "", f"Command: `{cmd}`", "",
             "Data: ../shared/data/yelp (Yelp review sentences of Shen et al. 2017, 0 negative / 1 positive; the "
             "training split is built from that release's dev+test files). For research use under Yelp's dataset "
             "terms.", "", f"Weights stored as {FLAGS.dtype}; {fp16_check}", ""]
    if metrics:
        tr = metrics.get("transfer", {})
        r = metrics["reconstruction"]
        lines += ["## Evaluation (`python -m arae_tf.evaluate`, Yelp test split)", "",
                  f"Command: `{' '.join(metrics['command'])}`", "",
                  "| transfer acc | self-BLEU | forward PPL | reverse PPL | rec. BLEU | fastText test acc |",
                  "|---|---|---|---|---|---|",
                  f"| {tr.get('accuracy', float('nan')):.3f} | {tr.get('self_bleu', float('nan')):.2f} | "
                  f"{tr.get('forward_ppl', float('nan')):.1f} | {tr.get('reverse_ppl', float('nan')):.1f} | "
                  f"{r['bleu']:.2f} | {tr.get('classifier_test_accuracy', float('nan')):.3f} |", "",
                  "ARAE paper, Table 3 (its own Yelp split, 25 epochs on GPU): AE 59.3% / 37.28 / 31.9 / 68.9; "
                  "ARAE λ₁=1 73.4% / 31.15 / 29.7 / 70.1; ARAE λ₁=10 81.8% / 20.18 / 27.7 / 77.0.", ""]
        if tr.get("examples"):
            lines += ["Transfers (test sentences, greedy):", ""] + [f"- {a}  →  {b}" for a, b in tr["examples"][:8]] + [""]
    if compare_table:
        lines += ["## Side by side", "", compare_table, ""]
    if notes:
        lines += [notes, ""]
    return "\n".join(lines)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    import json

    import numpy as np

    from arae_tf import evaluation, zoo

    model, vocab, config = evaluation.load_trained(FLAGS.workdir, FLAGS.checkpoint)
    with open(os.path.join(FLAGS.workdir, "config.json")) as f:
        experiment = json.load(f)
    if FLAGS.checkpoint:
        experiment["checkpoint"] = FLAGS.checkpoint
    metrics_path = os.path.join(evaluation.eval_dir(FLAGS.workdir, FLAGS.checkpoint), "metrics.json")
    metrics = json.load(open(metrics_path)) if os.path.exists(metrics_path) else None
    compare_table = ""
    if FLAGS.compare:
        others = [json.load(open(os.path.join(w, "eval", "metrics.json"))) for w in FLAGS.compare]
        compare_table = evaluation.comparison_table([metrics] + others,
                                                    [FLAGS.name] + [os.path.basename(os.path.normpath(w))
                                                                    for w in FLAGS.compare])
    zoo_dir = FLAGS.zoo_dir or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "zoo")
    path = os.path.join(zoo_dir, FLAGS.name)
    meta = {"name": FLAGS.name, "description": FLAGS.description, "training": experiment,
            "metrics": {k: v for k, v in (metrics or {}).items() if k not in ("transfer",)},
            "transfer_metrics": {k: v for k, v in (metrics or {}).get("transfer", {}).items() if k != "examples"}}
    zoo.save_preset(model, vocab, path, meta, dtype=FLAGS.dtype)
    # How close float16 storage is: greedy outputs of 1,000 test sentences, original vs stored.
    loaded = zoo.load(path, compile=False)
    from arae_tf.train_lib import load_examples
    texts = [t for t, _ in load_examples(config.data, "test")][:1000]
    kw = {"decoder": 1} if hasattr(model, "num_classes") else {}
    same = float(np.mean([x == y for x, y in zip(model.reconstruct(texts, **kw), loaded.reconstruct(texts, **kw))]))
    check = f"{100 * same:.1f}% of 1,000 greedy test decodings are identical to the float32 model's."
    notes = open(FLAGS.notes).read() if FLAGS.notes else ""
    with open(os.path.join(path, "MODEL_CARD.md"), "w") as f:
        f.write(_card(FLAGS.name, FLAGS.description, experiment, metrics, compare_table, notes, check))
    zoo.write_manifest(path)
    size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path)) / 2 ** 20
    print(f"[preset] wrote {path} ({size:.1f} MB); {check}")


if __name__ == "__main__":
    app.run(main)
