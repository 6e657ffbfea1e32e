# The two Quick start commands live here: `make run` and `make test`.
# Only Python 3.11, bash and make are needed; everything else is installed into .venv.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test install lint clean examples screenshots scan-images time-to-ready

# Debian packages the project uses: chromium for the browser tests, fonts with Chinese characters
# for the pages and the worksheets' PDF, wrk for `jianfu bench serve`. Installed once (as root, or
# with sudo); skipped where they are already there.
SYSTEM := chromium fonts-droid-fallback fonts-dejavu-core wrk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_STAMP := $(VENV)/.system-$(shell echo $(SYSTEM) | cksum | cut -d' ' -f1)

$(SYSTEM_STAMP):
	@if dpkg -s $(SYSTEM) >/dev/null 2>&1; then echo "Debian packages: already installed"; else \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(SYSTEM); fi
	mkdir -p $(VENV) && touch $@

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "jianfu needs Python 3.11, found " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres,scale]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP) $(SYSTEM_STAMP)

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

# the README's screenshots: the browser tests, saving their screenshots into docs/screenshots
screenshots: install
	JIANFU_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/test_pages.py tests/test_first_evening.py

# a newcomer's time to a ready service: `make run` on a fresh clone into /tmp/fresh-run (a new .venv)
time-to-ready:
	tools/time_to_ready.sh /tmp/fresh-run

# the README's scan images: a marked scan as the reader receives it and the review queue, from the
# browser test of the whole scan flow (print, mark, scan, upload, confirm)
scan-images: install
	JIANFU_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/test_scan_flow.py

clean:
	rm -rf $(VENV) var
