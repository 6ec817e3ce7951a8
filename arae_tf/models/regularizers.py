"""Latent regularisers of the WAE family and the VAE (SPEC 2.4), as small pure functions.

All take and return tensors (Keras ops), so they run inside `train_step`'s `tf.function`
and under any `tf.distribute` strategy (`WAE` gathers every replica's codes first, so the MMD is the
global batch's, as on one device).

* `mmd`: the unbiased MMD^2 estimator between codes z [N, d] and prior samples [M, d]:

      1/(N(N-1)) sum_{i!=j} k(z_i, z_j) + 1/(M(M-1)) sum_{i!=j} k(p_i, p_j) - 2/(NM) sum_{i,j} k(z_i, p_j)

  (the papers print 1/N^2 for the cross term; 2/(NM) is correct). N and M are the tensors'
  actual sizes, never constants, so a last partial batch is exact.
* kernels: inverse multiquadratic k(a, b) = C / (C + ||a - b||^2) summed over the scales
  C = 2 d sigma_prior^2 * {0.1, 0.2, 0.5, 1, 2, 5, 10} (the WAE reference code), or the RBF
  kernel exp(-||a - b||^2 / C) over the same scales.
* `gaussian_kl`: KL(N(mu, diag sigma^2) || N(0, I)) per example (the VAE term).
* `auxiliary_kl`: KL(N(mu, diag sigma^2) || N(mu, I)) = sum_i (-log sigma_i + (sigma_i^2 - 1)/2)
  per example (the WAE-S term that keeps sigma from collapsing to 0).
* `sigmoid_weight`: the VAE's sigmoid KL-annealing schedule.
"""

from keras import ops

KERNEL_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
KERNELS = ("imq", "rbf")


def squared_distances(a, b):
    """||a_i - b_j||^2 [N, M] for a [N, d], b [M, d] (clipped at 0 against round-off)."""
    d = ops.sum(ops.square(a), 1)[:, None] + ops.sum(ops.square(b), 1)[None, :] - 2.0 * ops.matmul(a, ops.transpose(b))
    return ops.maximum(d, 0.0)


def kernel_matrix(a, b, kernel="imq", prior_var=1.0, scales=KERNEL_SCALES):
    """Sum over scales of k(a_i, b_j) [N, M]; C = 2 * d * prior_var * scale."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    d2 = squared_distances(a, b)
    base = 2.0 * ops.cast(ops.shape(a)[1], d2.dtype) * prior_var
    total = ops.zeros_like(d2)
    for s in scales:
        c = base * s
        total = total + (c / (c + d2) if kernel == "imq" else ops.exp(-d2 / c))
    return total


def _off_diagonal_mean(k):
    n = ops.cast(ops.shape(k)[0], k.dtype)
    # max(.., 1): a single row has no off-diagonal pair; `mmd` then returns 0 (a finite 0/1 here keeps
    # the unselected branch's gradient finite).
    return (ops.sum(k) - ops.sum(ops.diagonal(k))) / ops.maximum(n * (n - 1.0), 1.0)


def mmd(z, prior, kernel="imq", prior_var=1.0, scales=KERNEL_SCALES):
    """Unbiased MMD^2 between codes z [N, d] and prior samples [M, d].

    The unbiased estimator needs N, M >= 2. With fewer (a batch of one sentence: the last, partial
    batch of a length bucket at the end of a pass) there is no estimate and the result is 0, so the
    batch trains on its other losses instead of turning every weight into NaN."""
    z = ops.convert_to_tensor(z)
    prior = ops.cast(prior, z.dtype)
    k = lambda a, b: kernel_matrix(a, b, kernel, prior_var, scales)
    value = _off_diagonal_mean(k(z, z)) + _off_diagonal_mean(k(prior, prior)) - 2.0 * ops.mean(k(z, prior))
    enough = ops.logical_and(ops.shape(z)[0] >= 2, ops.shape(prior)[0] >= 2)
    return ops.where(enough, value, ops.zeros_like(value))


def gaussian_kl(mu, log_var):
    """KL(N(mu, exp(log_var)) || N(0, I)) per example [N]."""
    return 0.5 * ops.sum(ops.exp(log_var) + ops.square(mu) - 1.0 - log_var, axis=-1)


def auxiliary_kl(log_var):
    """KL(N(mu, exp(log_var)) || N(mu, I)) per example [N] = sum_i (-log sigma_i + (sigma_i^2 - 1) / 2)."""
    return ops.sum(-0.5 * log_var + 0.5 * (ops.exp(log_var) - 1.0), axis=-1)


def sigmoid_weight(step, max_weight=1.0, rate=0.0025, midpoint=2500.0):
    """max_weight / (1 + exp(-rate * (step - midpoint))): the sigmoid KL-annealing schedule."""
    step = ops.cast(step, "float32")
    return max_weight / (1.0 + ops.exp(-rate * (step - midpoint)))
