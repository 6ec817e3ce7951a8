"""The binaries' shared start-up (arae_tf.cli): TensorFlow's C++ start-up noise is filtered out of
standard error, everything else passes unchanged, also when the binary dies."""

import os
import subprocess
import sys
import textwrap

import pytest

from arae_tf import cli

NOISE = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"I0000 00:00:1795953243.775495    3787 port.cc:153] oneDNN custom operations are on.",
    b"I0000 00:00:1795953243.775980    3787 cudart_stub.cc:31] Could not find cuda drivers on your machine",
    b"W0000 00:00:1795953243.775980    3787 cpu_feature_guard.cc:227] This TensorFlow binary is optimized",
    b"E0000 00:00:1795953244.780931    3787 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
    b"E0000 00:00:1795953250.963773    3787 util.cc:131] oneDNN supports DT_BOOL only on platforms with AVX-512.",
    b"2025-09-17 14:44:05.157831: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] Could not find cuda",
]
KEPT = [
    b"E0000 00:00:1795953250.963773    3787 op_kernel.cc:1830] OP_REQUIRES failed at matmul_op.cc:55",
    b"F0000 00:00:1795953250.963773    3787 check.cc:10] Check failed: x == y",
    b"I1129 11:53:51.178977 139854971046784 train.py:3] absl Python logging stays",
    b"Traceback (most recent call last):",
    b"arae_tf.config_base.ConfigError: invalid config:",
    b"",
]


@pytest.mark.parametrize("line", NOISE)
def test_tensorflow_start_up_lines_are_noise(line):
    assert cli.is_tensorflow_noise(line)


@pytest.mark.parametrize("line", KEPT)
def test_other_lines_are_kept(line):
    assert not cli.is_tensorflow_noise(line)


def _binary(body):
    code = (f"import os, sys\nfrom arae_tf import cli\nNOISE = {NOISE!r}\ndef main(argv):\n"
            + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\ncli.run(main)\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)


def test_a_binary_keeps_its_own_messages_and_loses_tensorflows():
    out = _binary("""
        for line in NOISE:
            os.write(2, line + b"\\n")  # as C++ writes: straight to the file descriptor
        os.write(2, b"E0000 00:00:1.0 1 op_kernel.cc:1] a real kernel error\\n")
        print("to stdout")
        sys.exit("error: the binary's own message")
    """)
    assert out.returncode == 1
    assert out.stdout == b"to stdout\n"
    assert out.stderr == b"E0000 00:00:1.0 1 op_kernel.cc:1] a real kernel error\nerror: the binary's own message\n"


def test_a_crashing_binary_s_last_words_still_arrive():
    out = _binary("""
        os.write(2, NOISE[1] + b"\\n" + b"last words, no newline")
        os.abort()
    """)
    assert out.returncode != 0
    assert out.stderr.startswith(b"last words, no newline")  # then the faulthandler's dump, as it wrote it
    assert b"oneDNN" not in out.stderr


def test_the_filter_is_off_on_request():
    code = "import os; from arae_tf import cli; cli.quiet_tensorflow(); os.write(2, b'" + NOISE[1].decode() + "\\n')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60,
                         env={**__import__("os").environ, "ARAE_TF_TF_LOGS": "1"})
    assert out.stderr == NOISE[1] + b"\n"


def test_a_config_path_is_found_in_the_installed_package_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = cli.resolve_config_args(["prog", "--config=configs/wae_snli.py:wae_s,0.01", "--workdir=w"])
    path, _, variant = args[1][len("--config="):].partition(":")
    assert os.path.isfile(path) and path.endswith(os.path.join("configs", "wae_snli.py")) and variant == "wae_s,0.01"
    assert args[2] == "--workdir=w"
    assert cli.resolve_config_args(["prog", "--config=configs/nonexistent.py"])[1] == "--config=configs/nonexistent.py"


def test_a_config_path_in_the_working_directory_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "wae_snli.py").write_text("")
    assert cli.resolve_config_args(["p", "--config=configs/wae_snli.py"])[1] == "--config=configs/wae_snli.py"
