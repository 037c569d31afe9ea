# palmbot: `make run` serves the sandbox bot, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test screenshots deploy-test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

palmbot.toml:
	cp deploy/palmbot.sandbox.toml palmbot.toml

run: $(STAMP) palmbot.toml
	$(BIN)/palmbot db upgrade
	$(BIN)/palmbot members import deploy/demo/roster.csv
	$(BIN)/palmbot serve --host 127.0.0.1 --port 8080

test: $(STAMP)
	$(BIN)/pytest -q

screenshots: $(STAMP)
	$(BIN)/pytest -q tests/browser

# nginx in front of three replicas on PostgreSQL and Redis, one killed mid-campaign (tests/deploy/run.py).
deploy-test: $(STAMP)
	$(BIN)/python -m tests.deploy.run

lint: $(STAMP)
	$(BIN)/ruff check bot handlers scheduler tests
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python tests/bench/bench_webhook.py
	$(BIN)/python tests/bench/bench_fanout.py
	$(BIN)/python tests/bench/bench_stars.py

clean:
	rm -rf $(VENV) data
