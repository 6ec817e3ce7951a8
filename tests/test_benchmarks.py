"""The benchmark binaries run end to end and print their tables (the figures themselves are measured
by running them, see docs/benchmarks.md, never asserted here)."""

import json
import os
import subprocess
import sys

import pytest

from benchmarks import versus_original
from tests.conftest import REPO


def test_original_figures_are_parsed_and_a_missing_one_is_named():
    out = "setup...\nTRAIN_SENTENCES_PER_S=176.4\nnoise\nGENERATION_SENTENCES_PER_S=782\n"
    assert versus_original.parse_original(out) == {"TRAIN_SENTENCES_PER_S": 176.4, "GENERATION_SENTENCES_PER_S": 782.0}
    with pytest.raises(ValueError, match=r"(?s)GENERATION_SENTENCES_PER_S=<number>.*setup"):
        versus_original.parse_original("setup...\nTRAIN_SENTENCES_PER_S=176.4\n")


def _run(module, *args, ok=True):
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    r = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=REPO, env=env,
                       timeout=900)
    if ok:
        assert r.returncode == 0, r.stderr[-3000:]
        return r.stdout
    return r


def test_versus_original_requires_the_original_command():
    r = _run("benchmarks.versus_original", ok=False)
    assert r.returncode != 0 and "--original_cmd is required" in r.stderr


@pytest.mark.slow
def test_versus_original_runs_against_a_stand_in_original():
    fake = "echo TRAIN_SENTENCES_PER_S=100; echo GENERATION_SENTENCES_PER_S=1000"
    out = _run("benchmarks.versus_original", f"--original_cmd={fake}", "--rounds=1", "--steps=3", "--repeats=1")
    rows = [l for l in out.splitlines() if l.startswith("| train ") or l.startswith("| generate ")]
    assert len(rows) == 12, out  # 6 works, in the round's table and in the medians
    first = rows[0].split("|")
    assert first[2].strip() == "100" and float(first[3]) > 0 and float(first[4]) == pytest.approx(float(first[3]) / 100, rel=0.01)


@pytest.mark.slow
def test_profile_step_times_every_part(tmp_path):
    out = _run("benchmarks.profile_step", "--precisions=float32", "--repeats=2", f"--json_out={tmp_path}/p.json")
    assert "| whole train_step |" in out and "sentences/s" in out, out
    ms = json.load(open(tmp_path / "p.json"))["results"]["float32"]["ms"]
    top = [n for n in ms if not n.startswith("  ") and n != "whole train_step"]
    assert len(top) >= 5 and all(ms[n] > 0 for n in ms), ms
    # The parts, each timed alone, account for the whole step within a factor of two.
    assert 0.5 < sum(ms[n] for n in top) / ms["whole train_step"] < 2.0, ms


def test_time_to_quality_parses_arms_and_interpolates_the_time_to_target():
    from benchmarks import time_to_quality as ttq
    assert ttq.parse_arm("fast:backbone.sampled_softmax=256,optim.ae_optimizer=adam") == (
        "fast", {"backbone.sampled_softmax": 256, "optim.ae_optimizer": "adam"})
    assert ttq.parse_arm("baseline:") == ("baseline", {})
    with pytest.raises(ValueError, match="name:field=value"):
        ttq.parse_arm("no_colon")
    with pytest.raises(ValueError, match="is not field=value"):
        ttq.parse_arm("a:backbone.x")
    c = ttq.arm_config("builtin_ae", {"backbone.sampled_softmax": 8, "optim.ae_lr": 1})
    assert c.model == "ae" and c.backbone.sampled_softmax == 8 and c.optim.ae_lr == 1.0
    with pytest.raises(KeyError, match="backbone.nope"):
        ttq.arm_config("builtin_ae", {"backbone.nope": 1})
    # Reached between the validations at 100 s (BLEU 4) and 200 s (BLEU 8): 150 s for BLEU 6.
    assert ttq.time_to_target([(100, 4.0), (200, 8.0), (300, 12.0)], 6.0) == pytest.approx(150.0)
    assert ttq.time_to_target([(100, 4.0)], 6.0) is None
    arms = [{"name": "a", "overrides": {}, "seconds_to_target": 200.0, "curve": [{"seconds": 210, "step": 9}],
             "sentences_per_second": 10.0},
            {"name": "b", "overrides": {}, "seconds_to_target": 80.0, "curve": [{"seconds": 90, "step": 9}],
             "sentences_per_second": 25.0}]
    assert ttq.summary(arms, 6.0).splitlines()[-1].endswith("| 2.50 |")
