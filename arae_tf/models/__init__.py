"""Autoencoder models and the registry that builds them from a config by name.

    model = build_model(config, vocab_size)   # config.model names the registered builder

The backbone (the autoencoder the model regularises) follows the data: sentences get a
`SentenceAutoencoderBackbone`, binarized images (`data.source = "images"`) an
`ImageAutoencoderBackbone` (vocab_size is then 0 and unused).
"""

import keras

from arae_tf.models.ae import AE
from arae_tf.models.arae import ARAE
from arae_tf.models.backbone import SentenceAutoencoderBackbone
from arae_tf.models.image_backbone import ImageAutoencoderBackbone
from arae_tf.models.transfer import ARAETransfer
from arae_tf.models.wae import VAE, WAE

_BUILDERS = {}


def register_model(name):
    """Decorator registering `fn(config, vocab_size, **context) -> compiled model` under `name`.

    `context` holds what the data decides and the config cannot: `steps_per_pass` (iterations in one
    pass over the training data; 0 where unknown, e.g. when loading a trained model)."""
    def wrap(fn):
        if name in _BUILDERS:
            raise KeyError(f"model {name!r} is already registered")
        _BUILDERS[name] = fn
        return fn
    return wrap


def registered_models():
    return sorted(_BUILDERS)


def build_model(config, vocab_size, steps_per_pass=0):
    """Builds and compiles the model named by `config.model`. `steps_per_pass`: iterations in one pass
    over the training data, for schedules a config counts in passes (`vae.word_dropout_epoch_steps`
    -1); the config itself is never changed."""
    if config.model not in _BUILDERS:
        raise KeyError(f"unknown model {config.model!r} (config field 'model'); registered: {registered_models()}. "
                       "Models register themselves when arae_tf.models is imported.")
    return _BUILDERS[config.model](config, vocab_size, steps_per_pass=steps_per_pass)


def _backbone(config, vocab_size, num_decoders=1, stochastic=False):
    b = config.backbone
    if config.data.source == "images":
        if config.model not in ("ae", "arae") or num_decoders != 1 or stochastic:
            raise ValueError(f"model {config.model!r} has no image version: images train models 'ae' and 'arae'")
        i = config.image
        return ImageAutoencoderBackbone(i.input_dim, image_shape=tuple(i.image_shape),
                                        encoder_hidden=tuple(i.encoder_hidden), decoder_hidden=tuple(i.decoder_hidden),
                                        latent_dim=b.latent_dim, normalize_code=b.normalize_code)
    return SentenceAutoencoderBackbone(vocab_size, embed_dim=b.embed_dim, hidden_dim=b.hidden_dim,
                                       latent_dim=b.latent_dim, normalize_code=b.normalize_code,
                                       hidden_init=b.hidden_init, init_range=b.init_range or None,
                                       num_decoders=num_decoders, reverse_input=b.reverse_input,
                                       stochastic=stochastic, sampled_softmax=b.sampled_softmax,
                                       decoder_hidden_dim=b.decoder_hidden_dim, bidirectional=b.bidirectional,
                                       dropout=b.get("dropout", 0.0))


def _ae_optimizer(o):
    if o.ae_optimizer == "sgd":
        return keras.optimizers.SGD(o.ae_lr, global_clipnorm=o.ae_clipnorm or None)
    if o.ae_optimizer == "adam":
        return keras.optimizers.Adam(o.ae_lr, global_clipnorm=o.ae_clipnorm or None)
    raise ValueError(f"config field optim.ae_optimizer must be 'sgd' or 'adam', got {o.ae_optimizer!r}")


def _step_options(config):
    """`compile` arguments for how the train step runs: XLA, or eagerly (op by op, no tf.function)."""
    return dict(jit_compile=config.train.jit_compile, run_eagerly=config.train.get("run_eagerly", False))


def _compile_single(model, config):
    """Compiles a one-optimizer model (AE, WAE, VAE) with the config's autoencoder optimizer."""
    model.compile(optimizer=_ae_optimizer(config.optim), **_step_options(config))
    return model


def _section_kwargs(section, rename=None, drop=()):
    """A config section's fields as constructor keyword arguments: a section field is the argument
    of the same name (`rename` maps the few that differ; `drop` leaves fields to other code)."""
    rename = rename or {}
    return {rename.get(k, k): (tuple(v) if isinstance(v, list) else v) for k, v in section.items() if k not in drop}


def _noise_kwargs(config):
    return dict(_section_kwargs(config.noise, {"anneal": "noise_anneal", "anneal_every": "noise_anneal_every"}),
                seed=config.seed)


@register_model("ae")
def _build_ae(config, vocab_size, **context):
    return _compile_single(AE(_backbone(config, vocab_size), **_section_kwargs(config.ae), **_noise_kwargs(config)),
                           config)


def _arae_kwargs(config):
    return dict(_section_kwargs(config.arae), **_noise_kwargs(config))


def _arae_optimizers(o):
    gan = lambda: keras.optimizers.Adam(o.gan_lr, beta_1=o.gan_beta1)
    if o.encoder_adv_optimizer == "ae":
        enc = None
    elif o.encoder_adv_optimizer == "sgd":
        enc = keras.optimizers.SGD(o.encoder_adv_lr, global_clipnorm=o.ae_clipnorm or None)
    else:
        raise ValueError(f"config field optim.encoder_adv_optimizer must be 'ae' or 'sgd', got {o.encoder_adv_optimizer!r}")
    return dict(ae_optimizer=_ae_optimizer(o), critic_optimizer=gan(), generator_optimizer=gan(), encoder_optimizer=enc)


@register_model("arae")
def _build_arae(config, vocab_size, **context):
    model = ARAE(_backbone(config, vocab_size), **_arae_kwargs(config))
    model.compile(**_arae_optimizers(config.optim), **_step_options(config))
    return model


@register_model("arae_transfer")
def _build_arae_transfer(config, vocab_size, **context):
    t, o, c = config.transfer, config.optim, config.data.num_classes
    if c < 2:
        raise ValueError(f"model 'arae_transfer' needs labelled data: config field data.num_classes is {c}, must be >= 2")
    model = ARAETransfer(_backbone(config, vocab_size, num_decoders=c), num_classes=c, **_section_kwargs(t),
                         **_arae_kwargs(config))
    model.compile(**_arae_optimizers(o), classifier_optimizer=keras.optimizers.Adam(o.classifier_lr, beta_1=o.gan_beta1),
                  **_step_options(config))
    return model


_WORD_DROPOUT_FIELDS = ("word_dropout", "word_dropout_step", "word_dropout_epoch_steps")


def _word_dropout_kwargs(config, steps_per_pass=0):
    v = config.vae
    every = v.word_dropout_epoch_steps if v.word_dropout_epoch_steps >= 0 else steps_per_pass  # -1: one pass
    return dict(word_dropout=v.word_dropout, word_dropout_step=v.word_dropout_step, word_dropout_every=every,
                seed=config.seed)


@register_model("wae")
def _build_wae(config, vocab_size, steps_per_pass=0, **context):
    w = config.wae
    model = WAE(_backbone(config, vocab_size, stochastic=w.stochastic), **_section_kwargs(w, drop=("stochastic",)),
                **_word_dropout_kwargs(config, steps_per_pass))
    return _compile_single(model, config)


@register_model("vae")
def _build_vae(config, vocab_size, steps_per_pass=0, **context):
    v = config.vae
    model = VAE(_backbone(config, vocab_size, stochastic=True), **_section_kwargs(v, drop=_WORD_DROPOUT_FIELDS),
                **_word_dropout_kwargs(config, steps_per_pass))
    return _compile_single(model, config)


__all__ = ["VAE", "WAE", "AE", "ARAE", "ARAETransfer", "ImageAutoencoderBackbone", "SentenceAutoencoderBackbone", "build_model", "register_model", "registered_models"]
