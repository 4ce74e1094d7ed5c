# The two commands a newcomer needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint install install-test browser-deps client-deps proxy-deps bench-deps bench-write bench-reminders bench-report bench-app bench-patients clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Debian's chromium for the browser test; skipped quietly where apt-get is not ours to run.
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# Node and the pinned TypeScript tooling of the generated-client check (tests/client), for tests
# only: npm ci from the committed lock file. Skipped quietly where apt-get is not ours to run;
# the test then says why it skipped.
client-deps:
	@if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	fi
	@if command -v npm >/dev/null 2>&1 && ! [ tests/client/node_modules/.package-lock.json -nt tests/client/package-lock.json ]; then \
		cd tests/client && npm ci --no-audit --no-fund --silent; \
	fi

# Debian's nginx and openssl for the proxy test (tests/deploy/test_nginx.py); skipped quietly
# where apt-get is not ours to run (the test then says why it is skipped).
proxy-deps:
	@if ! { command -v nginx || test -x /usr/sbin/nginx; } >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx openssl >/dev/null; \
		fi; \
	fi

run: install
	$(BIN)/diary migrate
	$(BIN)/diary demo --if-empty
	$(BIN)/diary run --host $(HOST) --port $(PORT)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install-test browser-deps client-deps proxy-deps lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench-deps: install-test
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)

bench-write: bench-deps
	$(BIN)/python bench/write_path.py

bench-reminders: install
	$(BIN)/python bench/reminders.py

bench-report: install-test
	$(BIN)/python bench/report.py

# The /patients page at 1,000 and 10,000 patients against the previous per-patient analysis.
bench-patients: install-test
	$(BIN)/python bench/patients_page.py

# A year of diary queued offline in the patient app, synced once the network returns.
bench-app: install-test browser-deps
	$(BIN)/python bench/app_sync.py

clean:
	rm -rf $(VENV) .pytest_cache
