"""What every binary shares: its start-up (TensorFlow's C++ start-up messages filtered out) and the
console-script entry points (`arae-train`, `arae-evaluate`, ...; see setup.py).

TensorFlow 2.21 writes its C++ start-up messages ("oneDNN custom operations are on", "Could not find
cuda drivers", "failed call to cuInit", ...) through absl's C++ logging before anything can
configure it, and `TF_CPP_MIN_LOG_LEVEL` no longer silences them. `run` therefore passes the
process's standard error through a small filter process that drops exactly those lines — C++
info/warning lines, the "All log messages before absl::InitializeLog()" banner and the known
no-GPU errors — and forwards everything else unchanged (Python tracebacks, warnings, absl Python
logging, any other C++ error). The filter is a separate process, so it still forwards what a
crashing binary wrote last. Set `ARAE_TF_TF_LOGS=1` to see TensorFlow's messages unfiltered.
"""

import atexit
import os
import re
import signal
import sys
import time

_NOISE = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.-]+\.cc:\d+\] "
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] \S+\.cc:\d+\] "
    rb"|E\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.-]+\.cc:\d+\] "
    rb"(failed call to cuInit|Unable to register cu\w+ factory|oneDNN supports DT_\w+ only on platforms))")

_FILTERED = "_ARAE_TF_STDERR_FILTERED"


def is_tensorflow_noise(line):
    """True for a standard-error line (bytes) that `run` drops."""
    return bool(_NOISE.match(line))


def _forward(read_fd, out_fd):
    """The filter process: copies lines from `read_fd` to `out_fd`, less TensorFlow's noise, until EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the binary; its traceback must still pass
    with os.fdopen(read_fd, "rb", buffering=0) as src:
        pending = b""
        while True:
            chunk = src.read(65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not is_tensorflow_noise(line))
            if kept:
                os.write(out_fd, kept)
        if pending and not is_tensorflow_noise(pending):
            os.write(out_fd, pending)


def quiet_tensorflow():
    """Routes this process's standard error (file descriptor 2, so C++ writes too) through the
    noise filter. Call before TensorFlow is imported; once per process (later calls do nothing)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if os.environ.get("ARAE_TF_TF_LOGS") or os.environ.get(_FILTERED):
        return
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the filter: keeps only the read end and the real standard error
        os.close(write_fd)
        try:
            _forward(read_fd, 2)
        finally:
            os._exit(0)
    os.close(read_fd)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    os.environ[_FILTERED] = "1"  # subprocesses write into the same filter
    atexit.register(_drain, pid)


def _drain(pid, wait_s=2.0):
    """At exit: closes this process's end of the filter and waits (briefly) until the filter has
    forwarded everything, so the binary's last words come before the shell's next prompt."""
    try:
        sys.stderr.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
            time.sleep(0.01)
    except (OSError, ValueError):
        pass


def show_progress():
    """Shows the library's progress lines (absl logging at INFO) outside the binaries, e.g. in a
    notebook before `train_lib.train_and_evaluate`: the binaries show them already."""
    from absl import logging
    logging.set_verbosity(logging.INFO)
    logging.use_absl_handler()


def resolve_config_args(argv):
    """`--config=configs/<file>.py[:variant]` names the repository's config file; where no such file
    exists (an installed package, another working directory), the copy installed as
    `arae_tf.configs` is used. Returns the new argument list."""
    out = []
    for arg in argv:
        if arg.startswith("--config="):
            path, sep, variant = arg[len("--config="):].partition(":")
            if not os.path.exists(path) and os.path.dirname(os.path.normpath(path)) in ("configs", ""):
                from arae_tf.zoo import package_data_dir
                installed = os.path.join(package_data_dir("arae_tf.configs"), os.path.basename(path))
                if os.path.isfile(installed):
                    arg = f"--config={installed}{sep}{variant}"
        out.append(arg)
    return out


def run(main):
    """`absl.app.run(main)` for a binary, with TensorFlow's start-up noise filtered out and
    `--config=configs/...` found in the installed package when not in the working directory."""
    quiet_tensorflow()
    from absl import app
    app.run(main, argv=resolve_config_args(sys.argv))


def _entry(module):
    def entry():
        import importlib
        run(importlib.import_module(module).main)
    entry.__doc__ = f"Console script for `python -m {module}`."
    return entry


train = _entry("arae_tf.train")
evaluate = _entry("arae_tf.evaluate")
export = _entry("arae_tf.export")
make_preset = _entry("arae_tf.make_preset")
fit_prior = _entry("arae_tf.fit_prior")
add_code_fit = _entry("arae_tf.add_code_fit")
checkpoint_sweep = _entry("arae_tf.checkpoint_sweep")
tables = _entry("arae_tf.tables")
offsets = _entry("arae_tf.offsets")
semisupervised = _entry("arae_tf.semisupervised")
demo = _entry("arae_tf.demo")
transfer_sweep = _entry("arae_tf.transfer_sweep")
