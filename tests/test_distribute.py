"""tf.distribute: two logical CPU devices under MirroredStrategy take exactly the single-device step."""

import json
import os
import subprocess
import sys

from tests.conftest import REPO


def test_mirrored_two_devices_match_one_device_for_every_model():
    """One step of each model (AE/DAE, WAE-D, WAE-S, VAE, ARAE, ARAE transfer) on one device and on two
    replicas with the same global batch and weights: the weights must agree to float precision.

    This catches every loss term scaled by the local instead of the global batch, gradient clipping
    taken per replica (Keras's own `global_clipnorm` is; see `models.base.apply_gradients`),
    batch-nonlinear terms computed per replica (MMD, BatchNorm statistics)."""
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    r = subprocess.run([sys.executable, os.path.join(REPO, "tests", "distributed_check.py")], capture_output=True,
                       text=True, env=env, cwd=REPO, timeout=900)
    lines = [l for l in r.stdout.splitlines() if l.startswith("RESULT ")]
    assert r.returncode == 0 and lines, r.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert set(result) == {"arae_transfer", "arae", "wae_d,3", "wae_s,0.1", "vae", "dae"}
    for name, m in result.items():
        assert m["max_weight_change"] > 1e-3, (name, m)  # the step did move the weights
        assert m["max_difference"] < 2e-6, (name, m)
