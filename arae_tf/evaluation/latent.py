"""The latent space: statistics of real and prior codes (ARAE Fig. 3), k-swap NLL, edit cosine,
posterior sigma, interpolations.

`code_statistics` serves both in-training validation (`validation_code_metrics`) and `latent_report`.
"""

import numpy as np

from arae_tf.metrics import latent as latent_metrics


def code_statistics(z, z_prior):
    """ARAE Fig. 3: {"z": ..., "z_prior": ...}, the mean norm and covariance trace of real codes z and
    of prior codes z~."""
    return {"z": latent_metrics.code_statistics(np.asarray(z)),
            "z_prior": latent_metrics.code_statistics(np.asarray(z_prior))}


def validation_code_metrics(model, codes, seed, n_prior=1000):
    """The code statistics logged at each evaluation: val_code_* of `codes`, prior_code_* of `n_prior`
    prior codes."""
    s = code_statistics(codes, model.sample_codes(n_prior, seed=seed))
    return {"val_code_norm": s["z"]["norm"], "val_code_cov_trace": s["z"]["cov_trace"],
            "prior_code_norm": s["z_prior"]["norm"], "prior_code_cov_trace": s["z_prior"]["cov_trace"]}


def latent_report(model, vocab, sentences, settings):
    """Latent diagnostics of held-out `sentences`. Returns (report, {"z", "z_prior", "sigma",
    "interpolations"}: what the plots and the Markdown report draw on)."""
    z = model.encode(sentences)
    z_prior = model.sample_codes(len(sentences), seed=settings.seed).numpy()
    report = {**code_statistics(z, z_prior),
              "swap_nll": latent_metrics.swap_nll_curve(model, vocab, sentences, settings.swap_max_k, settings.seed),
              "edit_cosine": latent_metrics.edit_cosine(model, vocab, sentences, seed=settings.seed)}
    sigma = latent_metrics.sigma_values(model, vocab, sentences)
    if sigma is not None:
        report["sigma"] = {"mean": float(sigma.mean()), "median": float(np.median(sigma)),
                           "share_below_0.01": float((sigma < 0.01).mean())}
    pairs = [(sentences[i], sentences[-1 - i]) for i in range(3)]
    interpolations = [model.interpolate(a, b, 5, settings.decode_max_len) for a, b in pairs]
    return report, {"z": z, "z_prior": z_prior, "sigma": sigma, "interpolations": interpolations}
