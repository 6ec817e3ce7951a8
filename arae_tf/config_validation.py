"""`validate(config)`: every field training reads, checked before anything is written; a
`ConfigError` names each bad field, its value and what it must be (all of them at once)."""

import math
import os

class ConfigError(ValueError):
    """A config field holds a value training cannot use; the message names the field."""


def _positive_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _nonnegative_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _rate(v):
    return _number(v) and v > 0


def _nonnegative(v):
    return _number(v) and v >= 0


def _one_of(*options):
    check = lambda v: v in options  # noqa: E731
    check.__doc__ = "one of " + ", ".join(repr(o) for o in options)
    return check


_CHECKS = [
    # (field, check, what it must be)
    ("seed", lambda v: _nonnegative_int(v) and v < 2 ** 31, "an integer in [0, 2^31)"),
    ("data.source", _one_of("files", "tfds", "builtin", "images", "documents"), None),
    ("data.document_valid_every", lambda v: isinstance(v, int) and v >= 2, "an integer >= 2"),
    ("data.batch_size", _positive_int, "an integer >= 1"),
    ("data.max_len", _positive_int, "an integer >= 1"),
    ("data.vocab_size", lambda v: isinstance(v, int) and v >= 5, "an integer >= 5 (the 4 specials and a word)"),
    ("data.min_count", _positive_int, "an integer >= 1"),
    ("data.num_classes", _positive_int, "an integer >= 1"),
    ("data.length_policy", _one_of("filter", "truncate"), None),
    ("data.builtin_train_size", _positive_int, "an integer >= 1"),
    ("data.builtin_valid_size", _positive_int, "an integer >= 1"),
    ("data.builtin_task", _one_of("sentences", "dialog"), None),
    ("image.input_dim", _positive_int, "an integer >= 1"),
    ("image.image_shape", lambda v: len(v) == 2 and all(_positive_int(h) for h in v), "(height, width), each >= 1"),
    ("image.encoder_hidden", lambda v: all(_positive_int(h) for h in v), "layer sizes >= 1"),
    ("image.decoder_hidden", lambda v: all(_positive_int(h) for h in v), "layer sizes >= 1"),
    ("backbone.embed_dim", _positive_int, "an integer >= 1"),
    ("backbone.hidden_dim", _positive_int, "an integer >= 1"),
    ("backbone.latent_dim", _positive_int, "an integer >= 1"),
    ("backbone.init_range", _nonnegative, "a number >= 0"),
    ("backbone.sampled_softmax", _nonnegative_int, "an integer >= 0 (0: exact softmax)"),
    ("backbone.dropout", lambda v: _number(v) and 0 <= v < 1, "a rate in [0, 1)"),
    ("noise.code_noise", _nonnegative, "a number >= 0"),
    ("noise.anneal", lambda v: _number(v) and 0 < v <= 1, "a number in (0, 1]"),
    ("noise.anneal_every", _positive_int, "an integer >= 1"),
    ("arae.prior", _one_of("learned", "gaussian", "sphere"), None),
    ("arae.noise_dim", _positive_int, "an integer >= 1"),
    ("arae.generator_hidden", lambda v: all(_positive_int(h) for h in v), "layer sizes >= 1"),
    ("arae.critic_hidden", lambda v: all(_positive_int(h) for h in v), "layer sizes >= 1"),
    ("arae.critic_steps", _positive_int, "an integer >= 1"),
    ("arae.lipschitz", _one_of("gp", "clip"), None),
    ("arae.gp_weight", _nonnegative, "a number >= 0"),
    ("arae.clip_value", _rate, "a number > 0"),
    ("arae.adv_weight", _nonnegative, "a number >= 0"),
    ("transfer.classifier_hidden", lambda v: all(_positive_int(h) for h in v), "layer sizes >= 1"),
    ("transfer.class_weight", _nonnegative, "a number >= 0"),
    ("transfer.adversary", _one_of("wrong", "uniform"), None),
    ("ae.prior", _one_of("fitted", "normal"), None),
    ("wae.mmd_weight", _nonnegative, "a number >= 0"),
    ("wae.kl_weight", _nonnegative, "a number >= 0"),
    ("wae.kernel", _one_of("imq", "rbf"), None),
    ("wae.prior_var", _rate, "a number > 0"),
    ("vae.kl_weight", _nonnegative, "a number >= 0"),
    ("vae.annealing", _one_of("sigmoid", "constant"), None),
    ("vae.anneal_rate", _nonnegative, "a number >= 0"),
    ("vae.anneal_midpoint", _nonnegative, "a number >= 0"),
    ("vae.anneal_check_every", _positive_int, "an integer >= 1"),
    ("vae.word_dropout", lambda v: _number(v) and 0 <= v < 1, "a rate in [0, 1)"),
    ("vae.word_dropout_step", _nonnegative, "a number >= 0"),
    ("vae.word_dropout_epoch_steps", lambda v: isinstance(v, int) and v >= -1, "an integer >= -1"),
    ("optim.ae_optimizer", _one_of("sgd", "adam"), None),
    ("optim.ae_lr", _rate, "a finite number > 0"),
    ("optim.ae_clipnorm", _nonnegative, "a number >= 0 (0: no clipping)"),
    ("optim.encoder_adv_optimizer", _one_of("ae", "sgd"), None),
    ("optim.encoder_adv_lr", _rate, "a finite number > 0"),
    ("optim.gan_lr", _rate, "a finite number > 0"),
    ("optim.gan_beta1", lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    ("optim.classifier_lr", _rate, "a finite number > 0"),
    ("optim.lr_decay", lambda v: _number(v) and 0 < v <= 1, "a number in (0, 1] (1: no decay)"),
    ("optim.lr_decay_every", lambda v: isinstance(v, int) and (v >= 1 or v == -1),
     "an integer >= 1, or -1 for one pass over the training data"),
    ("optim.lr_min", _nonnegative, "a number >= 0"),
    ("optim.lr_decay_start", _nonnegative_int, "an integer >= 0"),
    ("optim.lr_decay_adversaries", lambda v: isinstance(v, bool), "True or False"),
    ("transfer.freeze_encoder", lambda v: isinstance(v, bool), "True or False"),
    ("transfer.backtranslation", _nonnegative, "a number >= 0"),
    ("transfer.backtranslation_contrast", lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    ("train.steps", _nonnegative_int, "an integer >= 0 (0: derived from train.epochs)"),
    ("train.epochs", _rate, "a number > 0"),
    ("train.log_every", _positive_int, "an integer >= 1"),
    ("train.eval_every", _positive_int, "an integer >= 1"),
    ("train.exact_softmax_from", _nonnegative_int, "an integer >= 0 (0: never)"),
    ("train.keep_checkpoints", _positive_int, "an integer >= 1"),
    ("train.run_eagerly", lambda v: isinstance(v, bool), "True or False"),
    ("train.mixed_precision", _one_of("float32", "mixed_bfloat16"), None),
    ("train.strategy", _one_of("default", "mirrored", "multiworker", "tpu"), None),
    ("train.init_from", lambda v: isinstance(v, str), "a preset name or directory ('' for none)"),
    ("eval.max_batches", _nonnegative_int, "an integer >= 0 (0: all)"),
    ("eval.bleu_sentences", _positive_int, "an integer >= 1"),
    ("eval.num_samples", _nonnegative_int, "an integer >= 0"),
    ("eval.decode_max_len", _positive_int, "an integer >= 1"),
    ("eval.code_fit_batches", _positive_int, "an integer >= 1"),
]


def _field(c, dotted):
    for part in dotted.split("."):
        if part not in c:
            return _MISSING
        c = c[part]
    return c


_MISSING = object()


def _section_problems(config):
    """A built-in model's config holds exactly the sections that model reads (`config_base.set_model`)."""
    from arae_tf.config_base import MODEL_SECTIONS, SECTIONS
    model = config.get("model")
    wanted = MODEL_SECTIONS.get(model)
    if wanted is None:
        return []
    out = []
    for s in SECTIONS:
        if s in config and s not in wanted:
            out.append(f"section {s}: model {model!r} does not read it (a config holds its model's sections only; "
                       f"config_base.set_model(c, {model!r}) makes it so)")
        elif s in wanted and s not in config:
            out.append(f"section {s}: missing, and model {model!r} reads it (config_base.set_model adds it)")
    return out


def validate(config):
    """Checks every field training reads; raises `ConfigError` naming each bad field, its value and
    what it must be (all of them at once). Writes nothing, builds nothing: `train_and_evaluate` calls
    it before it touches the workdir. Fields a config does not have (older configs) are skipped."""
    from arae_tf.models import registered_models
    problems = []
    if config.get("model") not in registered_models():
        problems.append(f"model = {config.get('model')!r}: must be a registered model, one of {registered_models()}")
    problems += _section_problems(config)
    for name, check, must in _CHECKS:
        value = _field(config, name)
        if value is _MISSING:
            continue
        try:
            ok = check(value)
        except TypeError:
            ok = False
        if not ok:
            problems.append(f"{name} = {value!r}: must be {must or check.__doc__}")
    d = config.data
    if d.source == "files":
        for split in ("train", "valid"):
            files = d.get(f"{split}_files") or ()
            if not files:
                problems.append(f"data.{split}_files is empty: data.source 'files' needs at least one file")
        for split in ("train", "valid", "test", "train_exclude"):
            for path in d.get(f"{split}_files") or ():
                if not os.path.isfile(path):
                    problems.append(f"data.{split}_files: {path} is not a file")
        if d.label_column < 0 and d.train_files and len(d.train_files) != d.num_classes:
            problems.append(f"data.num_classes = {d.num_classes}: data.train_files has {len(d.train_files)} "
                            f"files, one per class (or set data.label_column)")
    if d.source == "documents":
        if not d.train_files:
            problems.append("data.train_files is empty: data.source 'documents' needs a *.text.txt file")
        for path in tuple(d.train_files) + tuple(d.get("test_files") or ()):
            label = path[: -len(".text.txt")] + ".label.txt" if path.endswith(".text.txt") else None
            if label is None:
                problems.append(f"data.train_files/test_files: {path} must be named *.text.txt (labels in *.label.txt)")
            elif not os.path.isfile(path) or not os.path.isfile(label):
                problems.append(f"data.train_files/test_files: {path} or {label} is not a file")
        if len(d.get("class_names") or ()) != d.num_classes or d.num_classes < 2:
            problems.append(f"data.class_names = {tuple(d.get('class_names') or ())!r}: one name per class, "
                            f"data.num_classes ({d.num_classes}) of them, at least 2")
    if d.source == "images":
        if not d.get("image_file"):
            problems.append("data.image_file is empty: data.source 'images' needs an .npz or .amat[.gz] file")
        elif d.image_file.endswith((".amat", ".amat.gz")) and "{split}" not in d.image_file:
            problems.append(f"data.image_file = {d.image_file!r}: an .amat file holds one split; name the files "
                            "with {split} (e.g. binarized_mnist_{split}.amat.gz)")
        elif not os.path.isfile(d.image_file.replace("{split}", "train")):
            problems.append(f"data.image_file: {d.image_file.replace('{split}', 'train')} is not a file")
        if "image" not in config:
            problems.append("section image: missing, and data.source 'images' reads it (config_base.use_images adds it)")
        elif _field(config, "image.input_dim") is not _MISSING:
            i = config.image
            if len(i.image_shape) == 2 and all(_positive_int(h) for h in i.image_shape) and \
                    i.image_shape[0] * i.image_shape[1] != i.input_dim:
                problems.append(f"image.image_shape = {tuple(i.image_shape)!r}: height * width must be "
                                f"image.input_dim ({i.input_dim})")
        if config.get("model") not in ("ae", "arae"):
            problems.append(f"model = {config.get('model')!r}: images train models 'ae' and 'arae' only")
    if d.source != "files" and d.get("train_exclude_files"):
        problems.append(f"data.train_exclude_files: data.source {d.source!r} does not read it (only 'files' does)")
    if d.source != "images" and "image" in config:
        problems.append(f"section image: data.source {d.source!r} does not read it (only data.source 'images' does)")
    if d.source == "tfds" and not d.get("tfds_name"):
        problems.append("data.tfds_name is empty: data.source 'tfds' needs a dataset name")
    if _field(config, "transfer.freeze_encoder") is True:
        weights = {"transfer.class_weight": _field(config, "transfer.class_weight"),
                   "arae.adv_weight": _field(config, "arae.adv_weight")}
        moving = {k: v for k, v in weights.items() if v is not _MISSING and v != 0}
        if moving:
            problems.append("transfer.freeze_encoder = True: no step may move the encoder, so "
                            + " and ".join(f"{k} (now {v!r})" for k, v in moving.items()) + " must be 0")
    b = config.backbone
    if _nonnegative_int(b.sampled_softmax) and isinstance(d.vocab_size, int) and b.sampled_softmax >= d.vocab_size:
        problems.append(f"backbone.sampled_softmax = {b.sampled_softmax}: must be below data.vocab_size "
                        f"({d.vocab_size})")
    switch = _field(config, "train.exact_softmax_from")
    if switch is not _MISSING and _nonnegative_int(switch) and switch > 0:
        if not (_nonnegative_int(b.sampled_softmax) and b.sampled_softmax > 0):
            problems.append(f"train.exact_softmax_from = {switch}: the run uses the exact softmax already "
                            "(backbone.sampled_softmax = 0); it switches from the sampled one")
        every = config.train.eval_every
        if _positive_int(every) and switch % every:
            problems.append(f"train.exact_softmax_from = {switch}: must be a multiple of train.eval_every ({every})")
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    return config
