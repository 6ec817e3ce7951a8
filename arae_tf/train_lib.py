"""`train_and_evaluate(config, workdir)`: everything the training binary does.

The workdir's layout, the checkpoint format, resume and the run records live in `arae_tf.workdir`.

Running the same command again resumes from the newest intact checkpoint (model,
optimizers, iteration counter, random-number streams). Training is `model.fit` in chunks of
`eval_every` iterations ("epochs" of the fit loop). Resume is exact: the data stream is a fixed
function of the seed and the step (`pipeline.make_dataset(start_step=)`) and each checkpoint
records the models' random-number states, so a run killed at any point and rerun ends with the
weights of an uninterrupted run (tests/test_reliability.py). A damaged newest checkpoint is
reported by name and the newest intact one used instead.

The config is validated (`config_base.validate`) before anything is written.

Under `train.strategy = "multiworker"` every worker runs the same command with its own
`TF_CONFIG`; only the chief (task "chief", or worker 0 where the cluster has no chief) writes the
workdir, which must be storage that all workers can read (they resume from the chief's
checkpoints). The other workers write into a temporary directory, deleted at the end.
"""

import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time

from absl import logging

import keras
import numpy as np
import tensorflow as tf

from arae_tf.callbacks import DivergenceGuard, Progress, learning_rates, lr_decay_callback, restore_learning_rates
from arae_tf.data import pipeline
from arae_tf.data.sources import load_examples, validation_order
from arae_tf.evaluation import latent as latent_lib
from arae_tf.evaluation import reconstruction
from arae_tf.evaluation import samples as samples_lib
from arae_tf.evaluation import transfer as transfer_lib
from arae_tf.distribute import make_strategy
from arae_tf.models import build_model
# Re-exported: the workdir's layout and checkpoints, as callers knew them here.
from arae_tf.workdir import (SEED_STATE, CheckpointError, Checkpointer, TrainingDiverged, checkpoint_at,  # noqa: F401
                             latest_checkpoint, prepare_vocabulary, record_run, resume, save_final)


def precision_policy(config):
    """Within the block, the Keras dtype policy is `config.train.mixed_precision`: layers built there
    compute in it (variables stay float32). The previous policy is restored on the way out."""
    from arae_tf.models.base import dtype_policy
    return dtype_policy(config.train.get("mixed_precision", "float32"), "config field train.mixed_precision")


# -- evaluation ---------------------------------------------------------------
def evaluate(model, vocab, config, valid_ds, train_ds=None, classifier=None):
    """Validation metrics, greedy-reconstruction BLEU and prior samples. Returns (metrics, extra).

    The evaluators are the evaluation suite's (`arae_tf.evaluation`): the same greedy decoding and
    BLEU, code fit (`train_ds`: the stream the AE's Gaussian is fitted on), samples and code
    statistics. Transfer models also get the self-BLEU of validation sentences transferred to the
    next class and, with a fastText `classifier`, the transfer accuracy."""
    e = config.eval
    metrics = {"val_" + k: v for k, v in reconstruction.loss_metrics(
        model, valid_ds.take(e.max_batches) if e.max_batches else valid_ds).items()}
    classes = model.decoder_classes
    transfers = classes > 1  # one decoder per class: each sentence also decoded by the next class's
    d = reconstruction.greedy_reconstructions(model, vocab, valid_ds, e.decode_max_len, limit=e.bleu_sentences,
                                              transfer=transfers)
    if train_ds is not None:
        samples_lib.fit_codes(model, train_ds, config)
    samples = samples_lib.decode_samples(model, vocab, e.num_samples, config.seed, e.decode_max_len)
    metrics.update(val_bleu=d.bleu["score"], bleu_signature=d.bleu["signature"])
    extra = {}
    if transfers:
        k = d.scored
        scores = transfer_lib.transfer_scores(d.references[:k], d.transfers[:k],
                                              transfer_lib.next_classes(d.labels[:k], classes), classes, classifier)
        metrics["val_transfer_self_bleu"] = scores["self_bleu"]
        if classifier is not None:
            metrics["val_transfer_acc"] = scores["accuracy"]
        extra["transfers"] = list(zip(d.references[:5], d.transfers[:5]))
    # ARAE Fig. 3: norms and covariance traces of real codes z and prior codes z~.
    metrics.update(latent_lib.validation_code_metrics(model, d.codes, config.seed))
    return metrics, {"samples": samples, "reconstructions": list(zip(d.references[:5], d.hypotheses[:5])), **extra}


class Evaluator(keras.callbacks.Callback):
    """Evaluates at the end of every chunk: prints, logs to TensorBoard and metrics.jsonl.

    `evaluate_fn(model) -> (metrics, extra)` measures (`evaluate` for sentences, `image_lib.evaluate`
    for images); `extra["samples"]` is a list of sentences or an array of images [N, h, w]."""

    def __init__(self, evaluate_fn, workdir):
        super().__init__()
        self.evaluate_fn = evaluate_fn
        self.workdir = workdir
        self.writer = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard", "validation"))
        self.train_writer = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard", "train"))
        self.last = None

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.model.train_iterations.numpy())
        t = time.time()
        metrics, extra = self.evaluate_fn(self.model)
        metrics["step"] = step
        metrics["eval_seconds"] = time.time() - t
        images = not isinstance(extra["samples"], list)
        with self.train_writer.as_default(step=step):
            for k, v in (logs or {}).items():
                tf.summary.scalar(k, float(v))
        with self.writer.as_default(step=step):
            for k, v in metrics.items():
                if isinstance(v, float):
                    tf.summary.scalar(k, v)
            if images:
                tf.summary.image("samples", np.asarray(extra["samples"], np.float32)[..., None], max_outputs=16)
            else:
                tf.summary.text("samples", tf.constant(extra["samples"]))
        with open(os.path.join(self.workdir, "metrics.jsonl"), "a") as f:
            f.write(json.dumps({**metrics, **{"train_" + k: float(v) for k, v in (logs or {}).items()}}) + "\n")
        headline = (f"nll/pixel={metrics.get('val_rec_loss', float('nan')):.4f} "
                    f"pixel_acc={metrics.get('val_token_acc', float('nan')):.4f}" if images else
                    f"token_acc={metrics.get('val_token_acc', float('nan')):.4f} "
                    f"rec_loss={metrics.get('val_rec_loss', float('nan')):.4f} bleu={metrics['val_bleu']:.2f}")
        logging.info(f"[eval] step {step}: {headline} "
              f"|z~|={metrics['prior_code_norm']:.3f} tr(cov z)={metrics['val_code_cov_trace']:.3f} "
              f"tr(cov z~)={metrics['prior_code_cov_trace']:.3f} "
              f"({metrics['eval_seconds']:.1f}s)")
        for ref, hyp in extra.get("reconstructions", [])[:3]:
            logging.info(f"  [rec] {ref}  ->  {hyp}")
        if "val_transfer_self_bleu" in metrics:
            logging.info(f"  transfer: accuracy={metrics.get('val_transfer_acc', float('nan')):.4f} "
                  f"self-BLEU={metrics['val_transfer_self_bleu']:.2f}")
            for src, out in extra["transfers"][:3]:
                logging.info(f"  [transfer] {src}  ->  {out}")
        for s in ([] if images else extra["samples"][:5]):
            logging.info(f"  [sample] {s}")
        self.last = (metrics, extra)


# -- the whole job ------------------------------------------------------------
def resolve_steps(config, n_train):
    if config.train.steps:
        return int(config.train.steps)
    return max(1, int(math.ceil(config.train.epochs * n_train / config.data.batch_size)))


def train_and_evaluate(config, workdir):
    """Trains `config.model` as configured, resuming from `workdir` if it holds checkpoints.

    Returns the final evaluation metrics (dict).
    """
    from arae_tf.config_base import validate
    validate(config)  # before anything is written
    strategy = make_strategy(config.train.strategy)  # a multi-worker strategy must precede other TF work
    with precision_policy(config):
        if strategy.extended.should_checkpoint:  # False only on the non-chief workers of a cluster
            return _train_and_evaluate(config, workdir, workdir, strategy)
        scratch = tempfile.mkdtemp(prefix="arae_tf_worker_")
        try:
            return _train_and_evaluate(config, workdir, scratch, strategy)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


class _Sentences:
    """The text data of a run: examples, vocabulary, streams and the validation evaluator."""

    def __init__(self, config, workdir, write_dir, given=None):
        """`given`: a warm start's vocabulary file (`prepare_vocabulary`)."""
        self.config, self.write_dir = config, write_dir
        self.train_ex = load_examples(config.data, "train")
        self.valid_ex = validation_order(load_examples(config.data, "valid"), config.seed)
        self.vocab = prepare_vocabulary(config, self.train_ex, workdir, write_dir, given)
        # A warm start's vocabulary is written once its weights are accepted (`save_vocabulary`).
        self.unsaved_vocabulary = given is not None and not os.path.exists(os.path.join(workdir, "vocabulary.txt"))
        d = config.data
        # A pass (train.epochs, per-pass schedules) is over the examples the length policy keeps.
        # Tokenized once: the training and code-fit streams are built from it.
        self.encoded = pipeline.encode_examples(self.train_ex, self.vocab, d.max_len, d.length_policy,
                                                with_sources=True)
        self.n_train = len(self.encoded[0])
        self.vocab_size = len(self.vocab)

    def save_vocabulary(self):
        """Writes a warm start's vocabulary to the workdir (once its weights were accepted)."""
        if self.unsaved_vocabulary:
            os.makedirs(self.write_dir, exist_ok=True)
            self.vocab.save(os.path.join(self.write_dir, "vocabulary.txt"))
            self.unsaved_vocabulary = False

    def digest(self):
        """sha256 of the training examples in order (text, label and dialog context of each)."""
        h = hashlib.sha256()
        for e in self.train_ex:
            h.update(f"{e[0]}\t{e[1]}\t{getattr(e, 'source', '')}\n".encode("utf-8"))
        return h.hexdigest()

    def describe(self):
        within = (f"within data.max_len={self.config.data.max_len}" if self.config.data.length_policy == "filter"
                  else "non-empty")
        kept = f" ({self.n_train} {within}: one pass)" if self.n_train != len(self.train_ex) else ""
        return (f"{len(self.train_ex)} train{kept} / {len(self.valid_ex)} valid sentences, "
                f"vocabulary {len(self.vocab)}")

    def train_stream(self, step):
        """The training stream from iteration `step` (shuffled by pass, the same order on every resume)."""
        config, d = self.config, self.config.data
        return pipeline.make_dataset(self.train_ex, self.vocab, d.batch_size, d.max_len, shuffle=True,
                                     seed=config.seed, bucket=d.bucket, repeat=True, start_step=step,
                                     length_policy=d.length_policy, static_shapes=d.get("static_shapes", False),
                                     encoded=self.encoded)

    def streams(self, model, step):
        """(training stream from `step`, the evaluator's `evaluate_fn`)."""
        config, d = self.config, self.config.data
        train_ds = self.train_stream(step)
        code_fit_ds = (samples_lib.code_fit_dataset(self.train_ex, self.vocab, config, encoded=self.encoded)
                       if model.fits_codes else None)
        valid_ds = pipeline.make_dataset(self.valid_ex, self.vocab, d.batch_size, d.max_len, shuffle=False,
                                         bucket=False, length_policy=d.length_policy)
        classifier = None
        if model.decoder_classes > 1 and config.eval.get("transfer_classifier", True):
            from arae_tf.metrics import classifier as classifier_lib
            classifier = classifier_lib.cached_classifier(os.path.join(self.write_dir, "classifier"), self.train_ex)
        return train_ds, lambda m: evaluate(m, self.vocab, config, valid_ds, code_fit_ds, classifier)


class _Images:
    """The image data of a run (`data.source = "images"`): no vocabulary."""

    def __init__(self, config, workdir, write_dir, given=None):  # given: always None (no vocabulary)
        from arae_tf import image_lib
        self.config = config
        self.train = image_lib.load_split(config, "train")
        self.valid = image_lib.load_split(config, "valid")
        self.vocab, self.n_train, self.vocab_size = None, len(self.train), 0

    def digest(self):
        """sha256 of the training images (their pixel bytes, in order)."""
        return hashlib.sha256(np.ascontiguousarray(self.train).tobytes()).hexdigest()

    def save_vocabulary(self):
        pass  # images have none

    def describe(self):
        return f"{self.n_train} train / {len(self.valid)} valid images of {self.train.shape[1]} pixels"

    def streams(self, model, step):
        from arae_tf import image_lib
        _, train_ds, valid_ds, code_fit = image_lib.datasets(self.config, step, self.train, self.valid)
        return train_ds, lambda m: image_lib.evaluate(m, self.config, valid_ds, code_fit if m.fits_codes else None)


def warm_start_preset(config, workdir):
    """(verified directory, vocabulary file or None for images) of the preset `train.init_from` names,
    or (None, None): where it is empty, or where `workdir` already holds a checkpoint (a resumed run
    continues from its checkpoint). A preset of the other modality or another `data.lowercase` is
    refused here, before anything is read or written."""
    name = config.train.get("init_from", "")
    if not name:
        return None, None
    if latest_checkpoint(workdir)[0]:
        logging.warning(f"[init] {workdir} holds checkpoints: resuming them; train.init_from={name!r} is not read "
                        "again")
        return None, None
    from arae_tf import zoo
    path = zoo.resolve(name)
    vocabulary = zoo.preset_vocabulary(path)
    images = config.data.source == "images"
    if images == (vocabulary is not None):
        raise zoo.PresetError(f"train.init_from: {path} is {'a text' if images else 'an image'} model's preset; "
                              f"this config trains on {'images' if images else 'sentences'}")
    meta = zoo.read_json(os.path.join(path, "metadata.json"))
    lowercase = meta.get("training", {}).get("config", {}).get("data", {}).get("lowercase")
    if lowercase is not None and lowercase != config.data.lowercase:
        raise zoo.PresetError(f"train.init_from={name!r}: the preset was trained with data.lowercase={lowercase}, "
                              f"this config has {config.data.lowercase}: its vocabulary would not read this text "
                              f"the same way; set --config.data.lowercase={lowercase}")
    logging.info(f"[init] warm start from preset {path} (weights stored as {meta.get('dtype', 'float32')}, "
                 f"trained on in float32)")
    return path, vocabulary


def init_from_preset(model, preset, name):
    """Warm start: `model`'s weights (all but its iteration counter, which starts from 0) from the
    preset directory `preset`. A preset of another model or other sizes is refused before any weight
    changes, naming the first weight that differs."""
    from arae_tf import zoo
    kind = zoo.read_json(os.path.join(preset, "model.json")).get("class_name")
    if kind != type(model).__name__:
        raise zoo.PresetError(f"train.init_from={name!r}: {preset} holds a {kind} model; this config builds "
                              f"{type(model).__name__}")
    n = zoo.assign_preset_weights(model, preset, "train.init_from needs a config that builds the preset's model "
                                  "(its sizes are in the preset's metadata.json, training.config)",
                                  skip=("train_iterations", SEED_STATE))
    logging.info(f"[init] {n} weights from preset {preset} (train.init_from={name!r}); iterations count from 0, "
                 f"the vocabulary is the preset's (data.vocab_size and data.min_count are not used)")


def use_exact_softmax(model, step):
    """Makes `model`'s training loss the exact softmax from now on (`train.exact_softmax_from`): the
    backbone's sampled softmax off (its sampler's seed stays, so checkpoints keep their layout) and the
    training step traced again at the next `fit`."""
    model.backbone.sampled_softmax = 0
    model.train_function = None
    logging.info(f"[train] step {step}: the training loss uses the exact softmax from here (train.exact_softmax_from)")


def _train_and_evaluate(config, workdir, write_dir, strategy):
    """`train_and_evaluate`, resuming from `workdir` and writing to `write_dir` (the workdir, except
    on non-chief workers)."""
    keras.utils.set_random_seed(config.seed)
    t0 = time.time()
    preset, given_vocabulary = warm_start_preset(config, workdir)
    data = (_Images if config.data.source == "images" else _Sentences)(config, workdir, write_dir,
                                                                      given_vocabulary)
    vocab = data.vocab
    total = resolve_steps(config, data.n_train)
    steps_per_pass = int(math.ceil(data.n_train / config.data.batch_size))  # what "-1: one pass" means
    chunk = min(config.train.eval_every, total)
    rounded = int(math.ceil(total / chunk)) * chunk  # whole chunks: every run ends on an evaluation and a checkpoint
    logging.info(f"[data] {data.describe()}, {rounded} iterations of batch {config.data.batch_size}"
                 f"{f' ({total} rounded up to whole evaluation intervals)' if rounded != total else ''}"
                 f" = {rounded * config.data.batch_size / data.n_train:.1f} passes ({time.time() - t0:.1f}s)")

    with strategy.scope():
        model = build_model(config, data.vocab_size, steps_per_pass=steps_per_pass)
    configured = learning_rates(model)
    data_digest = data.digest()
    step, ckpt = resume(model, workdir, vocab, data_digest)
    if ckpt:
        step = int(model.train_iterations.numpy())
        logging.info(f"[resume] from {ckpt} at step {step}")
        restore_learning_rates(model, configured)
    elif preset is not None:
        init_from_preset(model, preset, config.train.init_from)
    data.save_vocabulary()  # a warm start's, once accepted: a refused one leaves the workdir as it was
    record_run(write_dir, {"config": config.to_dict(), "command": sys.argv,
                           "started": time.strftime("%Y-%m-%d %H:%M:%S")})

    d = config.data
    train_ds, evaluate_fn = data.streams(model, step)
    epochs, total = rounded // chunk, rounded
    evaluator = Evaluator(evaluate_fn, write_dir)
    progress = Progress(min(config.train.log_every, chunk), total, d.batch_size, step,
                        unit="img" if vocab is None else "sent")
    guard = DivergenceGuard(min(config.train.log_every, chunk), write_dir)
    callbacks = [progress, guard, evaluator, Checkpointer(write_dir, config.train.keep_checkpoints,
                                                               vocab.digest() if vocab is not None else None,
                                                               data_digest)]
    decay = lr_decay_callback(config, steps_per_pass, configured)
    if decay is not None:
        callbacks.insert(0, decay)
    if step < total:
        t = time.time()
        switch = config.train.get("exact_softmax_from", 0)  # > 0 for text models only (validated)
        bounds = [step] + [s for s in (switch,) if step < s < total] + [total]
        for start, end in zip(bounds, bounds[1:]):
            if switch and start >= switch:  # the exact-softmax finish (or a resume inside it)
                use_exact_softmax(model, start)
                if start > step:  # a second `fit` starts its stream afresh: from here
                    train_ds = data.train_stream(start)
            model.fit(train_ds, steps_per_epoch=chunk, epochs=end // chunk, initial_epoch=start // chunk,
                      callbacks=callbacks, verbose=0, shuffle=False)  # the stream is shuffled by pass
        done = int(model.train_iterations.numpy()) - step
        wall = time.time() - t
        unit = "images" if vocab is None else "sentences"
        logging.info(f"[train] {done} iterations in {wall:.1f}s wall; training-only throughput "
              f"{done * d.batch_size / max(progress.train_seconds, 1e-9):.0f} {unit}/s "
              f"(logged intervals), {done * d.batch_size / wall:.0f} {unit}/s including evaluation")
    if evaluator.last is None or evaluator.last[0]["step"] != int(model.train_iterations.numpy()):
        evaluator.set_model(model)
        evaluator.on_epoch_end(epochs)
    metrics, extra = evaluator.last
    save_final(model, vocab, config, write_dir, metrics, extra["samples"])
    return metrics
