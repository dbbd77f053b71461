# The two commands: `make up` runs the whole embedded stack, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: up test test-fast lint types pytest bench fuzz system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

up: $(STAMP)
	$(BIN)/partnerflow up

test: lint types pytest

# The quick loop while changing code: lint, types, and the unit, store, workflow and API tests
# (no browser, no end-to-end run on the dev server). `make test` runs everything.
test-fast: lint types
	$(BIN)/pytest tests/unit tests/store tests/workflow tests/api -m "not e2e and not browser" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

# Debian packages the tests start themselves: a PostgreSQL server, and Chromium for the
# browser tests (driven by Playwright through its executable path; no browser is downloaded).
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "the tests need Debian packages:$$missing (sudo apt-get install$$missing)"; exit 1; fi; \
	fi

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Longer API fuzzing with a fresh seed each run (CI runs a seeded, bounded pass in `make test`).
fuzz: $(STAMP)
	PARTNERFLOW_FUZZ_SEED= PARTNERFLOW_FUZZ_EXAMPLES=200 $(BIN)/pytest tests/e2e/test_api_fuzz.py
