# newsmon — every target installs what it needs first (a fresh machine needs only Python 3.11+).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install demo airflow test test-fast lint eval bench clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "newsmon needs Python 3.11 or newer (set PYTHON=python3.12 ...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install newsmon (editable) with its dev extras

demo: $(STAMP) ## The whole day offline: replica sites, Airflow's news_monitor, mail in var/demo/outbox
	$(BIN)/newsmon demo

airflow: $(STAMP) ## Airflow with these DAGs on http://127.0.0.1:8080 until Ctrl-C (PORT=..., BIND=0.0.0.0)
	$(BIN)/newsmon airflow --host $(or $(BIND),127.0.0.1) --port $(or $(PORT),8080)

test: $(STAMP) ## Run every test (slow ones too) on SQLite and PostgreSQL
	$(BIN)/python -m pytest -q

test-fast: $(STAMP) ## Run the tests not marked slow
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP) ## ruff (format + check), AIR3 rules on dags/, mypy strict on pipeline/
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/ruff check --select AIR3 dags
	$(BIN)/mypy

eval: $(STAMP) ## Quality gates: extraction on ../shared/corpus, dedup and topic dev sets
	$(BIN)/python scripts/eval_extraction.py
	-$(BIN)/python scripts/eval_dedup.py  # report only: our dev set, then ../shared dedup sets
	-$(BIN)/python scripts/eval_topics.py
	@if [ -f ../shared/corpus/topics-dev/labels.jsonl ]; then \
	  $(BIN)/newsmon topics evaluate --labels ../shared/corpus/topics-dev/labels.jsonl || true; fi

bench: $(STAMP) ## Benchmarks recorded in BENCHMARKS.md
	$(BIN)/python scripts/bench_ingest.py
	$(BIN)/python scripts/bench_dedup.py
	$(BIN)/python scripts/bench_topics.py
	$(BIN)/python scripts/bench_crawl.py
	$(BIN)/python scripts/bench_scale.py
	$(BIN)/python scripts/bench_cli.py

clean: ## Remove var/ (the local database and demo output)
	rm -rf var
