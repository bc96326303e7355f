# QKV Explainer: two commands on a fresh machine — `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
CLOUD_PYTHON ?= 3.12
LOCAL_TORCH := torch==2.13.0+cpu
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

REPLICAS ?= 2
SERVE_PORT ?= 8080
REPLICA_PORT ?= 8501
TARGET ?=

.PHONY: run serve test test-fast bench load audience cloud-check install install-dev browser-deps haproxy-deps clean

run: $(VENV)/.runtime  ## serve the app on http://localhost:$(PORT)
	$(PY) -m streamlit run app.py --server.port $(PORT)

serve: $(VENV)/.runtime haproxy-deps  ## REPLICAS=N app processes (ports REPLICA_PORT…) behind HAProxy on SERVE_PORT
	$(PY) -m benchmarks.replicas serve --replicas $(REPLICAS) --port $(SERVE_PORT) --replica-port $(REPLICA_PORT)

test: $(VENV)/.dev browser-deps haproxy-deps node_modules/axe-core/axe.min.js  ## the whole test suite: unit, AppTest, real browser
	$(PY) -m pytest

test-fast: $(VENV)/.dev  ## everything except the browser layer
	$(PY) -m pytest -m "not browser"

bench: $(VENV)/.dev browser-deps  ## write bench-results.json (medians of repeated runs)
	$(PY) -m benchmarks

load: $(VENV)/.dev browser-deps  ## 10 concurrent browser visitors for 60 s: latency, errors, leaks, server RSS
	$(PY) -m benchmarks load

audience: $(VENV)/.dev haproxy-deps  ## 25/50/100 protocol visitors on one server, then 1 vs 2 replicas' capacity (~14 min)
ifeq ($(strip $(TARGET)),)
	$(PY) -m benchmarks audience
else
	$(PY) -m benchmarks.audience --target $(TARGET)
endif

cloud-check: $(VENV)/.dev  ## Community Cloud's install (fresh Python 3.12 venv, uv, requirements.txt), then every page
	$(PY) -m benchmarks.cloud_check --python $(CLOUD_PYTHON)

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# requirements.txt links PyTorch's CPU wheel directly on Linux x86_64. A machine whose pip already
# holds that wheel (a find-links folder, like this project's machines) installs its own copy instead:
# the links give way to a plain pin, which that copy satisfies. Anywhere else the file is used as is.
$(VENV)/requirements.txt: requirements.txt | $(VENV)/bin/python
	@if $(PY) -m pip install --quiet --no-index --no-deps '$(LOCAL_TORCH)' >/dev/null 2>&1; then \
		echo "torch: $(LOCAL_TORCH) from this machine's own wheel (pip's find-links)"; \
		{ grep -v '^torch @ ' requirements.txt; echo '$(LOCAL_TORCH)'; } > $@; \
	else \
		cp requirements.txt $@; \
	fi

$(VENV)/.runtime: $(VENV)/requirements.txt
	$(PY) -m pip install --quiet -r $(VENV)/requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	grep -v '^-r requirements.txt' requirements-dev.txt > $(VENV)/requirements-dev.txt
	$(PY) -m pip install --quiet -r $(VENV)/requirements.txt -r $(VENV)/requirements-dev.txt
	touch $@

node_modules/axe-core/axe.min.js: package.json  ## axe-core, injected into pages by the accessibility tests
	@command -v npm >/dev/null 2>&1 || ($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm)
	npm install --no-save
	touch $@

browser-deps:  ## Debian's Chromium (Playwright cannot download its own browser here) and zbar-tools (zbarimg reads QR codes)
	@if [ ! -x /usr/bin/chromium ] || ! command -v zbarimg >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-dejavu-core zbar-tools; \
	fi

haproxy-deps:  ## Debian's HAProxy, the load balancer in front of `make serve`'s replicas
	@if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq haproxy; \
	fi

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache node_modules .serve
