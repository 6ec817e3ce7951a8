"""The demos of `python -m arae_tf.demo`: a zoo preset in action (`zoo_demo`), or a small ARAE trained
on the built-in corpus (`builtin_demo`), printed to standard output."""

import os
import tempfile

NEGATIVE = ["the food was cold and the service was slow .", "i will never come back to this place .",
            "the staff was rude and unhelpful ."]
POSITIVE = ["the pizza here is amazing !", "our waitress was friendly and very helpful .",
            "great prices and a wonderful atmosphere ."]


def zoo_demo(name):
    """Loads preset `name` and shows it: transfer both ways (transfer models), prior samples, an interpolation."""
    import time

    from arae_tf import zoo
    t = time.time()
    model = zoo.load(name, compile=False)
    print(f"Loaded {name!r} in {time.time() - t:.1f}s: {model.preset.get('description', '')}")
    transfer = model.decoder_classes > 1
    if transfer:
        if model.transfer_decoding:
            from arae_tf.models.text_api import decoding_words
            print(f"\nTransfer decoding: {decoding_words(model.transfer_decoding)} (the preset's default; method='greedy', contrast=0 is the paper's)")
        print("\nNegative -> positive:")
        for a, b in zip(NEGATIVE, model.transfer(NEGATIVE, to=1)):
            print(f"  {a}\n    -> {b}")
        print("Positive -> negative:")
        for a, b in zip(POSITIVE, model.transfer(POSITIVE, to=0)):
            print(f"  {a}\n    -> {b}")
    for c in (range(model.num_classes) if transfer else [None]):
        kw = {} if c is None else {"decoder": c}
        print(f"\nSamples from the prior{'' if c is None else f' (decoder {c})'}:")
        for s in model.sample(4, seed=1, **kw):
            print("  " + s)
    print(f"\nInterpolation from {NEGATIVE[0]!r} to {POSITIVE[0]!r}:")
    for s in model.interpolate(NEGATIVE[0], POSITIVE[0], steps=5, **({"decoder": 1} if transfer else {})):
        print("  " + s)
    card = model.preset.get("transfer_metrics") or {}
    if card:
        print(f"\nMeasured on Yelp test: transfer accuracy {card.get('accuracy', float('nan')):.3f}, "
              f"self-BLEU {card.get('self_bleu', float('nan')):.2f} (see zoo/{name}/MODEL_CARD.md)")


def builtin_demo(workdir=None, steps=1500):
    """Trains the built-in ARAE config for `steps` iterations in `workdir` (default: a new temporary
    directory) and shows its reconstructions (greedy and beam), prior samples and an interpolation."""
    from arae_tf import train_lib
    from arae_tf.data import synthetic
    from arae_tf.data.vocab import Vocabulary
    from arae_tf.configs import arae_builtin

    workdir = workdir or tempfile.mkdtemp(prefix="arae_demo_")
    config = arae_builtin.get_config()
    config.train.steps = steps
    print(f"Training ARAE on the built-in corpus for {config.train.steps} iterations in {workdir}")
    metrics = train_lib.train_and_evaluate(config, workdir)

    vocab = Vocabulary.load(os.path.join(workdir, "vocabulary.txt"))
    model = train_lib.build_model(config, len(vocab))
    model.load_weights(os.path.join(workdir, "final", "model.weights.h5"))
    model.vocabulary = vocab
    texts = [t for t, _ in synthetic.generate(6, num_classes=2, seed=123)]
    greedy = model.reconstruct(texts, max_len=12)
    beam = model.reconstruct(texts, method="beam", beam_size=4, max_len=12)
    print(f"\nValidation: token accuracy {metrics['val_token_acc']:.4f}, "
          f"greedy-reconstruction BLEU {metrics['val_bleu']:.2f}")
    print("\nReconstructions (input -> greedy | beam 4):")
    for t, g, b in zip(texts, greedy, beam):
        print(f"  {t}  ->  {g} | {b}")
    samples = model.sample(10, seed=7, max_len=12)
    nucleus = model.sample(5, seed=7, method="sample", top_p=0.9, max_len=12)
    ok = sum(synthetic.is_grammatical(s) for s in samples + nucleus)
    print(f"\nPrior samples, greedy ({ok}/{len(samples) + len(nucleus)} of all samples are template sentences):")
    for s in samples:
        print("  " + s)
    print("Prior samples, nucleus p=0.9:")
    for s in nucleus:
        print("  " + s)
    print("\nInterpolation between the first two inputs:")
    for s in model.interpolate(texts[0], texts[1], steps=5, max_len=12):
        print("  " + s)

