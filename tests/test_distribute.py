"""tf.distribute: two logical CPU devices under MirroredStrategy take exactly the single-device step."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow  # ~45 s: two-device runs of every model
def test_mirrored_two_devices_match_one_device_for_every_model():
    """One step of each model (AE/DAE, WAE-D, WAE-S, VAE, ARAE, ARAE transfer) on one device and on two
    replicas with the same global batch and weights: the weights must agree to float precision.

    This catches every loss term scaled by the local instead of the global batch, gradient clipping
    taken per replica (Keras's own `global_clipnorm` is; see `arae_tf.distribute.apply_gradients`),
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


def _free_ports(n):
    import socket
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _run_two_workers(workdir, steps):
    """The training binary as a two-worker MultiWorkerMirroredStrategy cluster on localhost (one
    process per worker, TF_CONFIG), both on the same workdir; returns their logs, chief first."""
    cluster = {"worker": [f"localhost:{p}" for p in _free_ports(2)]}
    procs = []
    for i in range(2):
        env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}))
        cmd = [sys.executable, "-m", "arae_tf.train", "--config=configs/arae_builtin.py:smoke", f"--workdir={workdir}",
               "--config.train.strategy=multiworker", f"--config.train.steps={steps}", "--config.train.eval_every=20"]
        procs.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    logs = [p.communicate(timeout=600)[0] for p in procs]
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log[-4000:]
    return logs


@pytest.mark.slow  # ~35 s: two worker processes
def test_multiworker_two_processes_train_checkpoint_from_the_chief_and_resume(tmp_path):
    """Two worker processes train ARAE together: they agree on every validation (their weights stay
    in sync), only the chief writes the workdir, and a second run resumes both from its checkpoint."""
    workdir = str(tmp_path / "run")
    chief, worker = _run_two_workers(workdir, 40)
    evals = [[l.split("] ", 1)[1] for l in log.splitlines() if "] [eval] step" in l] for log in (chief, worker)]
    assert len(evals[0]) == 2 and [l.split(" (")[0] for l in evals[0]] == [l.split(" (")[0] for l in evals[1]]
    assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == [
        "ckpt-20.json", "ckpt-20.weights.h5", "ckpt-40.json", "ckpt-40.weights.h5"]
    assert sorted(os.listdir(workdir)) == ["checkpoints", "config.json", "final", "metrics.jsonl", "tensorboard",
                                           "vocabulary.txt"]
    assert len(open(os.path.join(workdir, "metrics.jsonl")).read().splitlines()) == 2  # the chief's lines only

    chief, worker = _run_two_workers(workdir, 60)
    for log in (chief, worker):
        assert f"[resume] from {workdir}/checkpoints/ckpt-40.weights.h5 at step 40" in log
        assert "[train] step 10/60" not in log
    assert os.path.exists(os.path.join(workdir, "checkpoints", "ckpt-60.json"))
    assert json.load(open(os.path.join(workdir, "final", "metrics.json")))["step"] == 60
