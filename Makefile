# QKV Explainer: two commands on a fresh machine — `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast bench load install install-dev browser-deps clean

run: $(VENV)/.runtime  ## serve the app on http://localhost:$(PORT)
	$(PY) -m streamlit run app.py --server.port $(PORT)

test: $(VENV)/.dev browser-deps node_modules/axe-core/axe.min.js  ## the whole test suite: unit, AppTest, real browser
	$(PY) -m pytest

test-fast: $(VENV)/.dev  ## everything except the browser layer
	$(PY) -m pytest -m "not browser"

bench: $(VENV)/.dev browser-deps  ## write bench-results.json (medians of repeated runs)
	$(PY) -m benchmarks

load: $(VENV)/.dev browser-deps  ## 10 concurrent browser visitors for 60 s: latency, errors, leaks, server RSS
	$(PY) -m benchmarks load

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/axe-core/axe.min.js: package.json  ## axe-core, injected into pages by the accessibility tests
	@command -v npm >/dev/null 2>&1 || ($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm)
	npm install --no-save
	touch $@

browser-deps:  ## Debian's Chromium (Playwright cannot download its own browser here)
	@if [ ! -x /usr/bin/chromium ]; then \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-dejavu-core; \
	fi

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache node_modules
