"""ARAE for unaligned style transfer, Algorithm 2 of Zhao et al. (2018); SPEC 2.3.

A shared encoder, one decoder per attribute class y in {0..C-1}, the GAN prior of
Algorithm 1, and a latent classifier u. Each `train_step` on a labelled batch (x, y):

1.  Autoencoder: minimise L_rec(x | z, y), each sentence reconstructed by the decoder
    of its own class (the batch is partitioned by label; each decoder sees its part).
1b. Back-translation (`backtranslation` = w > 0; not in the paper, off by default): each sentence
    x of class y is transferred to the next class y' = y + 1 mod C by greedy decoding (contrast
    `backtranslation_contrast`) with no gradient, giving x~; then minimise
        w * L_rec(x | enc(x~), y)
    so decoder y learns to write a real class-y sentence from the code of a class-y' sentence with
    the same content, which is what it is asked to do at transfer time (the back-translation of
    unsupervised style transfer, e.g. Lample et al. 2019). The autoencoder's optimizer; the encoder
    and the decoders, or the decoders alone with `freeze_encoder`.
2.  Critic, `critic_steps` times (as Algorithm 1).
2b. Classifier (u): minimise  L_cls = CE(y, p_u(. | z))           (z constant).
3.  Encoder vs critic: minimise lambda_1 * E[f(enc(x))]            (as Algorithm 1).
3b. Encoder vs classifier (phi): minimise lambda_2 * L_adv with
        adversary="wrong":   L_adv = -log(1 - p_u(y | enc(x)))   (= CE(1 - y, p_u) for C = 2, the paper)
        adversary="uniform": L_adv = CE(uniform, p_u(. | enc(x)))
4.  Generator (as Algorithm 1).

`transfer_ids(tokens, to)` encodes and decodes greedily with decoder `to`;
`transfer(texts, to)` does the same on raw strings.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from arae_tf.data.vocab import BOS_ID
from arae_tf.distribute import apply_gradients, num_replicas
from arae_tf.layers.mlp import critic_mlp
from arae_tf.models.arae import ARAE
from arae_tf.models.base import token_mean
from arae_tf.models.decoding import as_seed, cycle_nbest, cycle_transfer_by_class
from arae_tf.models.text_api import (check_count, check_cycle, check_decode_options, check_transfer_decoding,
                                     split_cycle)

ADVERSARIES = ("wrong", "uniform")


def next_classes(labels, num_classes):
    """The class each sentence is transferred to, (y + 1) mod C (the other class for C = 2): a tensor
    for a tensor, an array for an array or a list. Training's back-translation and every evaluation
    of transfer use it."""
    return ((labels if tf.is_tensor(labels) else np.asarray(labels)) + 1) % num_classes


@keras.saving.register_keras_serializable(package="arae_tf")
class ARAETransfer(ARAE):
    """ARAE with one decoder per class and a latent classifier (Algorithm 2).

    Args:
        backbone: a `SentenceAutoencoderBackbone` with `num_decoders == num_classes`.
        num_classes: C >= 2.
        classifier_hidden: widths of the latent classifier MLP (128-128 in the paper).
        class_weight: lambda_2, the scale of the classifier's gradient entering the encoder.
        adversary: "wrong" or "uniform" (see the module docstring).
        transfer_decoding: the decoding options `transfer` uses unless told otherwise (keys of
            `text_api.TRANSFER_DECODING`: method greedy/beam, beam_size, length_penalty, contrast);
            None or {}: greedy, as in the paper. Saved with the model, used by the SavedModel too.
        freeze_encoder: True: no step updates the encoder (step 1 trains the decoders alone; steps 3
            and 3b are skipped), so a trained model's codes stay as they are while its decoders are
            continued. Needs class_weight = adv_weight = 0. Not in the paper.
        backtranslation: w >= 0, the weight of step 1b (0: no step 1b, the paper's Algorithm 2).
        backtranslation_contrast: beta in [0, 1) of the greedy transfers step 1b trains on (0: plain
            greedy; see `decoding` on contrastive decoding).
        **kwargs: `ARAE` arguments (prior, critic, lambda_1 = adv_weight, noise...).
    """

    def __init__(self, backbone, num_classes=2, classifier_hidden=(128, 128), class_weight=1.0, adversary="wrong",
                 transfer_decoding=None, freeze_encoder=False, backtranslation=0.0, backtranslation_contrast=0.0,
                 **kwargs):
        super().__init__(backbone, **kwargs)
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        if self.backbone.num_decoders != num_classes:
            raise ValueError(f"the backbone has {self.backbone.num_decoders} decoders but num_classes is "
                             f"{num_classes}: build it with num_decoders={num_classes}")
        if adversary not in ADVERSARIES:
            raise ValueError(f"adversary must be one of {ADVERSARIES}, got {adversary!r}")
        if freeze_encoder and (class_weight or self.adv_weight):
            raise ValueError(f"freeze_encoder needs class_weight = adv_weight = 0 (no step may move the encoder), got "
                             f"class_weight={class_weight:g}, adv_weight={self.adv_weight:g}")
        self.freeze_encoder = bool(freeze_encoder)
        if not backtranslation >= 0:
            raise ValueError(f"backtranslation must be a weight >= 0, got {backtranslation!r}")
        if not 0 <= backtranslation_contrast < 1:
            raise ValueError(f"backtranslation_contrast must be in [0, 1), got {backtranslation_contrast!r}")
        self.backtranslation = float(backtranslation)
        self.backtranslation_contrast = float(backtranslation_contrast)
        # === Config ===
        self.num_classes = num_classes
        self.classifier_hidden = tuple(classifier_hidden)
        self.class_weight = class_weight
        self.adversary = adversary
        self.transfer_decoding = transfer_decoding
        # === Layers ===
        self.classifier = critic_mlp(self.latent_dim, self.classifier_hidden, batchnorm=True, out_dim=num_classes,
                                     name="classifier")
        # === Metrics ===
        self.cls_loss_tracker = keras.metrics.Mean(name="cls_loss")
        self.cls_acc_tracker = keras.metrics.Mean(name="cls_acc")
        self.bt_loss_tracker = keras.metrics.Mean(name="bt_loss")  # logged only with backtranslation > 0
        self.built = True

    @property
    def metrics(self):
        return super().metrics + [self.cls_loss_tracker, self.cls_acc_tracker] + (
            [self.bt_loss_tracker] if self.backtranslation else [])

    @property
    def transfer_decoding(self):
        """The default decoding options of `transfer` (a dict; {} is greedy). Settable; checked."""
        return dict(self._transfer_decoding)

    @transfer_decoding.setter
    def transfer_decoding(self, options):
        options = check_transfer_decoding(dict(options or {}))
        check_decode_options({k: v for k, v in options.items() if k != "cycle"}, self.backbone.num_decoders)
        self._transfer_decoding = options

    def compile(self, ae_optimizer=None, critic_optimizer=None, generator_optimizer=None, encoder_optimizer=None,
                classifier_optimizer=None, **kwargs):
        """As `ARAE.compile`, plus the classifier's optimizer (default Adam(1e-4, beta_1 0.5)).

        The encoder's step against the classifier uses the same optimizer as its step
        against the critic (`encoder_optimizer`, else the autoencoder's)."""
        classifier_optimizer = classifier_optimizer or keras.optimizers.Adam(1e-4, beta_1=0.5)
        self.classifier_optimizer = self._build_optimizer(classifier_optimizer, self.classifier.trainable_variables)
        super().compile(ae_optimizer=ae_optimizer, critic_optimizer=critic_optimizer,
                        generator_optimizer=generator_optimizer, encoder_optimizer=encoder_optimizer, **kwargs)

    def get_compile_config(self):
        config = super().get_compile_config()
        config["classifier_optimizer"] = keras.saving.serialize_keras_object(self.classifier_optimizer)
        return config

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, classifier_hidden=list(self.classifier_hidden),
                      class_weight=self.class_weight, adversary=self.adversary,
                      transfer_decoding=self.transfer_decoding or None, freeze_encoder=self.freeze_encoder,
                      backtranslation=self.backtranslation, backtranslation_contrast=self.backtranslation_contrast)
        return config

    # -- Algorithm 2 ----------------------------------------------------------
    def reconstruction_stats(self, z, tokens, labels=None, training=False):
        """Statistics summed over classes, each part of the batch through its class's decoder.

        Without labels (e.g. unlabelled evaluation data) every sentence goes through decoder 0.
        """
        if labels is None:
            return self.backbone.reconstruction(z, tokens, decoder=0, training=training)
        labels = tf.cast(labels, tf.int32)
        zs = tf.dynamic_partition(z, labels, self.num_classes)
        ts = tf.dynamic_partition(tokens, labels, self.num_classes)
        parts = [self.backbone.reconstruction(zs[c], ts[c], decoder=c, training=training)
                 for c in range(self.num_classes)]
        return {k: ops.sum(ops.stack([p[k] for p in parts])) for k in parts[0]}

    def adversary_loss(self, logits, labels):
        """L_adv of step 3b (per example), which the encoder minimises."""
        log_p = tf.nn.log_softmax(logits)
        if self.adversary == "uniform":
            return -ops.mean(log_p, axis=-1)
        p_true = ops.sum(ops.exp(log_p) * tf.one_hot(labels, self.num_classes), axis=-1)
        return -ops.log(ops.maximum(1.0 - p_true, 1e-7))

    def classifier_step(self, z, labels):
        """Step 2b: one classifier update on constant codes; returns (loss, accuracy)."""
        z = tf.stop_gradient(z)
        variables = self.classifier.trainable_variables
        with tf.GradientTape() as tape:
            logits = self.classifier(z, training=True)
            loss = ops.mean(ops.sparse_categorical_crossentropy(labels, logits, from_logits=True))
            scaled = loss / num_replicas()
        apply_gradients(self.classifier_optimizer, tape.gradient(scaled, variables), variables)
        acc = ops.mean(ops.cast(ops.equal(ops.cast(ops.argmax(logits, -1), labels.dtype), labels), "float32"))
        return loss, acc

    def encoder_classifier_step(self, tokens, labels):
        """Step 3b: the encoder minimises lambda_2 * L_adv against the (fixed) classifier."""
        variables = self.backbone.encoder_variables
        with tf.GradientTape() as tape:
            z = self.backbone.encode(tokens, training=True)
            loss = self.class_weight * ops.mean(self.adversary_loss(self.classifier(z, training=True), labels))
            loss = loss / num_replicas()
        apply_gradients(self.encoder_optimizer or self.optimizer, tape.gradient(loss, variables), variables)

    def backtranslation_step(self, tokens, labels, variables):
        """Step 1b: `variables` minimise w * L_rec(x | enc(x~), y), x~ the greedy transfer of each
        sentence x (class y) to the next class, decoded without gradient; returns that L_rec."""
        to = next_classes(labels, self.num_classes)
        ids = self.backbone.decode_by_class(self.backbone.encode(tokens), to, max_len=tf.shape(tokens)[1],
                                            method="greedy", contrast=self.backtranslation_contrast)
        transfers = tf.stop_gradient(tf.concat([tf.fill([tf.shape(ids)[0], 1], BOS_ID), ids], axis=1))
        with tf.GradientTape() as tape:
            stats = self.reconstruction_stats(self.backbone.encode(transfers, training=True), tokens, labels,
                                              training=True)
            rec = token_mean(stats)
            loss = self.backtranslation * rec
        apply_gradients(self.optimizer, tape.gradient(loss, variables), variables)
        return rec

    def train_step(self, data):
        tokens, labels = data["tokens"], tf.cast(data["label"], tf.int32)
        # 1. autoencoder, each class through its own decoder (the decoders alone with freeze_encoder)
        variables = self.backbone.decoder_variables if self.freeze_encoder else self.backbone.trainable_variables
        self.reconstruction_step(tokens, self.optimizer, variables, labels=labels)
        # 1b. back-translation: each class's decoder from the codes of the other class's transfers
        if self.backtranslation:
            self.bt_loss_tracker.update_state(self.backtranslation_step(tokens, labels, variables))
        # 2. critic, k times
        z_real = self.critic_phase(tokens)
        # 2b. classifier on the codes
        cls_loss, cls_acc = self.classifier_step(z_real, labels)
        self.cls_loss_tracker.update_state(cls_loss)
        self.cls_acc_tracker.update_state(cls_acc)
        # 3. encoder against the critic, 3b. encoder against the classifier
        if not self.freeze_encoder:
            self.encoder_adversarial_step(tokens)
        if self.class_weight:
            self.encoder_classifier_step(tokens, labels)
        # 4. generator
        if self.generator is not None:
            self.gen_loss_tracker.update_state(self.generator_step(ops.shape(tokens)[0]))
        self.train_iterations.assign_add(1)
        return {m.name: m.result() for m in self.metrics}

    # -- transfer -------------------------------------------------------------
    def _check_classes(self, to, n):
        arr = np.asarray(to)
        if arr.size == 0 and arr.ndim == 1:
            arr = arr.astype(np.int64)
        if not np.issubdtype(arr.dtype, np.integer) or arr.ndim > 1 or (arr.ndim == 1 and len(arr) != n):
            raise ValueError(f"target class must be an int or one int per sentence ({n}), got {to!r}")
        if arr.size and (arr.min() < 0 or arr.max() >= self.num_classes):
            raise ValueError(f"target classes must be in [0, {self.num_classes}), got {to!r}")
        return np.broadcast_to(arr, (n,))

    def decode_by_class(self, z, classes, seed=0, **decode_kwargs):
        """Token ids decoding each code z[i] with the decoder of class classes[i] (int or [N] ints):
        `SentenceAutoencoderBackbone.decode_by_class`, the one the SavedModel's signatures run.
        Options as `decode_ids`, except `decoder` (the class chooses it)."""
        if "decoder" in decode_kwargs:
            raise TypeError("decode_by_class takes no `decoder` option: each row's class chooses its decoder")
        check_decode_options(decode_kwargs, self.backbone.num_decoders)
        z = self._code_batch(z)
        classes = self._check_classes(classes, int(z.shape[0])).astype(np.int32)
        key = ("decode_by_class",) + tuple(sorted(decode_kwargs.items()))
        fn = self._compiled(key, lambda z, y, s: self.backbone.decode_by_class(z, y, seed=s, **decode_kwargs),
                            [tf.TensorSpec([None, self.latent_dim], tf.float32), tf.TensorSpec([None], tf.int32),
                             tf.TensorSpec([2], tf.int32)])
        return fn(z, tf.constant(classes), as_seed(seed)).numpy()

    def reconstruct_ids(self, tokens, labels=None, **decode_kwargs):
        """Reconstructions; with `labels`, each sentence through the decoder of its own class."""
        if labels is None:
            return super().reconstruct_ids(tokens, **decode_kwargs)
        return self.decode_by_class(self.encode_ids(tokens), labels, **decode_kwargs)

    def transfer_ids(self, tokens, to, **decode_kwargs):
        """Token ids of `tokens` re-decoded by the decoder of class `to` (an int, or one class per
        sentence), with `transfer_decoding` (greedy unless set) overridden by `decode_kwargs`. With
        `cycle` > 0 (beam search only) each transfer is the beam candidate that best keeps the source's
        content (`decoding.cycle_transfer_by_class`)."""
        options, cycle = split_cycle(self.transfer_decoding, decode_kwargs)
        if not cycle:
            return self.decode_by_class(self.encode_ids(tokens), to, **options)
        check_cycle({"cycle": cycle, "method": options.get("method", "greedy")})
        options = self._beam_search_options(options)
        tokens, classes = self._sources(tokens, to)
        if not len(tokens):
            return np.zeros((0, options.get("max_len", 20)), np.int32)
        key = ("cycle_transfer", float(cycle)) + tuple(sorted(options.items()))
        fn = self._compiled(key, lambda x, y: cycle_transfer_by_class(self.backbone, x, y, float(cycle), **options),
                            [tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32)])
        return fn(tf.constant(tokens), tf.constant(classes)).numpy()

    def transfer_nbest_ids(self, tokens, to, **decode_kwargs):
        """The beam of every transfer with both terms of cycle reranking, to rerank at any γ without
        searching again: (candidates [N, beam_size, max_len], beam scores [N, beam_size], cycle terms
        [N, beam_size]), numpy (`decoding.cycle_nbest`). `decoding.rerank_nbest(..., cycle)` then gives
        `transfer_ids(tokens, to, cycle=cycle, **decode_kwargs)`. Options as `transfer_ids` without
        `cycle`; the method must be beam search."""
        options, _ = split_cycle(self.transfer_decoding, {**decode_kwargs, "cycle": 0.0})
        if options.get("method", "greedy") != "beam":
            raise ValueError(f"transfer_nbest_ids lists a beam's candidates: method must be 'beam', "
                             f"got {options.get('method', 'greedy')!r}")
        options = self._beam_search_options(options)
        tokens, classes = self._sources(tokens, to)
        K, L = options.get("beam_size", 4), options.get("max_len", 20)
        if not len(tokens):
            return np.zeros((0, K, L), np.int32), np.zeros((0, K), np.float32), np.zeros((0, K), np.float32)
        options.pop("method")
        key = ("cycle_nbest",) + tuple(sorted(options.items()))
        fn = self._compiled(key, lambda x, y: cycle_nbest(self.backbone, x, y, **options),
                            [tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32)])
        return tuple(t.numpy() for t in fn(tf.constant(tokens), tf.constant(classes)))

    def _beam_search_options(self, options):
        """`options` (no cycle) checked for cycle reranking's beam search, without `seed`."""
        if "decoder" in options:
            raise TypeError("transfer takes no `decoder` option: the target class chooses it")
        options = {k: v for k, v in options.items() if k != "seed"}  # beam search draws nothing
        check_decode_options(options, self.backbone.num_decoders)
        extra = sorted(set(options) - {"max_len", "method", "beam_size", "length_penalty", "contrast"})
        if extra:
            raise TypeError(f"decoding option(s) {extra} do not apply to cycle reranking (beam search)")
        return options

    def _sources(self, tokens, to):
        """(tokens int32 [N, T], target classes int32 [N]), checked."""
        tokens = np.asarray(tokens, np.int32)
        check_count(len(tokens), "number of sentences")
        return tokens, self._check_classes(to, len(tokens)).astype(np.int32)

    def transfer(self, texts, to, max_len=20, **decode_kwargs):
        """Sentences re-written in class `to` (an int, or one per sentence; Yelp: 0 negative, 1 positive).
        Decoding: the model's `transfer_decoding`, overridden by `decode_kwargs` (`method="greedy"`
        for the paper's)."""
        return self._ids_to_texts(self.transfer_ids(self._texts_to_ids(texts), to, max_len=max_len, **decode_kwargs))
