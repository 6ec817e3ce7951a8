"""Semi-supervised natural-language inference on top of a trained encoder (ARAE Table 5, SPEC 2.6).

An autoencoder is trained on unlabelled sentences; its encoder then reads the premise u and the
hypothesis v of labelled pairs, and an MLP on [u; v; |u - v|; u * v] predicts entailment, neutral or
contradiction, the encoder fine-tuned with it. The rows of the table differ only in where the
encoder starts:

* "supervised (encoder from scratch)": the same architecture, randomly initialised;
* "semi-supervised AE" / "semi-supervised ARAE": the encoder of a trained AE / ARAE.

Each is trained on the first k pairs of a seeded shuffle of the labelled pool (k = 1,000, 2,500,
5,000), the epoch kept by accuracy on `valid_pairs` pairs held out from the pool's end, and scored
on the test pairs.

    table = semisupervised_table({"semi-supervised AE": ae_model.backbone,
                                  "semi-supervised ARAE": arae_model.backbone}, vocab, pool, test,
                                 sizes=(1000, 2500, 5000))
"""

import dataclasses
import os
import time

from absl import logging

import keras
import numpy as np
from keras import ops

from arae_tf.data.pipeline import padded_batch

LABELS = ("entailment", "neutral", "contradiction")


def read_pairs(path):
    """[(premise, hypothesis, label id)] of a `premise TAB hypothesis TAB label` file (label one of
    `LABELS`); a malformed line raises `ValueError` naming the file and line."""
    pairs = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                raise ValueError(f"{path}, line {i}: expected premise, hypothesis and label separated by tabs, "
                                 f"got {len(fields)} field(s)")
            if fields[2] not in LABELS:
                raise ValueError(f"{path}, line {i}: label {fields[2]!r} is not one of {LABELS}")
            if not fields[0].strip() or not fields[1].strip():
                raise ValueError(f"{path}, line {i}: empty premise or hypothesis")
            pairs.append((fields[0], fields[1], LABELS.index(fields[2])))
    if not pairs:
        raise ValueError(f"{path}: no labelled pairs")
    return pairs


@keras.saving.register_keras_serializable(package="arae_tf")
class NLIClassifier(keras.Model):
    """Premise and hypothesis token ids -> 3 logits: an MLP on [u; v; |u - v|; u * v] of the
    backbone's codes (the encoder is part of the model and trains with it)."""

    def __init__(self, backbone, hidden=(300,), dropout=0.1, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone
        encoder = {id(v) for v in backbone.encoder_variables}
        for layer in backbone._flatten_layers(include_self=False, recursive=False):  # the decoder stays as it is
            if layer.weights and not any(id(v) in encoder for v in layer.weights):
                layer.trainable = False
        self.mlp = keras.Sequential(
            [keras.Input((4 * backbone.latent_dim,))]
            + [layer for h in hidden for layer in (keras.layers.Dense(h, activation="relu"),
                                                   keras.layers.Dropout(dropout, seed=seed))]
            + [keras.layers.Dense(len(LABELS))], name="nli_mlp")

    def get_config(self):
        raise NotImplementedError("NLIClassifier is built around a trained backbone in memory; it is not saved")

    def call(self, inputs, training=False):
        u = self.backbone.encode(inputs["premise"], training=training)
        v = self.backbone.encode(inputs["hypothesis"], training=training)
        return self.mlp(ops.concatenate([u, v, ops.abs(u - v), u * v], axis=-1), training=training)


@dataclasses.dataclass
class Settings:
    """How each classifier trains."""
    epochs: int = 12
    batch_size: int = 64
    lr: float = 1e-3
    hidden: tuple = (300,)
    dropout: float = 0.1
    valid_pairs: int = 1000   # held out from the end of the shuffled labelled pool, for the epoch choice
    max_words: int = 30
    seed: int = 0


def _inputs(pairs, vocab, max_words):
    return {"premise": padded_batch([p for p, _, _ in pairs], vocab, max_len=max_words),
            "hypothesis": padded_batch([h for _, h, _ in pairs], vocab, max_len=max_words)}


def _labels(pairs):
    return np.array([y for _, _, y in pairs], np.int32)


def fresh_backbone(backbone, seed=0):
    """A backbone of the same architecture with new random weights (the supervised row)."""
    keras.utils.set_random_seed(seed)
    return type(backbone).from_config(backbone.get_config())


def copy_backbone(backbone):
    """A backbone with the same architecture and weights (so fine-tuning never changes the source model)."""
    new = type(backbone).from_config(backbone.get_config())
    if [(w.path, tuple(w.shape)) for w in new.weights] != [(w.path, tuple(w.shape)) for w in backbone.weights]:
        raise ValueError("copy_backbone: the rebuilt backbone's weights do not match the source's")
    for a, b in zip(new.weights, backbone.weights):
        a.assign(b)
    return new


def train_classifier(backbone, vocab, train, valid, settings=Settings()):
    """An `NLIClassifier` on `backbone` (changed in place: pass a copy) trained on `train` pairs with
    Adam; the weights of the epoch with the best accuracy on `valid` are kept. Returns (classifier,
    [validation accuracy per epoch])."""
    keras.utils.set_random_seed(settings.seed)
    model = NLIClassifier(backbone, hidden=settings.hidden, dropout=settings.dropout, seed=settings.seed)
    model.compile(optimizer=keras.optimizers.Adam(settings.lr, global_clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    best = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=settings.epochs,
                                         restore_best_weights=True)
    history = model.fit(_inputs(train, vocab, settings.max_words), _labels(train), batch_size=settings.batch_size,
                        epochs=settings.epochs, shuffle=True, verbose=0, callbacks=[best],
                        validation_data=(_inputs(valid, vocab, settings.max_words), _labels(valid)))
    return model, [float(a) for a in history.history["val_accuracy"]]


def accuracy(classifier, vocab, pairs, max_words=30, batch=1000):
    """Share of `pairs` whose label the classifier predicts."""
    hits = 0
    for i in range(0, len(pairs), batch):
        chunk = pairs[i:i + batch]
        logits = classifier(_inputs(chunk, vocab, max_words), training=False)
        hits += int((np.argmax(np.asarray(logits), axis=-1) == _labels(chunk)).sum())
    return hits / len(pairs)


def semisupervised_table(encoders, vocab, pool, test, sizes=(1000, 2500, 5000), settings=Settings(), log=None):
    """ARAE Table 5: test accuracy for each starting encoder and labelled-set size.

    Args:
        encoders: {row name: backbone} of trained models (copied before fine-tuning); a row
            "supervised (encoder from scratch)" is added with a fresh backbone of the first one's
            architecture.
        vocab: the vocabulary every backbone reads (the trained models' one).
        pool / test: labelled pairs (`read_pairs`); the pool is shuffled with `settings.seed`, its last
            `settings.valid_pairs` pairs validate, the first k of the rest train.
    Returns {"rows": {name: {k: {"test_accuracy", "valid_curve", "seconds"}}}, "sizes", "settings"}.
    """
    log = log or (lambda msg: logging.info(f"[nli] {msg}"))
    if settings.valid_pairs < 1:
        raise ValueError(f"settings.valid_pairs must be >= 1, got {settings.valid_pairs}")
    configs = {name: {k: v for k, v in b.get_config().items() if k not in ("name", "trainable", "dtype")}
               for name, b in encoders.items()}
    if len({repr(sorted(c.items())) for c in configs.values()}) > 1:
        raise ValueError(f"the encoders differ in architecture ({configs}); the rows compare starting weights only")
    order = np.random.default_rng(settings.seed).permutation(len(pool))
    shuffled = [pool[i] for i in order]
    valid, train_pool = shuffled[-settings.valid_pairs:], shuffled[:-settings.valid_pairs]
    if max(sizes) > len(train_pool):
        raise ValueError(f"sizes {sizes}: the labelled pool has {len(train_pool)} pairs besides the "
                         f"{settings.valid_pairs} validation pairs")
    first = next(iter(encoders.values()))
    starts = {"supervised (encoder from scratch)": lambda: fresh_backbone(first, settings.seed)}
    starts.update({name: (lambda b=b: copy_backbone(b)) for name, b in encoders.items()})
    rows = {}
    for name, start in starts.items():
        rows[name] = {}
        for k in sizes:
            t = time.time()
            classifier, curve = train_classifier(start(), vocab, train_pool[:k], valid, settings)
            acc = accuracy(classifier, vocab, test, settings.max_words)
            rows[name][k] = {"test_accuracy": acc, "valid_curve": curve, "seconds": time.time() - t}
            log(f"{name}, {k} labelled pairs: test accuracy {acc:.4f} (best validation {max(curve):.4f}, "
                f"{time.time() - t:.0f}s)")
    return {"rows": rows, "sizes": list(sizes), "settings": dataclasses.asdict(settings),
            "pool": len(pool), "test": len(test)}


def repeated_table(encoders, vocab, pool, test, sizes=(1000, 2500, 5000), settings=Settings(), repeats=3, log=None):
    """`semisupervised_table` for seeds settings.seed, settings.seed + 1, ... (`repeats` of them): each
    seed draws another labelled subset and validation split, initialisation and dropout. Returns the
    structure of `semisupervised_table`, each cell's "test_accuracy" the mean over seeds, with
    "test_accuracies" (one per seed), "std" (sample standard deviation) and "valid_curves" (one per
    seed, in place of "valid_curve"); "seeds" lists the seeds."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    seeds = [settings.seed + i for i in range(repeats)]
    runs = [semisupervised_table(encoders, vocab, pool, test, sizes, dataclasses.replace(settings, seed=s), log)
            for s in seeds]
    rows = {}
    for name in runs[0]["rows"]:
        rows[name] = {}
        for k in sizes:
            accs = [r["rows"][name][k]["test_accuracy"] for r in runs]
            rows[name][k] = {"test_accuracy": float(np.mean(accs)), "test_accuracies": accs,
                             "std": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
                             "valid_curves": [r["rows"][name][k]["valid_curve"] for r in runs],
                             "seconds": sum(r["rows"][name][k]["seconds"] for r in runs)}
    return {**runs[0], "rows": rows, "seeds": seeds}


PAPER_TABLE5 = {"supervised (encoder from scratch)": (65.9, 62.5, 57.9), "semi-supervised AE": (68.5, 64.6, 59.9),
                "semi-supervised ARAE": (70.9, 66.8, 62.5)}


def markdown(result):
    """The table of `semisupervised_table`'s result (or of its JSON), with the paper's Table 5 beside it;
    columns from the most labelled pairs to the fewest, as the paper's."""
    sizes = sorted(result["sizes"], reverse=True)
    lines = ["| encoder | " + " | ".join(f"{k:,} labelled" for k in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for name, cells in result["rows"].items():
        cells = {int(k): v for k, v in cells.items()}  # JSON keys are strings
        lines.append(f"| {name} | " + " | ".join(_cell(cells[k]) for k in sizes) + " |")
    seeds = result.get("seeds", [result["settings"]["seed"]])
    over = f"mean ± standard deviation over seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else f"seed {seeds[0]}"
    lines += ["", f"Test accuracy (%) on the labelled test pairs, {over}. ARAE paper, Table 5 (full SNLI; "
              "22% / 10% / 5% of its labels, i.e. far more pairs):", "", "| encoder | Medium | Small | Tiny |",
              "|---|---|---|---|"]
    lines += [f"| {name} | " + " | ".join(f"{v:.1f}" for v in vals) + " |" for name, vals in PAPER_TABLE5.items()]
    return "\n".join(lines) + "\n"


def _cell(cell):
    text = f"{100 * cell['test_accuracy']:.1f}"
    return text + (f" ± {100 * cell['std']:.1f}" if len(cell.get("test_accuracies", ())) > 1 else "")


def default_pairs(config, split):
    """The labelled pairs beside a model's SNLI data: `<data>/../snli_nli/{train,test}.tsv`."""
    data_dir = os.path.dirname(os.path.abspath(config.data.train_files[0]))
    return os.path.join(os.path.dirname(data_dir), "snli_nli", f"{split}.tsv")
