"""The base experiment config; experiment files in `configs/` start from it and override fields.

Every field can be overridden on the command line: `--config.train.steps=100`.
"""

import os

import ml_collections

from arae_tf.config_validation import ConfigError, validate  # noqa: F401 (re-exported: the checks live there)


def shared_data_dir(config_file, dataset):
    """`$ARAE_TF_DATA_DIR/<dataset>` where that variable is set, else `<repo>/../shared/data/<dataset>`
    for a config file in `<repo>/configs/` (a checkout beside the shared data)."""
    if os.environ.get("ARAE_TF_DATA_DIR"):
        return os.path.join(os.environ["ARAE_TF_DATA_DIR"], dataset)
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(config_file)), "..", "..", "shared", "data",
                                         dataset))


def base_config(model="arae"):
    """The defaults of every field, with the sections of `model` (`set_model`)."""
    c = ml_collections.ConfigDict()
    c.model = model  # a registered model name: arae_tf.models.registered_models()
    c.seed = 0

    c.data = d = ml_collections.ConfigDict()
    d.source = "files"        # "files" | "tfds" | "builtin" | "images" (binarized images: `use_images`) |
    #                           "documents" (labelled documents split into sentences: `use_documents`)
    d.builtin_task = "sentences"  # source "builtin": "sentences" (synthetic.generate) | "dialog" (context -> reply pairs)
    d.train_files = ()        # one file per class (label = index), or one file
    d.valid_files = ()
    d.test_files = ()         # used by `python -m arae_tf.evaluate` (falls back to valid_files)
    d.train_exclude_files = ()  # training sentences found in any tab-separated field of these files are left out
    #                             (e.g. ARAE Table 5's labelled test pairs: ../shared/data/snli_nli/test.tsv)
    d.label_column = -1       # >= 0: labels from this tab-separated column instead of the file index
    d.source_column = -1      # >= 0: encoder-decoder data, the encoder reads this tab-separated column (dialog context)
    d.text_column = -1
    d.num_classes = 1
    d.tfds_name = ""          # source "tfds": e.g. "snli", "yelp_polarity_reviews"
    d.tfds_data_dir = ""
    d.tfds_train_split = "train"
    d.tfds_valid_split = "validation"
    d.tfds_test_split = "test"
    d.builtin_train_size = 20000  # source "builtin": the synthetic corpus
    d.builtin_valid_size = 1000
    d.class_names = ()        # source "documents": the class names of the *.label.txt files, in label order
    d.document_valid_every = 10  # source "documents": every n-th training document validates
    d.image_file = ""         # source "images": .npz with uint8 arrays train/valid/test [N, n] of 0/1 (or .amat[.gz])
    d.max_len = 15            # words, bos/eos not counted
    d.length_policy = "filter"
    d.vocab_size = 30000      # at most, specials included
    d.min_count = 1
    d.lowercase = True
    d.batch_size = 64
    d.bucket = True
    d.static_shapes = False   # True: every training batch [batch_size, max_len + 2] (TPU)

    c.backbone = b = ml_collections.ConfigDict()
    b.embed_dim = 128
    b.hidden_dim = 128
    b.latent_dim = 128
    b.normalize_code = True
    b.hidden_init = False
    b.decoder_hidden_dim = 0  # > 0: the decoder LSTMs' size (0: hidden_dim)
    b.bidirectional = False   # the encoder also reads backwards; the code comes from both final states
    b.init_range = 0.0        # > 0: U(-r, r) init as the reference code (0.1)
    b.reverse_input = False   # the encoder reads each sentence backwards (no faster on Yelp: docs/arae_yelp_training_curve.md)
    b.sampled_softmax = 0     # > 0: training reconstruction loss over the target + this many sampled words
    b.dropout = 0.0           # > 0: dropout on word embeddings and decoder outputs in training (not in the papers)
    #                           (evaluation and decoding stay exact; docs/benchmarks.md, time to quality)

    c.optim = o = ml_collections.ConfigDict()
    o.ae_optimizer = "sgd"
    o.ae_lr = 1.0
    o.ae_clipnorm = 1.0
    o.encoder_adv_optimizer = "ae"  # "ae": the autoencoder's optimizer (paper) | "sgd": own SGD
    o.encoder_adv_lr = 1.0
    o.gan_lr = 1e-4
    o.gan_beta1 = 0.5
    o.classifier_lr = 1e-4
    o.lr_decay = 1.0          # the autoencoder optimizer's rate is multiplied by this every lr_decay_every
    o.lr_decay_every = -1     # iterations (-1: one pass over the training data); 1.0 above: no decay
    o.lr_min = 0.0            # the decayed rate never goes below this
    o.lr_decay_start = 0      # iteration the decay counts from (the rate is ae_lr before it; > 0: anneal a continued run)
    o.lr_decay_adversaries = False  # True: ARAE's critic, generator, classifier and adversarial-encoder
    #                                 rates decay by the same factor as the autoencoder's (an annealed ARAE)

    c.train = t = ml_collections.ConfigDict()
    t.steps = 0               # iterations; 0: derived from epochs
    t.epochs = 1.0            # passes over the training examples the length policy keeps (when steps == 0)
    t.log_every = 100
    t.eval_every = 1000       # also the checkpoint interval
    t.keep_checkpoints = 2
    t.jit_compile = False
    t.run_eagerly = False     # True: the train step runs op by op, without tf.function (debugging; for tiny models
    #                           and a few steps also faster, as nothing is traced; several times slower at real sizes)
    t.mixed_precision = "float32"  # "float32" | "mixed_bfloat16": LSTMs, embeddings and vocabulary projection in
    #                                bfloat16 (AMX/AVX-512 BF16 CPUs, Ampere+ GPUs, TPUs); softmax, codes, GAN MLPs and
    #                                variables float32. No float16 (it would need loss scaling in the custom steps).
    t.strategy = "default"    # "default" | "mirrored" | "multiworker" | "tpu"
    t.init_from = ""          # warm start: a zoo preset (name or directory) whose weights and vocabulary a new
    #                           run starts from (fine-tuning); ignored once the workdir holds checkpoints
    t.exact_softmax_from = 0  # > 0: from this iteration on (a multiple of eval_every) the training loss uses the
    #                           exact softmax instead of backbone.sampled_softmax: the sampled softmax's speed, then
    #                           a finish that wins back its cost in quality (docs/benchmarks.md, session 32)

    c.eval = e = ml_collections.ConfigDict()
    e.max_batches = 0         # validation batches per evaluation (0: all)
    e.bleu_sentences = 1000   # greedy reconstructions scored with BLEU
    e.num_samples = 20        # prior samples printed at each evaluation
    e.decode_max_len = 20
    e.code_fit_batches = 100  # AE: training batches used to fit the code Gaussian
    e.transfer_classifier = True  # arae_transfer: fastText transfer accuracy at each evaluation
    return set_model(c, model)


# -- per-model sections ---------------------------------------------------------
# A config holds the sections of its model only (`set_model`): `config.model` names the model, and
# `config.<section>` exists only where that model reads it.
def _noise_section():
    n = ml_collections.ConfigDict()
    n.code_noise = 0.1        # std of noise on z in reconstruction steps
    n.anneal = 0.9995
    n.anneal_every = 100
    return n


def _arae_section():
    a = ml_collections.ConfigDict()
    a.prior = "learned"       # "learned" | "gaussian" | "sphere"
    a.noise_dim = 32
    a.generator_hidden = (128, 128)
    a.critic_hidden = (128, 128)
    a.generator_tanh = False
    a.critic_batchnorm = False  # True: the reference code's BatchNorm critic, which collapses the learned prior
    #                             (each of the real and fake batches normalised by its own statistics; docs/arae_prior.md)
    a.generator_normalize = False  # True: the generator's output on the unit sphere (not in the paper)
    a.generator_skip = False  # True: a linear path from noise to code beside the MLP (layers.mlp.generator_mlp; not in the paper)
    a.critic_steps = 5
    a.lipschitz = "gp"        # "gp" | "clip"
    a.gp_weight = 0.1
    a.clip_value = 0.01
    a.adv_weight = 0.01       # lambda_1
    return a


def _transfer_section():
    """Model "arae_transfer" (Algorithm 2)."""
    tr = ml_collections.ConfigDict()
    tr.classifier_hidden = (128, 128)
    tr.class_weight = 1.0     # lambda_2
    tr.adversary = "wrong"    # "wrong": -log(1 - p(y|z)) (= flipped-label CE for 2 classes) | "uniform"
    tr.freeze_encoder = False  # True: no step updates the encoder: a decoder-only continuation of a trained
    #                            model (needs transfer.class_weight = arae.adv_weight = 0; not in the paper)
    tr.backtranslation = 0.0   # > 0: weight of step 1b, reconstructing each sentence from the code of its
    #                            greedy transfer (models/transfer.py; not in the paper)
    tr.backtranslation_contrast = 0.0  # beta of those greedy transfers, in [0, 1)
    return tr


def _ae_section():
    """Model "ae"."""
    s = ml_collections.ConfigDict()
    s.prior = "fitted"     # sampling: "fitted" Gaussian of training codes (ARAE) | "normal" N(0, I) (WAE papers)
    return s


def _wae_section():
    """Model "wae" (SPEC 2.4)."""
    w = ml_collections.ConfigDict()
    w.stochastic = False      # False: WAE-D; True: WAE-S (Gaussian encoder)
    w.mmd_weight = 3.0        # lambda_WAE
    w.kl_weight = 0.0         # lambda_KL of WAE-S's KL(N(mu, sigma^2) || N(mu, I))
    w.kernel = "imq"          # "imq" | "rbf"
    w.prior_var = 1.0
    return w


def _vae_section():
    """Model "vae"; the word-dropout fields also apply to "wae"."""
    v = ml_collections.ConfigDict()
    v.kl_weight = 1.0
    v.annealing = "sigmoid"   # "sigmoid" (frozen at the peak of lambda*KL) | "constant"
    v.anneal_rate = 0.0025
    v.anneal_midpoint = 2500
    v.anneal_check_every = 500
    v.word_dropout = 0.0      # final rate of decoder inputs replaced by <unk>
    v.word_dropout_step = 0.05  # rate added every word_dropout_epoch_steps iterations
    v.word_dropout_epoch_steps = 0  # 0: constant rate word_dropout; -1: one epoch of the training data
    return v


SECTIONS = {"noise": _noise_section, "arae": _arae_section, "transfer": _transfer_section, "ae": _ae_section,
            "wae": _wae_section, "vae": _vae_section}
# The sections each built-in model reads (the word-dropout fields of `vae` apply to "wae" too).
MODEL_SECTIONS = {"ae": ("noise", "ae"), "arae": ("noise", "arae"), "arae_transfer": ("noise", "arae", "transfer"),
                  "wae": ("wae", "vae"), "vae": ("vae",)}


def set_model(c, name):
    """Makes `c` a config of model `name`: `c.model = name`, the sections the model reads added with
    their defaults where missing (kept where present), every other model's section removed. A model
    outside `MODEL_SECTIONS` (registered elsewhere) keeps the sections `c` has. Returns `c`."""
    c.model = name
    if name not in MODEL_SECTIONS:
        return c
    wanted = MODEL_SECTIONS[name]
    for section in SECTIONS:
        if section in wanted and section not in c:
            setattr(c, section, SECTIONS[section]())
        elif section not in wanted and section in c:
            delattr(c, section)
    return c


def use_files(c, data_dir, train, valid, num_classes=1, test=()):
    """Points `c.data` at text files under `data_dir` (lists of names; list index = label)."""
    c.data.source = "files"
    c.data.train_files = tuple(os.path.join(data_dir, f) for f in train)
    c.data.valid_files = tuple(os.path.join(data_dir, f) for f in valid)
    c.data.test_files = tuple(os.path.join(data_dir, f) for f in test)
    c.data.num_classes = num_classes


def image_section():
    """The image backbone's fields (data.source "images"; `ImageAutoencoderBackbone`): the code size and
    its normalisation stay in `backbone.latent_dim` / `backbone.normalize_code`."""
    i = ml_collections.ConfigDict()
    i.input_dim = 784
    i.image_shape = (28, 28)
    i.encoder_hidden = (800, 400)
    i.decoder_hidden = (400, 800)
    return i


def use_images(c, image_file):
    """Points `c` at binarized images (`data.source = "images"`, `data.image_file`) and adds the `image`
    section (the MLP backbone's sizes). Text-only fields (vocabulary, lengths, embeddings) are unused."""
    c.data.source = "images"
    c.data.image_file = image_file
    c.data.num_classes = 1
    c.data.bucket = False
    if "image" not in c:
        c.image = image_section()
    return c


def use_documents(c, train_file, test_file, class_names):
    """Points `c.data` at labelled documents (`*.text.txt` with `*.label.txt` beside): each document split
    into tokenized sentences labelled by its class; every `data.document_valid_every`-th training
    document validates (`arae_tf.data.documents`)."""
    c.data.source = "documents"
    c.data.train_files = (train_file,)
    c.data.valid_files = ()
    c.data.test_files = (test_file,)
    c.data.class_names = tuple(class_names)
    c.data.num_classes = len(class_names)
    return c


def use_yelp(c, config_file):
    """The Yelp setting shared by the Yelp experiments: both classes, <= 15 words, words seen >= 5 times.

    The autoencoder uses Adam (validation token accuracy 0.40 after one pass, against 0.30 with
    the paper's SGD lr 1; docs/results.md) and the lambda_1-scaled adversarial encoder gradient
    goes through plain SGD(lr 1, clip 1). Paper optimizer: --config.optim.ae_optimizer=sgd
    --config.optim.ae_lr=1.0 --config.optim.encoder_adv_optimizer=ae
    """
    use_files(c, shared_data_dir(config_file, "yelp"), ["train.0.txt", "train.1.txt"],
              ["valid.0.txt", "valid.1.txt"], num_classes=2, test=["test.0.txt", "test.1.txt"])
    c.data.max_len = 15
    c.data.vocab_size = 10000
    c.data.min_count = 5
    c.optim.ae_optimizer = "adam"
    c.optim.ae_lr = 1e-3
    c.optim.encoder_adv_optimizer = "sgd"
    c.train.epochs = 1.0
    c.train.eval_every = 500


SHARED_VARIANTS = ("smoke",)  # the variants `apply_variant` knows


def split_variant(arg, known):
    """Splits a `get_config` argument such as "ae,smoke" into (the experiment's own variants among
    `known`, in the order given; the one shared variant left for `apply_variant`, or None).

    Raises ValueError, naming the argument, for a variant given twice or more than one unknown."""
    parts = [p.strip() for p in (arg or "").split(",") if p.strip()]
    own = [p for p in parts if p in known]
    rest = [p for p in parts if p not in known]
    if len(set(parts)) != len(parts):
        raise ValueError(f"config variant {arg!r} names a variant twice")
    unknown = [p for p in rest if p not in SHARED_VARIANTS]
    if unknown or len(rest) > 1:
        raise ValueError(f"unknown config variant(s) {unknown or rest[1:]} in {arg!r}; known: "
                         f"{', '.join(tuple(known) + SHARED_VARIANTS)} (combine with commas, at most one of "
                         f"{', '.join(SHARED_VARIANTS)})")
    return own, (rest[0] if rest else None)


def transfer_ae_baseline(c):
    """The AE baseline of an ARAE transfer config (ARAE Table 3): the same model and budget with
    lambda_1 = lambda_2 = 0, i.e. two decoders and no adversarial regularization."""
    c.arae.adv_weight = 0.0
    c.transfer.class_weight = 0.0
    return c


def apply_variant(c, arg):
    """`get_config(arg)` variants shared by every experiment file."""
    if arg in (None, ""):
        return c
    if arg == "smoke":
        # Seconds: tiny model, a few steps, a small evaluation.
        c.backbone.embed_dim = c.backbone.hidden_dim = c.backbone.latent_dim = 16
        if "arae" in c:
            c.arae.generator_hidden = c.arae.critic_hidden = (16,)
            c.arae.noise_dim = 8
        c.data.batch_size = 8
        c.train.steps = 4
        c.train.log_every = 2
        c.train.eval_every = 2
        c.eval.max_batches = 2
        c.eval.bleu_sentences = 16
        c.eval.num_samples = 3
        c.eval.decode_max_len = 8
        c.eval.code_fit_batches = 2
        return c
    raise ValueError(f"unknown config variant {arg!r}; known: smoke")


def use_wae_paper_settings(c, embed_dim, hidden_dim, latent_dim, min_count, anneal_midpoint, anneal_rate):
    """The WAE papers' shared recipe (SPEC 2.4) on `c`: WAE-S (lambda_WAE 3, lambda_KL 0.01) with an
    unnormalised, noise-free code, Adam 1e-3, batch 128, sentences of <= 20 words, a 10k vocabulary,
    the VAE's sigmoid annealing checked every 100 iterations; sizes and schedule as given."""
    set_model(c, "wae")
    c.data.max_len = 20
    c.data.vocab_size = 10000
    c.data.min_count = min_count
    c.data.batch_size = 128
    c.backbone.embed_dim, c.backbone.hidden_dim, c.backbone.latent_dim = embed_dim, hidden_dim, latent_dim
    c.backbone.normalize_code = False
    c.optim.ae_optimizer = "adam"
    c.optim.ae_lr = 1e-3
    c.wae.stochastic = True
    c.wae.mmd_weight = 3.0
    c.wae.kl_weight = 0.01
    c.vae.anneal_midpoint = anneal_midpoint
    c.vae.anneal_rate = anneal_rate
    c.vae.anneal_check_every = 100
    c.eval.bleu_sentences = 1000


def wae_family_variant(c, arg, word_dropout_epoch_steps=-1):
    """The WAE papers' rows as config variants `name[,value]` (SPEC 2.4), then `apply_variant`'s:

    `wae_d[,lambda_WAE=3]`, `wae_s[,lambda_KL=0]` (lambda_WAE 3), `vae` (sigmoid-annealed KL, word
    dropout rising 0.05 per epoch to 0.5; `word_dropout_epoch_steps` iterations count as an epoch,
    -1 for a real pass over the training data), `vae_const[,lambda=1]` (constant KL weight, no word
    dropout) and `dae` (the deterministic AE, sampled from N(0, I)). The last field may be `smoke`.
    """
    parts = [p for p in (arg or "").split(",") if p]
    rest = None
    if parts and parts[-1] == "smoke":
        rest = parts.pop()
    if parts:
        name, value = parts[0], (float(parts[1]) if len(parts) > 1 else None)
        if len(parts) > 2:
            raise ValueError(f"config variant {arg!r}: expected name[,value][,smoke]")
        if name == "wae_d":
            set_model(c, "wae")
            c.wae.stochastic, c.wae.kl_weight = False, 0.0  # no σ, so no KL term
            c.wae.mmd_weight = 3.0 if value is None else value
        elif name == "wae_s":
            set_model(c, "wae")
            c.wae.stochastic, c.wae.mmd_weight = True, 3.0
            c.wae.kl_weight = 0.0 if value is None else value
        elif name == "vae":
            set_model(c, "vae").vae.annealing = "sigmoid"
            c.vae.word_dropout, c.vae.word_dropout_step = 0.5, 0.05
            c.vae.word_dropout_epoch_steps = word_dropout_epoch_steps
        elif name == "vae_const":
            set_model(c, "vae").vae.annealing = "constant"
            c.vae.kl_weight = 1.0 if value is None else value
        elif name == "dae":
            set_model(c, "ae").ae.prior = "normal"
            c.noise.code_noise = 0.0  # the WAE papers' DAE: no code noise
        else:
            raise ValueError(f"unknown config variant {name!r}; known: wae_d, wae_s, vae, vae_const, dae (and smoke)")
    return apply_variant(c, rest)
