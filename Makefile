# Two commands for a fresh machine: `make run` and `make test`. Everything else is what they call.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test system-deps python-deps web openapi lint typecheck pytest

run: system-deps python-deps web
	scripts/run.sh

test: system-deps python-deps web lint typecheck pytest

system-deps:
	scripts/system-deps.sh

python-deps: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund

web: web/node_modules/.package-lock.json
	cd web && npm run build

openapi: python-deps
	$(BIN)/python -m bff openapi > web/openapi.json.tmp && mv web/openapi.json.tmp web/openapi.json
	cd web && npm run gen:api

lint: python-deps
	$(BIN)/ruff check .

typecheck: python-deps
	$(BIN)/mypy
	cd web && npm run gen:api && git diff --exit-code -- src/api/schema.d.ts
	cd web && npm run typecheck

pytest: python-deps
	$(BIN)/python -m pytest

# Issue 6's benchmarks B0–B6 on PostgreSQL + Redis (~25 min; `--quick` ~3 min; `--write-results` records the run
# in bench/RESULTS.md); not part of `test` (tests/bench runs the quick mode).
.PHONY: bench
bench: python-deps
	$(BIN)/python -m bench
