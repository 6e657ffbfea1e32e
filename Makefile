# The two Quick start commands live here: `make run` and `make test`.
# Only Python 3.11, bash and make are needed; everything else is installed into .venv.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test install lint clean examples

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "jianfu needs Python 3.11, found " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres,scale]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# (1) install and run the main job
run: install
	$(BIN)/jianfu run

# (2) install and run the tests (CI runs exactly this through .ci/run)
test: install lint
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# the OpenAPI examples, recorded from a real session (service/api/examples.json)
examples: install
	$(BIN)/python -m tools.record_examples

clean:
	rm -rf $(VENV) var
