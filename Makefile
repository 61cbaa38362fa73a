# The README's two commands: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORTAL := $(BIN)/portal
HOST   ?= 127.0.0.1
PORT   ?= 5000
DEMO_RESIDENTS ?= 2000

PO_FILES := $(wildcard translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run test test-sqlite test-postgres lint translations install install-dev clean help

help:
	@echo "make run   - set up everything and serve the portal on http://$(HOST):$(PORT)"
	@echo "make test  - install the dev extras and run the whole test suite"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[postgres,redis]"
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Compiled catalogues are build output: rebuilt whenever a .po file is newer.
translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(BIN)/python
	$(BIN)/pybabel compile -i $< -o $@

translations: $(MO_FILES)

run: install translations
	$(PORTAL) db upgrade
	$(PORTAL) seed
	$(PORTAL) demo --if-empty --residents $(DEMO_RESIDENTS)
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl+C to stop)"
	$(PORTAL) run --host $(HOST) --port $(PORT)

# SQLite always; PostgreSQL too when PORTAL_TEST_DATABASE_URL is set (CI sets it).
test: install-dev translations
	bash scripts/run-tests.sh

lint: install-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(MO_FILES)
