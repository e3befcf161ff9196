# Linli: the two commands a fresh machine needs.
#   make demo   install everything, then run webhook + scheduler + simulator on SQLite (seeded)
#   make test   install what the tests need (incl. Debian's chromium), then run them
# Extra: make test-pg (same suite on PostgreSQL), make bench.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: demo test test-pg bench install chromium wrk

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	touch $(STAMP)

chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

wrk:
	@command -v wrk >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk >/dev/null; }

demo: $(STAMP)
	$(BIN)/python -m linli demo

# Two workers (pytest-xdist), one database each; multi-process tests share one worker.
PYTEST := $(BIN)/python -m pytest -n 2 --dist loadgroup

test: $(STAMP) chromium
	$(PYTEST)

test-pg: $(STAMP) chromium
	LINLI_TEST_DATABASE_URL=$(PG_URL) $(PYTEST)

bench: $(STAMP) wrk
	$(BIN)/pip install --disable-pip-version-check -q -r bench/requirements.txt
	$(BIN)/python bench/webhook.py
	$(BIN)/python bench/webhook.py --words free
	$(BIN)/python bench/webhook.py --words mix
	$(BIN)/python bench/understanding.py
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/reminders.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/sla_sweep.py
	$(BIN)/python bench/meetings.py
	$(BIN)/python bench/timebank.py
