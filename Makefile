# uptime — `make run` to use it, `make test` to check it. `make help` lists everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet

.DEFAULT_GOAL := help
.PHONY: help run test test-fast lint types pytest bench lock schema sql clean assets browser

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "uptime needs Python 3.11 or newer; set PYTHON=python3.11 (or newer)")'
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "could not create $(VENV): on Debian or Ubuntu, install python3-venv (sudo apt-get install python3-venv) and run make again" >&2; exit 1; }
	@$(PIP) install --upgrade pip

# Installs are pinned by constraints.txt (regenerate with `make lock`), so a fresh clone
# installs the same versions that CI tested.
$(VENV)/.run-installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e '.[dev]'
	@touch $@ $(VENV)/.run-installed

# GraphiQL's scripts and styles: from the npm registry at the versions
# web/graphiql/package-lock.json pins, copied into the package, never committed. Without npm
# the API still runs, and GET /graphql in a browser says how to get them.
VENDOR := uptime_graphql/static/vendor

$(VENDOR)/.installed: web/graphiql/package.json web/graphiql/package-lock.json web/graphiql/copy-vendor.mjs
	@if ! command -v npm >/dev/null 2>&1; then \
	    echo "npm not found: GraphiQL at /graphql needs its files; install Node.js 18 or newer (with npm) and run make assets" >&2; \
	elif (cd web/graphiql && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
	      && node copy-vendor.mjs ../../$(VENDOR)); then \
	    touch $@; \
	else \
	    echo "npm ci failed (is the npm registry reachable?): GraphiQL at /graphql needs its files; run make assets again" >&2; \
	fi

assets: $(VENDOR)/.installed ## GraphiQL's files from the npm registry (needs npm)

run: $(VENV)/.run-installed $(VENDOR)/.installed ## embedded PostgreSQL, migrations, API+UI on http://127.0.0.1:8000, a worker
	exec $(BIN)/uptime run

test: lint types pytest ## everything CI runs: lint, types, the whole suite on a throwaway PostgreSQL

test-fast: $(VENV)/.dev-installed ## the quick tier: tests not marked slow (no browser, no program processes), under 2 min
	$(BIN)/pytest -m "not slow"

lint: $(VENV)/.dev-installed ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(VENV)/.dev-installed ## mypy --strict on the four packages
	$(BIN)/mypy uptime_core uptime_graphql uptime_worker uptime_cli

pytest: $(VENV)/.dev-installed $(VENDOR)/.installed browser ## the test suite only, in two processes
	$(BIN)/pytest -n 2 --dist loadgroup

# tests/browser drives Debian's Chromium through Playwright, which never downloads a browser
# here. As root (CI) it is installed when missing; otherwise make says what to run.
CHROMIUM := /usr/bin/chromium

browser: ## Debian's Chromium for the browser tests (installed when missing, as root)
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	elif [ "$$CI" = true ]; then \
	    echo "$(CHROMIUM) is missing and CI cannot install it (needs root and apt-get)" >&2; exit 1; \
	else \
	    echo "$(CHROMIUM) is missing, so tests/browser will fail; install it with:" >&2; \
	    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium" >&2; \
	fi

bench: $(VENV)/.dev-installed ## run every benchmark in bench/ and print its table
	@set -e; for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script; done

schema: $(VENV)/.dev-installed ## regenerate schema.graphql and docs/uptime.schema.json from the code
	$(BIN)/python -c 'from uptime_graphql.schema import schema; open("schema.graphql", "w").write(schema.as_str() + "\n")'
	$(BIN)/python -m uptime_core.configuration docs/uptime.schema.json

sql: $(VENV)/.dev-installed ## regenerate docs/sql/ (the composed statements, printed whole)
	$(BIN)/python -m uptime_core.sql docs/sql

lock: $(VENV)/.dev-installed ## re-pin constraints.txt from what is installed
	$(BIN)/python -m pip freeze --exclude-editable --disable-pip-version-check | grep -v '^-e' > constraints.txt

clean: ## remove the virtual environment and caches (not the data directory)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache web/graphiql/node_modules $(VENDOR)
