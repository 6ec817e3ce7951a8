"""The transfer-accuracy classifier: fastText, as in the ARAE paper (SPEC 3).

Transfer accuracy is the share of transferred sentences this separately trained
classifier assigns to the *target* class; its own test accuracy is reported next
to every transfer score (`ClassifierReport`).

Two traps of fasttext 0.9.x are handled here:

* the high-level `FastText.predict()` calls `np.array(..., copy=False)`, which
  NumPy 2 rejects, so predictions go through the low-level `model.f.predict`;
* fastText reads its training file in order, so a file sorted by label trains a
  biased classifier: the training file is shuffled with a fixed seed.

Training uses one thread so a seed gives the same classifier every time.
"""

import dataclasses
import json
import os
import random
import tempfile
import time

from absl import logging

_LABEL = "__label__"


@dataclasses.dataclass
class FastTextSettings:
    """fastText supervised-training settings (kept equal across a comparison)."""
    epoch: int = 5
    lr: float = 0.5
    word_ngrams: int = 2
    dim: int = 100
    min_count: int = 1
    seed: int = 0
    threads: int = 1


def _import_fasttext():
    try:
        import fasttext
    except ImportError as e:  # pragma: no cover - the package is a dependency
        raise ImportError("transfer accuracy needs the `fasttext` module "
                          "(pip install fasttext-numpy2, pinned in setup.py)") from e
    return fasttext


def _clean(text):
    """One line of fastText input: newlines would split an example in two."""
    return " ".join(text.split())


class SentimentClassifier:
    """A fastText classifier over `num_classes` labels 0..C-1.

    Build one with `train(examples)` or `load(path)`; `predict(texts)` gives label ids.
    """

    def __init__(self, model, num_classes, settings):
        self._model = model
        self.num_classes = num_classes
        self.settings = settings

    @classmethod
    def train(cls, examples, settings=FastTextSettings(), verbose=True):
        """Trains on (text, label) pairs; the training file is shuffled with `settings.seed`."""
        fasttext = _import_fasttext()
        examples = list(examples)
        if not examples:
            raise ValueError("cannot train a classifier on an empty example list")
        labels = sorted({int(y) for _, y in examples})
        num_classes = labels[-1] + 1
        if len(labels) < 2:
            raise ValueError(f"a classifier needs examples of at least two classes, got only {labels}")
        order = list(range(len(examples)))
        random.Random(settings.seed).shuffle(order)
        t = time.time()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "train.txt")
            with open(path, "w", encoding="utf-8") as f:
                for i in order:
                    text, y = examples[i]
                    f.write(f"{_LABEL}{int(y)} {_clean(text)}\n")
            model = fasttext.train_supervised(
                input=path, epoch=settings.epoch, lr=settings.lr, wordNgrams=settings.word_ngrams,
                dim=settings.dim, minCount=settings.min_count, seed=settings.seed,
                thread=settings.threads, verbose=0)
        if verbose:
            logging.info(f"[fasttext] trained on {len(examples)} sentences in {time.time() - t:.1f}s")
        return cls(model, num_classes, settings)

    def probabilities(self, texts):
        """[len(texts)][num_classes] class probabilities."""
        out = []
        for text in texts:
            row = [0.0] * self.num_classes
            for prob, label in self._model.f.predict(_clean(text) + "\n", -1, 0.0, "strict"):
                row[int(label[len(_LABEL):])] = float(prob)
            out.append(row)
        return out

    def predict(self, texts):
        """The most probable label id of each text."""
        return [max(range(self.num_classes), key=row.__getitem__) for row in self.probabilities(texts)]

    def accuracy(self, texts, labels):
        """Share of `texts` predicted as the matching entry of `labels`."""
        labels = list(labels)
        if len(labels) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        if not texts:
            raise ValueError("accuracy of an empty list is undefined")
        return sum(int(p == int(y)) for p, y in zip(self.predict(texts), labels)) / len(texts)

    def save(self, directory, **extra_metadata):
        os.makedirs(directory, exist_ok=True)
        self._model.save_model(os.path.join(directory, "fasttext.bin"))
        with open(os.path.join(directory, "fasttext.json"), "w") as f:
            json.dump({"num_classes": self.num_classes, "settings": dataclasses.asdict(self.settings),
                       **extra_metadata}, f)

    @classmethod
    def load(cls, directory):
        fasttext = _import_fasttext()
        with open(os.path.join(directory, "fasttext.json")) as f:
            meta = json.load(f)
        model = fasttext.load_model(os.path.join(directory, "fasttext.bin"))
        return cls(model, meta["num_classes"], FastTextSettings(**meta["settings"]))


def cached_classifier(directory, examples, settings=FastTextSettings()):
    """The classifier cached in `directory` if trained with `settings`, else trained and cached.

    The cache is keyed on the settings and the number of training examples."""
    meta_path = os.path.join(directory, "fasttext.json")
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get("settings") == dataclasses.asdict(settings) and meta.get("num_train") == len(examples):
            return SentimentClassifier.load(directory)
    clf = SentimentClassifier.train(examples, settings)
    clf.save(directory, num_train=len(examples))
    return clf

