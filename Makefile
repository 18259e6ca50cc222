# fusion: two commands on a fresh machine — `make train` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := constraints.txt
LOCK_VENV := .lock-venv
DATA ?= data/synth-small
SEED ?= 0

.PHONY: help install lock train test test-slow lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): setup.cfg pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -c $(LOCK) pip setuptools wheel
	$(BIN)/pip install -c $(LOCK) -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install fusion (editable, dev extras) at the locked versions

lock:  ## refresh constraints.txt: resolve setup.cfg's ranges in a clean venv, freeze every version
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --upgrade pip setuptools wheel
	$(LOCK_VENV)/bin/pip install -e '.[dev]'
	{ echo '# Exact versions of the whole dependency tree, written by `make lock` (pip freeze of a'; \
	  echo '# clean venv); `make install` installs with `pip install -c $(LOCK)`.'; \
	  $(LOCK_VENV)/bin/pip freeze --all --exclude-editable; } > $(LOCK).tmp
	mv $(LOCK).tmp $(LOCK)
	rm -rf $(LOCK_VENV)

train: $(STAMP)  ## generate the small dataset if missing, then train the default model on it
	$(BIN)/fusion synth --preset small --out $(DATA) --seed $(SEED)
	$(BIN)/fusion train data.reader.root=$(DATA) seed=$(SEED) $(ARGS)

test: $(STAMP)  ## run the test suite (fast tests, under 10 minutes)
	$(BIN)/python -m pytest -n 2 -q

test-slow: $(STAMP)  ## run the heavier tests marked `slow`
	$(BIN)/python -m pytest -n 2 -q -m slow

lint: $(STAMP)  ## ruff check, format check and the import layers (lint-imports, pyproject.toml)
	$(BIN)/ruff check fusion tests
	$(BIN)/ruff format --check fusion tests
	$(BIN)/lint-imports --no-cache

clean:  ## remove caches, generated data and run folders (keeps .venv)
	rm -rf data runs .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
