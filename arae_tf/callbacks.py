"""The training loop's Keras callbacks besides evaluation and checkpointing: progress lines,
the divergence guard, the learning-rate schedule (`optim.lr_decay*`) and the optimizer learning
rates a resumed run takes from its config."""

import math
import time

from absl import logging

import keras

from arae_tf.workdir import TrainingDiverged, diverged_message


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training at the first logging interval whose logged losses are not finite.

    The logged values are running means over the current chunk, so a NaN or inf anywhere in the
    chunk shows at the next interval. Raises `TrainingDiverged` naming the step, the losses and the
    newest checkpoint (which stays, as does every earlier one): the fit loop ends before the chunk's
    checkpoint or evaluation, so nothing non-finite is written."""

    def __init__(self, every, workdir):
        super().__init__()
        self.every, self.workdir = every, workdir

    def on_train_batch_end(self, batch, logs=None):
        if (batch + 1) % self.every:
            return
        bad = {k: float(v) for k, v in (logs or {}).items() if not math.isfinite(float(v))}
        if bad:
            raise TrainingDiverged(diverged_message(self.workdir, int(self.model.train_iterations.numpy()),
                                                     f"non-finite training losses {bad}"))


class Progress(keras.callbacks.Callback):
    """One line every `every` iterations: step/total, examples/s (`unit`: "sent", "img"), ETA, training metrics."""

    def __init__(self, every, total, batch_size, start_step, unit="sent"):
        super().__init__()
        self.every, self.total, self.batch_size = every, total, batch_size
        self.start_step = start_step
        self.unit = unit
        self.t0, self.train_seconds = None, 0.0

    def on_train_begin(self, logs=None):  # the first `fit` only: a run may call it twice (train.exact_softmax_from)
        if self.t0 is None:
            self.t0 = time.time()

    def on_epoch_begin(self, epoch, logs=None):
        # Evaluation runs between chunks: restart the clock so sentences/s is training only.
        self.t_last = time.time()
        self.s_last = int(self.model.train_iterations.numpy())

    def on_train_batch_end(self, batch, logs=None):
        it = int(self.model.train_iterations.numpy()) if (batch + 1) % self.every == 0 else None
        if it is None:
            return
        now = time.time()
        self.train_seconds += now - self.t_last
        rate = (it - self.s_last) * self.batch_size / max(now - self.t_last, 1e-9)
        eta = (self.total - it) * (now - self.t0) / max(it - self.start_step, 1)
        shown = " ".join(f"{k}={float(v):.4g}" for k, v in sorted((logs or {}).items()))
        logging.info(f"[train] step {it}/{self.total} {100.0 * it / self.total:.1f}% | {rate:.0f} {self.unit}/s | "
              f"eta {eta / 60:.1f} min | {shown}")
        self.t_last, self.s_last = now, it


OPTIMIZER_ATTRIBUTES = ("optimizer", "critic_optimizer", "generator_optimizer", "encoder_optimizer",
                        "classifier_optimizer")


def learning_rates(model):
    """{attribute: learning rate} of the model's optimizers (constant rates only)."""
    out = {}
    for name in OPTIMIZER_ATTRIBUTES:
        opt = getattr(model, name, None)
        if opt is not None and hasattr(opt.learning_rate, "assign"):
            out[name] = float(opt.learning_rate.numpy())
    return out


def restore_learning_rates(model, configured):
    """Keras stores each optimizer's learning rate with its state, so a checkpoint would bring back the
    rate it was written with; the config is the record of this run, so its rates apply (printed
    where they differ from the checkpoint's)."""
    for name, lr in configured.items():
        opt = getattr(model, name)
        old = float(opt.learning_rate.numpy())
        if old != lr:
            opt.learning_rate.assign(lr)
            logging.info(f"[resume] {name} learning rate {old:g} (checkpoint) -> {lr:g} (config)")


class LearningRateDecay(keras.callbacks.Callback):
    """The autoencoder optimizer's rate as a step function of the iteration (`optim.lr_decay*`):
    `max(base * decay ** ((iteration - start) // every), lr_min)` from iteration `start` on (`base`
    before it), set before each iteration. `start` > 0 anneals a continued run from its own rate.

    A function of the iteration alone, so a resumed run continues the schedule exactly (the rate
    stored in the checkpoint is overwritten at the next iteration). `model.optimizer` (the
    autoencoder's, the one of AE/WAE/VAE, and ARAE's adversarial encoder step unless it has its own,
    `optim.encoder_adv_optimizer="sgd"`) decays. ARAE's critic, generator, classifier and own
    adversarial-encoder optimizers keep their rates unless `others` ({optimizer attribute: its
    configured rate}, `optim.lr_decay_adversaries`) names them: those are scaled by the same factor
    (the autoencoder's rate over `base`), so an annealed ARAE keeps the balance between its players.
    Each change is printed."""

    def __init__(self, base, decay, every, lr_min, start=0, others=None):
        super().__init__()
        if every < 1:
            raise ValueError(f"optim.lr_decay_every must be >= 1 here, got {every}")
        if start < 0:
            raise ValueError(f"optim.lr_decay_start must be >= 0, got {start}")
        self.base, self.decay, self.every, self.lr_min = float(base), float(decay), int(every), float(lr_min)
        self.start = int(start)
        self.others = dict(others or {})
        self.it = None

    def rate(self, iteration):
        return max(self.base * self.decay ** (max(iteration - self.start, 0) // self.every), self.lr_min)

    def on_train_begin(self, logs=None):
        self.it = int(self.model.train_iterations.numpy())
        self._set(self.it)

    def on_train_batch_begin(self, batch, logs=None):
        if self.it >= self.start and (self.it - self.start) % self.every == 0:
            self._set(self.it)

    def on_train_batch_end(self, batch, logs=None):
        self.it += 1

    def _set(self, iteration):
        lr = self.rate(iteration)
        rates = {"optimizer": lr, **{name: configured * lr / self.base for name, configured in self.others.items()}}
        for name, rate in rates.items():
            opt = getattr(self.model, name)
            if not math.isclose(float(opt.learning_rate.numpy()), rate, rel_tol=1e-6):  # a float32 variable
                opt.learning_rate.assign(rate)
                logging.info(f"[lr] step {iteration}: {name} learning rate {rate:.4g}")


def lr_decay_callback(config, batches_per_pass, configured=None):
    """The `LearningRateDecay` the config asks for, or None (`optim.lr_decay` 1 or absent).
    `configured`: {optimizer attribute: configured rate} of the model (`learning_rates`), whose
    optimizers other than the autoencoder's decay with it where `optim.lr_decay_adversaries` is set."""
    o = config.optim
    if o.get("lr_decay", 1.0) == 1.0:
        return None
    every = o.lr_decay_every if o.lr_decay_every > 0 else batches_per_pass
    others = ({k: v for k, v in (configured or {}).items() if k != "optimizer"}
              if o.get("lr_decay_adversaries", False) else None)
    return LearningRateDecay(o.ae_lr, o.lr_decay, every, o.lr_min, o.get("lr_decay_start", 0), others)
