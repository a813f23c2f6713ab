# Two entry points (see README): `make demo` and `make test`. Each builds the virtualenv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
OUT    ?= out

.PHONY: demo test lint bench setup clean
.DEFAULT_GOAL := demo

setup: $(VENV)/.installed

# torch first, so the project's plain `torch>=2.1` requirement is already met by a CPU build:
# one already in the venv wins; else a wheel from pip's own find-links (this machine has a CPU
# wheel on disk); else PyTorch's CPU index. Nothing pins users who `pip install deform3d` elsewhere.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null \
	  || $(PIP) install -q --no-index --no-deps torch 2>/dev/null \
	  || $(PIP) install -q --no-deps torch --index-url https://download.pytorch.org/whl/cpu
	$(PIP) install -q -e '.[test,gui,notebook,cluster]'
	touch $@

demo: setup
	$(VENV)/bin/deform3d demo --out $(OUT)/demo

test: setup
	$(PY) -m pytest

# ruff (lint, then the format check) and mypy on the package; their settings live in pyproject.toml.
lint: setup
	$(PIP) install -q -e '.[dev]'
	$(VENV)/bin/ruff check deform3d
	$(VENV)/bin/ruff format --check deform3d
	$(VENV)/bin/mypy

bench: setup
	$(PIP) install -q -e '.[bench]'
	$(PY) benchmarks/train.py
	$(PY) benchmarks/render.py
	$(PY) benchmarks/video.py
	$(PY) benchmarks/sweep.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
