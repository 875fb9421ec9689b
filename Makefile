# Two commands do all set-up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PA := $(VENV)/bin/policy-assistant
DATA ?= data

.PHONY: install install-dev index run test lint eval browser clean

$(VENV)/.base: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

# Test tools, the browser driver and the local model stack (llama-cpp-python compiles once, ~4 min on 2 cores).
$(VENV)/.dev: $(VENV)/.base
	$(PY) -m pip install -q -e ".[llm,test]"
	touch $@

install: $(VENV)/.base

install-dev: $(VENV)/.dev

index: install
	$(PA) index --data $(DATA)

run: index
	$(PY) app.py

# Debian's Chromium for the browser tests (Playwright drives it; it cannot download its own browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

lint: install-dev
	$(VENV)/bin/ruff check .

test: install-dev browser lint
	$(PY) -m pytest -q -p no:cacheprovider

eval: index
	$(PA) eval --data $(DATA) --gate

clean:
	rm -rf $(DATA) test-output
