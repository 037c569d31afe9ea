# palmbot: `make run` serves the sandbox bot, `make test` runs the suite.
# Installs come from requirements.lock (exact versions and hashes; `make lock` renews it from pyproject.toml's
# ranges) with uv, which this Makefile fetches from PyPI with pip into .tools/. `INSTALLER=pip` uses pip alone.
PYTHON ?= python3
INSTALLER ?= uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_STAMP := $(TOOLS)/.uv-$(UV_VERSION)
COMPILE := $(UV) pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes \
	--quiet --custom-compile-command "make lock"

.PHONY: run test screenshots deploy-test bench bench-instructions lint lock lock-check clean

# uv's wheel holds its binary: pip puts it at .tools/bin/uv (a Python without pip of its own lends a venv's).
$(UV_STAMP):
	$(PYTHON) -m pip install --quiet --target $(TOOLS) uv==$(UV_VERSION) 2>/dev/null || { $(PYTHON) -m venv \
		$(TOOLS)/venv && $(TOOLS)/venv/bin/pip install --quiet --target $(TOOLS) uv==$(UV_VERSION); }
	touch $@

ifeq ($(INSTALLER),uv)
$(STAMP): $(LOCK) pyproject.toml | $(UV_STAMP)
	$(PYTHON) -m venv --without-pip $(VENV)
	$(UV) pip sync --quiet --python $(BIN)/python $(LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@
else ifeq ($(INSTALLER),pip)
$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@
else
$(error INSTALLER must be uv or pip, not $(INSTALLER))
endif

palmbot.toml:
	cp deploy/palmbot.sandbox.toml palmbot.toml

# PORT=8090 make run: the port reaches `palmbot serve` as PALMBOT_PORT, a setting like any other.
run: $(STAMP) palmbot.toml
	$(BIN)/palmbot db upgrade
	$(BIN)/palmbot members import deploy/demo/roster.csv
	$(if $(PORT),PALMBOT_PORT=$(PORT)) $(BIN)/palmbot serve

test: $(STAMP)
	$(BIN)/pytest -q

screenshots: $(STAMP)
	$(BIN)/pytest -q tests/browser

# nginx in front of three replicas on PostgreSQL and Redis, one killed mid-campaign (tests/deploy/run.py).
deploy-test: $(STAMP)
	$(BIN)/python -m tests.deploy.run

lint: $(STAMP) $(if $(filter uv,$(INSTALLER)),lock-check)
	$(BIN)/ruff check bot handlers scheduler tests
	$(BIN)/mypy

# Renew the lock after changing pyproject.toml's dependencies (versions already locked are kept where they fit).
lock: | $(UV_STAMP)
	$(COMPILE) --output-file $(LOCK)

# Fails when pyproject.toml's dependencies are not what the lock was made from.
lock-check: | $(UV_STAMP)
	cp $(LOCK) $(TOOLS)/check.lock
	$(COMPILE) --output-file $(TOOLS)/check.lock
	diff -u $(LOCK) $(TOOLS)/check.lock || { echo "$(LOCK) is out of date: run make lock" >&2; exit 1; }

bench: $(STAMP)
	$(BIN)/python tests/bench/bench_webhook.py
	$(BIN)/python tests/bench/bench_fanout.py
	$(BIN)/python tests/bench/bench_stars.py

# Instructions a message, counted by valgrind (repeatable where the timings of `bench` drift): the message path
# alone, and the whole webhook against the baseline (issue 17's ratio in instructions).
bench-instructions: $(STAMP)
	$(BIN)/python tests/bench/bench_instructions.py

clean:
	rm -rf $(VENV) $(TOOLS) data
