"""The workdir: its layout, the checkpoint format, the record of each run, resume and the final model.

    config.json            the record of the newest run: resolved config, command line, start time
    config.<n>.json        earlier runs' records, where they differ (`record_run`)
    vocabulary.txt         built from the training split at the first run
    checkpoints/           ckpt-<step>.weights.h5 (model + every optimizer) and ckpt-<step>.json, the
                           marker, written last: the weights' sha256, the vocabulary's sha256 and size,
                           the models' random-number states
    tensorboard/, metrics.jsonl   written by the training loop's evaluator
    final/                 config.json, model.weights.h5, vocabulary.txt, metrics.json, samples.txt,
                           experiment.json (`save_final`)

`load_trained(workdir)` reads a trained model back: (model, vocabulary, config).
"""

import glob
import json
import os
import re
import sys
import time

from absl import logging

import keras
import numpy as np

from arae_tf import config_base
from arae_tf.data.vocab import Vocabulary
from arae_tf.models import build_model
from arae_tf.zoo import file_sha256, non_finite


class TrainingDiverged(RuntimeError):
    """A loss or a weight became NaN or infinite; nothing non-finite was written."""


def _checkpoint_markers(checkpoint_dir):
    """[(step, marker .json path)] of the checkpoints in a directory, oldest first."""
    marks = [(int(re.search(r"ckpt-(\d+)\.json$", p).group(1)), p)
             for p in glob.glob(os.path.join(checkpoint_dir, "ckpt-*.json"))]
    return sorted(marks)


def _complete_checkpoints(workdir):
    """[(step, weights path)] of the checkpoints whose weights and .json marker are both written, oldest first."""
    out = []
    for step, mark in _checkpoint_markers(os.path.join(workdir, "checkpoints")):
        weights = mark[: -len(".json")] + ".weights.h5"
        if os.path.exists(weights):
            out.append((step, weights))
    return out


def checkpoint_steps(workdir):
    """Steps of the complete checkpoints of `workdir` (weights and marker both written), oldest first."""
    return [step for step, _ in _complete_checkpoints(workdir)]


def checkpoint_at(workdir, step):
    """Weights path of the complete checkpoint of `step`; an error listing the ones there otherwise."""
    complete = dict(_complete_checkpoints(workdir))
    if step not in complete:
        raise FileNotFoundError(f"{workdir}/checkpoints has no complete checkpoint of step {step}; "
                                f"it has {sorted(complete) or 'none'}")
    return complete[step]


def latest_checkpoint(workdir):
    """(step, weights path) of the newest complete checkpoint, or (0, None)."""
    complete = _complete_checkpoints(workdir)
    return complete[-1] if complete else (0, None)


class CheckpointError(RuntimeError):
    """No checkpoint of a workdir can be resumed from; the message names each file and why."""


SEED_STATE = "seed_generator_state"


def seed_states(model):
    """[[variable path, state]] of the model's random-number streams (Keras `SeedGenerator`s, in
    variable order). `save_weights` leaves them out, so checkpoint markers record them."""
    return [[v.path, np.asarray(v.numpy()).tolist()] for v in model.variables if v.path.endswith(SEED_STATE)]


def restore_seed_states(model, saved, where):
    """Sets the model's random-number streams to the states `saved` ([[variable path, state]], as
    `seed_states` records them) from the checkpoint marker `where`.

    The models name their streams (`model_seed`, `sampler_seed`, `dropout_seed`), so states are matched
    by name: a stream the marker does not record (a resume whose config adds one, e.g. `backbone.dropout`
    > 0 on a run trained without it) starts from its seed, and a recorded stream the model no longer has
    is left out; both are logged. Markers written before the streams were named record Keras's automatic
    names (`seed_generator`, `seed_generator_1`, ...), numbered in creation order, which cannot be matched:
    they are restored in variable order and must hold as many states as the model has streams."""
    mine = {v.path: v for v in model.variables if v.path.endswith(SEED_STATE)}
    by_name = dict(saved)
    if not set(by_name) & set(mine):  # unnamed streams (older markers), or none at all
        if len(saved) != len(mine):
            raise CheckpointError(
                f"{where} records {len(saved)} random-number states ({', '.join(by_name) or 'none'}), the model has "
                f"{len(mine)} ({', '.join(mine) or 'none'}); the marker predates named streams, so they can only be "
                f"matched in order: resume with the config the checkpoint was trained with")
        for v, (_, state) in zip(mine.values(), saved):
            v.assign(np.asarray(state, dtype=v.dtype))
        return
    for path, v in mine.items():
        if path in by_name:
            v.assign(np.asarray(by_name[path], dtype=v.dtype))
        else:
            logging.info(f"[resume] {where} records no state for the random-number stream {path}: "
                         f"it starts from its seed (the config adds it)")
    for path in sorted(set(by_name) - set(mine)):
        logging.info(f"[resume] {where} records the random-number stream {path}, which the model does not have "
                     f"(the config drops it): not restored")


def atomic_json(path, obj):
    """Writes JSON through a temporary file and a rename: never half-written (numpy scalars as numbers,
    other unknown objects as strings)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True, default=lambda o: o.item() if hasattr(o, "item") else str(o))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def non_finite_weights(model):
    """Paths of the model's float weights (optimizer state not included) holding NaN or inf."""
    return non_finite({v.path: v.numpy() for v in model.weights})


def diverged_message(workdir, step, what):
    step_ckpt, ckpt = latest_checkpoint(workdir)
    kept = (f"the newest finite checkpoint, {ckpt} (step {step_ckpt}), is kept and a rerun resumes from it"
            if ckpt else "no checkpoint was written yet")
    return (f"training diverged by step {step}: {what}; stopped without writing a checkpoint or final/ "
            f"({kept}). Lower the learning rates (config fields optim.*_lr) or check the data.")


class Checkpointer(keras.callbacks.Callback):
    """Saves weights (model + all optimizers) every chunk; the .json marker, written last, records the
    weights' sha256, the vocabulary's, the training data's (`data_digest`) and the random-number
    states. Weights holding NaN or inf are never written: `TrainingDiverged` is raised instead."""

    def __init__(self, workdir, keep, vocab_digest=None, data_digest=None):
        super().__init__()
        self.dir = os.path.join(workdir, "checkpoints")
        self.keep = keep
        self.vocab_digest = vocab_digest
        self.data_digest = data_digest
        os.makedirs(self.dir, exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.model.train_iterations.numpy())
        bad = non_finite_weights(self.model)
        if bad:
            raise TrainingDiverged(diverged_message(os.path.dirname(self.dir), step,
                                                     f"weights {bad[:5]} hold NaN or infinite values"))
        path = os.path.join(self.dir, f"ckpt-{step}.weights.h5")
        self.model.save_weights(path + ".tmp.weights.h5")
        digest = file_sha256(path + ".tmp.weights.h5")
        os.replace(path + ".tmp.weights.h5", path)
        atomic_json(os.path.join(self.dir, f"ckpt-{step}.json"),
                     {"step": step, "time": time.time(), "vocab_size": self.model.backbone.vocab_size,
                      "vocab_sha256": self.vocab_digest, "weights_sha256": digest, "data_sha256": self.data_digest,
                      "seed_states": seed_states(self.model)})
        for _, old in _checkpoint_markers(self.dir)[: -self.keep]:
            for p in (old, old[: -len(".json")] + ".weights.h5"):
                if os.path.exists(p):
                    os.remove(p)


def resume(model, workdir, vocab, data_digest=None):
    """Loads the newest intact checkpoint of `workdir` into `model`; returns its (step, weights path),
    (0, None) where there is none. `vocab` is None for image models. Where the checkpoint records
    the sha256 of the data it was trained on and `data_digest` differs, a warning says so (the data
    files changed, or a warm start on other data) and training goes on.

    A checkpoint whose marker cannot be read, whose weights do not match the sha256 its marker
    records, or whose weights cannot be loaded is reported (file and reason) and the next older one
    tried; `CheckpointError` if none is intact. A checkpoint trained with another vocabulary is
    refused (`VocabularyError` naming both files): that is not damage, and an older one would not
    match either."""
    from arae_tf.data.vocab import VocabularyError
    damaged = []
    for step, weights in reversed(_complete_checkpoints(workdir)):
        marker = weights[: -len(".weights.h5")] + ".json"
        try:
            with open(marker) as f:
                saved = json.load(f)
        except (OSError, ValueError) as e:
            damaged.append(f"{marker}: unreadable marker ({e})")
            continue
        if vocab is not None:  # image models have none
            vocab.check_size(saved.get("vocab_size", len(vocab)), where=f"checkpoint {weights}")
        if vocab is not None and saved.get("vocab_sha256") and saved["vocab_sha256"] != vocab.digest():
            raise VocabularyError(
                f"{os.path.join(workdir, 'vocabulary.txt')} is not the vocabulary checkpoint {marker} was "
                f"trained with (sha256 {vocab.digest()[:12]}... against {saved['vocab_sha256'][:12]}...: words "
                f"reordered, replaced or edited); refusing to resume")
        if saved.get("weights_sha256") and file_sha256(weights) != saved["weights_sha256"]:
            damaged.append(f"{weights}: its sha256 is not the one {os.path.basename(marker)} records "
                           f"(truncated or modified)")
            continue
        try:
            model.load_weights(weights)
        except Exception as e:  # h5py/Keras raise many types for a damaged file
            damaged.append(f"{weights}: cannot be loaded ({type(e).__name__}: {e})")
            continue
        if "seed_states" in saved:
            restore_seed_states(model, saved["seed_states"], marker)
        if data_digest and saved.get("data_sha256") and saved["data_sha256"] != data_digest:
            logging.warning(f"[resume] {marker} was trained on other training data (sha256 "
                            f"{saved['data_sha256'][:12]}... against {data_digest[:12]}... now): the data "
                            f"files changed since, or this is a warm start on new data; continuing")
        for d in damaged:
            logging.info(f"[resume] skipping damaged checkpoint {d}")
        return step, weights
    if damaged:
        raise CheckpointError(f"no intact checkpoint in {os.path.join(workdir, 'checkpoints')}:\n  "
                              + "\n  ".join(damaged) + "\nmove the damaged files away to start over")
    return 0, None


def record_run(write_dir, record):
    """Writes `config.json`, the record of this run (config, command, start time). An earlier run's
    record that differs (other than its start time) is first kept as `config.<n>.json`, n = 1, 2, ...;
    rerunning an unchanged command keeps the first record."""
    os.makedirs(write_dir, exist_ok=True)
    path = os.path.join(write_dir, "config.json")
    if os.path.exists(path):
        try:
            with open(path) as f:
                old = json.load(f)
        except ValueError:
            old = None
        strip = lambda r: {k: v for k, v in r.items() if k != "started"}  # noqa: E731
        if old is not None and strip(old) == strip(json.loads(json.dumps(record, default=str))):
            return
        n = 1
        while os.path.exists(os.path.join(write_dir, f"config.{n}.json")):
            n += 1
        os.replace(path, os.path.join(write_dir, f"config.{n}.json"))
    atomic_json(path, record)


def prepare_vocabulary(config, train_examples, workdir, write_dir=None, given=None):
    """The workdir's vocabulary, or `given` (a vocabulary file: a warm start's, `train.init_from`;
    not saved here: the caller saves it once the warm start is accepted), or one built from the
    training examples and saved to `write_dir` (default the workdir). With `given`, a vocabulary
    already in the workdir must be the same (`VocabularyError` naming both files)."""
    path = os.path.join(workdir, "vocabulary.txt")
    if os.path.exists(path):
        vocab = Vocabulary.load(path, lowercase=config.data.lowercase)
        if given is not None:
            wanted = Vocabulary.load(given, lowercase=config.data.lowercase)
            if wanted.digest() != vocab.digest():
                from arae_tf.data.vocab import VocabularyError
                raise VocabularyError(f"{path} is not the vocabulary of {given} (sha256 {vocab.digest()[:12]}... "
                                      f"against {wanted.digest()[:12]}...): a warm start trains with its "
                                      f"preset's vocabulary; use a new workdir")
        return vocab
    if given is not None:
        return Vocabulary.load(given, lowercase=config.data.lowercase)
    vocab = Vocabulary.build((t for t, _ in train_examples), max_size=config.data.vocab_size,
                             min_count=config.data.min_count, lowercase=config.data.lowercase)
    os.makedirs(write_dir or workdir, exist_ok=True)
    vocab.save(os.path.join(write_dir or workdir, "vocabulary.txt"))
    return vocab


def save_final(model, vocab, config, workdir, metrics, samples):
    """Writes `workdir/final/`: the model in the zoo preset layout plus metrics and samples
    (`samples.txt`; image models, whose `vocab` is None: `samples.png`)."""
    out = os.path.join(workdir, "final")
    os.makedirs(out, exist_ok=True)
    atomic_json(os.path.join(out, "config.json"), keras.saving.serialize_keras_object(model))
    model.save_weights(os.path.join(out, "model.weights.h5"))
    atomic_json(os.path.join(out, "metrics.json"), metrics)
    if vocab is None:
        from arae_tf.image_lib import save_grid
        save_grid(os.path.join(out, "samples.png"), samples)
    else:
        vocab.save(os.path.join(out, "vocabulary.txt"))
        with open(os.path.join(out, "samples.txt"), "w") as f:
            f.writelines(s + "\n" for s in samples)
    atomic_json(os.path.join(out, "experiment.json"), {"config": config.to_dict(), "command": sys.argv})


def config_from_dict(saved):
    """A full config (every field of `config_base.base_config(model)`) updated with a saved
    `config.to_dict()`. Records written before configs held their model's sections only carry every
    model's sections: the sections the model does not read are dropped."""
    config = config_base.base_config(saved.get("model", "arae"))
    if "image" in saved:
        config.image = config_base.image_section()
    wanted = config_base.MODEL_SECTIONS.get(config.model)
    if wanted is not None:
        saved = {k: v for k, v in saved.items() if k not in config_base.SECTIONS or k in wanted}
    config.update_from_flattened_dict(_flatten(saved))
    return config


def _flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, prefix + k + "."))
        else:
            out[prefix + k] = tuple(v) if isinstance(v, list) else v
    return out


def load_config(workdir):
    """The config a training workdir records (its config.json); an error naming the workdir otherwise."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: is {workdir!r} a training workdir "
                                f"(python -m arae_tf.train --workdir=...)?")
    with open(path) as f:
        return config_from_dict(json.load(f)["config"])


def load_trained(workdir, checkpoint=0):
    """(model, vocab, config) of a training workdir: `final/` weights, else the newest checkpoint;
    with `checkpoint` > 0, the checkpoint of that step. The vocabulary is attached to the model
    (image models: `vocab` is None)."""
    config = load_config(workdir)
    images = config.data.source == "images"
    vocab = None if images else Vocabulary.load(os.path.join(workdir, "vocabulary.txt"), lowercase=config.data.lowercase)
    model = build_model(config, 0 if images else len(vocab))
    weights = os.path.join(workdir, "final", "model.weights.h5")
    if checkpoint:
        weights = checkpoint_at(workdir, checkpoint)
    elif not os.path.exists(weights):
        _, weights = latest_checkpoint(workdir)
        if weights is None:
            raise FileNotFoundError(f"{workdir} has neither final/model.weights.h5 nor a checkpoint")
    model.load_weights(weights)
    if vocab is not None:
        model.vocabulary = vocab
    return model, vocab, config
