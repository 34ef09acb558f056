# The two commands: `make run` (install, migrate, load the demo town, serve on 127.0.0.1:5000)
# and `make test` (install what the tests need, run them). See README.md.

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=
# Test processes (pytest-xdist; each test has its own database): the machines have 2 cores.
TEST_WORKERS ?= 2
BENCH_ARGS ?=

BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
TRANSLATIONS := enforcement/translations
# Stamps: pip runs again only when a requirements file changed.
RUNTIME_STAMP := $(VENV)/.installed-runtime
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test bench translations messages serve migrate demo clean distclean help

help:
	@echo "make run    install, migrate, load the demo town and serve on http://$(HOST):$(PORT)"
	@echo "make test   install the test requirements and run the tests"
	@echo "make bench  page latency and audit verification at 100,000 cases / 1,000,000 events"
	@echo "make clean  remove caches and compiled translations (keeps the database in instance/)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(TEST_STAMP): requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.txt
	@touch $(RUNTIME_STAMP) $@

# Compile the .po catalogues, if there are any yet (.mo files are build output, not committed).
translations: $(RUNTIME_STAMP)
	@if find $(TRANSLATIONS) -name '*.po' 2>/dev/null | grep -q .; then \
		$(BIN)/pybabel compile -d $(TRANSLATIONS); \
	fi

# After changing interface text: refresh messages.pot and merge it into the catalogues; then
# translate the new (empty or fuzzy) entries in messages.po. tests/test_i18n.py checks the result.
messages: $(RUNTIME_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --sort-by-file --no-wrap \
		-o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l zh_Hans_CN --no-wrap --ignore-obsolete

migrate: $(RUNTIME_STAMP)
	$(FLASK) db upgrade
	$(FLASK) init-db

demo: migrate
	$(FLASK) demo

run: translations demo
	@echo "Serving on http://$(HOST):$(PORT) (Ctrl-C stops it)"
	$(FLASK) run --host $(HOST) --port $(PORT)

test: $(TEST_STAMP) translations
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: $(RUNTIME_STAMP)
	$(BIN)/python bench/pages.py $(BENCH_ARGS)

clean:
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	rm -rf .pytest_cache bench/out test-artifacts
	find $(TRANSLATIONS) -name '*.mo' -delete 2>/dev/null || true

# Also removes the virtual environment (the database in instance/ is never touched by make).
distclean: clean
	rm -rf $(VENV)
