"""`tf.distribute` in one place: the strategy named by the config, and the replica helpers the
models' custom train steps use so that every loss, gradient clip and batch statistic means the same
on N replicas as on one device (tests/test_distribute.py)."""

import tensorflow as tf
from keras import ops


def make_strategy(name):
    """The `tf.distribute` strategy named by `config.train.strategy`."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"config field train.strategy must be default/mirrored/multiworker/tpu, got {name!r}")


def num_replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


def global_sum(x):
    """Sum of a per-replica scalar over all replicas (identity without a strategy)."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return x
    return ctx.all_reduce(tf.distribute.ReduceOp.SUM, x)


def gather_replicas(x):
    """`x` [B_local, ...] of every replica concatenated on axis 0, the same on all replicas (identity
    without a strategy). Gradients flow back to each replica's own rows: a loss computed on the
    gathered tensor and divided by the replica count gives, summed over replicas, exactly the
    single-device gradient of that loss on the global batch (batch-nonlinear terms such as MMD)."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return x
    return ctx.all_gather(x, axis=0)


def apply_gradients(optimizer, grads, variables):
    """`optimizer.apply(grads, variables)` with `global_clipnorm` taken on the *global*, dense gradient.

    Keras clips each replica's gradient before summing them over replicas, which under a strategy
    clips the wrong vector (two replicas can step up to twice as far as one device), and it takes
    the norm of embedding gradients as IndexedSlices, where a word seen twice in the batch counts
    as two rows. Here the gradients are made dense, summed over replicas (one extra all-reduce,
    only with several replicas), the clip factor comes from that sum's norm, and the optimizer gets
    the scaled local gradients with its own clipping off: their sum over replicas is exactly the
    single-device clipped gradient."""
    clip = getattr(optimizer, "global_clipnorm", None)
    if not clip:
        optimizer.apply(grads, variables)
        return
    grads = [tf.convert_to_tensor(g) for g in grads]
    ctx = tf.distribute.get_replica_context()
    total = grads if ctx is None or ctx.num_replicas_in_sync == 1 else ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)
    scale = ops.minimum(1.0, clip / ops.maximum(tf.linalg.global_norm(total), 1e-12))
    optimizer.global_clipnorm = None  # read while tracing: this apply does not clip again
    try:
        optimizer.apply([g * scale for g in grads], variables)
    finally:
        optimizer.global_clipnorm = clip
