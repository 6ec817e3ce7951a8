# Set-up and entry points. On a fresh machine:
#   make demo   # installs into .venv, loads the shipped arae_yelp zoo model: transfer, samples, interpolation
#   make test   # installs into .venv, runs the default test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat setup.py pyproject.toml | md5sum | cut -c1-8)

$(STAMP): setup.py pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m arae_tf.demo

demo-builtin: $(STAMP)
	$(PY) -m arae_tf.demo --builtin

# Two worker processes, one test file each at a time (session fixtures are built once per worker):
# 1.5x faster on 2 cores than one process, whose time is mostly single-threaded graph tracing.
PYTEST_WORKERS := -n 2 --dist loadfile
# The slowest tests' times, to see what a 10-minute budget is spent on.
PYTEST_OPTS := $(PYTEST_WORKERS) --durations=15

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_OPTS) -m "not slow" tests

test-slow: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_OPTS) -m slow tests

.PHONY: install demo demo-builtin test test-slow

# Optional: the same default suite through Bazel, one cached target per test file (docs/bazel.md).
# Not used by `make test` or CI. bazel-install puts Debian's bazel-bootstrap (Bazel 4.2.3) in place
# when no `bazel` is on PATH (needs root, or SUDO=sudo).
SUDO ?=
bazel-install:
	command -v bazel >/dev/null || $(SUDO) apt-get install -y bazel-bootstrap

bazel-test: $(STAMP) bazel-install
	bazel test //...

.PHONY: bazel-install bazel-test
