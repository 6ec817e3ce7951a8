"""Bazel entry point: runs pytest or an arae_tf binary with the checkout's virtualenv (`.venv`).

Bazel's native `py_test`/`py_binary` run this file with the system `python3`, which has neither
TensorFlow nor pytest; this file only finds the checkout and `exec`s its virtualenv's interpreter:

    bazel_venv.py pytest tests/test_vocab.py [pytest args...]
        `python -m pytest -q -m "not slow" tests/test_vocab.py ...` in the checkout (the default
        selection of `make test`); a `-m` among the extra arguments replaces the default marker
        expression. A file whose tests are all deselected passes (pytest's exit status 5).
    bazel_venv.py run arae_tf.train [flags...]
        `python -m arae_tf.train flags...` in the directory `bazel run` was called from.

The checkout is where this file really lies: Bazel's runfiles tree links every source file back to
it, so resolving the links of `__file__` finds the work tree (and `../shared/data` beside it, which
the tests read). `ARAE_TF_REPO` and `ARAE_TF_PYTHON` (via `--test_env`/`--action_env`) override the
checkout and the interpreter. `make install` creates `.venv`.
"""

import os
import shlex
import subprocess
import sys


def checkout():
    root = os.environ.get("ARAE_TF_REPO") or os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    root = os.path.abspath(root)
    if not (os.path.isfile(os.path.join(root, "WORKSPACE")) and os.path.isdir(os.path.join(root, "arae_tf"))):
        sys.exit(f"bazel_venv: {root} is not the arae_tf checkout (no WORKSPACE or arae_tf/); set ARAE_TF_REPO")
    return root


def interpreter(root):
    python = os.environ.get("ARAE_TF_PYTHON") or os.path.join(root, ".venv", "bin", "python")
    if not os.access(python, os.X_OK):
        sys.exit(f"bazel_venv: no interpreter at {python}; run `make install` in {root} first")
    return python


def clean_env(root):
    env = dict(os.environ)
    # The py_test stub puts the runfiles tree on PYTHONPATH; the venv's pytest must import the checkout
    # itself (as `make test` does), or arae_tf/zoo.py and the tests would see two different trees.
    env.pop("PYTHONPATH", None)
    if env.get("TEST_TMPDIR"):
        # pytest's tmp_path and TensorFlow's scratch files go to the test's own, writable, cleaned directory.
        env["TMPDIR"] = env["TEST_TMPDIR"]
    return env


def run_pytest(root, python, test_file, args):
    cmd = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if not any(a == "-m" or (a.startswith("-m") and not a.startswith("--")) for a in args):
        cmd += ["-m", "not slow"]
    if os.environ.get("XML_OUTPUT_FILE"):
        cmd.append("--junitxml=" + os.environ["XML_OUTPUT_FILE"])  # per-test results in bazel-testlogs
    cmd += [test_file] + args
    print("bazel_venv: cd", shlex.quote(root), "&&", shlex.join(cmd), flush=True)
    os.chdir(root)
    code = subprocess.call(cmd, env=clean_env(root))
    if code == 5:  # pytest: no tests collected, i.e. every test of the file is deselected (all `slow`)
        print("bazel_venv: no test of", test_file, "selected", flush=True)
        return 0
    return code


def run_module(root, python, module, args):
    env = clean_env(root)
    env["PYTHONPATH"] = root
    os.chdir(os.environ.get("BUILD_WORKING_DIRECTORY") or root)  # `bazel run`: the caller's directory
    os.execve(python, [python, "-m", module] + args, env)


def main(argv):
    if len(argv) < 2 or argv[0] not in ("pytest", "run"):
        sys.exit("usage: bazel_venv.py pytest FILE [pytest args] | bazel_venv.py run MODULE [args]")
    root = checkout()
    python = interpreter(root)
    if argv[0] == "pytest":
        return run_pytest(root, python, argv[1], argv[2:])
    return run_module(root, python, argv[1], argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
