# The two set-up commands (see README): `make run` serves the demo, `make test` runs every test.
# Both create the virtual environment on first use, so each works on a fresh clone by itself.

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 5000
FLASK = $(VENV)/bin/flask --app server

.PHONY: run test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) demo --seed 1 --if-empty
	@echo
	@echo "Groundwork is serving the demo at http://$(HOST):$(PORT)/  (API: http://$(HOST):$(PORT)/api/v1/health)"
	@echo "with the scheduler (pushes, rollups, imports, reminders) running beside it; Ctrl-C stops both."
	@echo
	@# The scheduler runs in the background and stops with the server (docs/jobs.md: a second one started
	@# by hand elsewhere would only stand by, so this is safe).
	$(VENV)/bin/python -m server.jobs.scheduler & scheduler=$$!; \
		trap 'kill $$scheduler 2>/dev/null; wait $$scheduler 2>/dev/null' EXIT INT TERM; \
		$(FLASK) run --host $(HOST) --port $(PORT)

test: $(VENV)/.installed
	scripts/test

bench: $(VENV)/.installed
	@# The benches empty and migrate the PostgreSQL database they are given: never the test databases.
	BENCH_POSTGRES_URL=$${BENCH_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/groundwork_bench} \
		$(VENV)/bin/python bench/register_bench.py $(if $(QUICK),--rows 2000,)
	BENCH_POSTGRES_URL=$${BENCH_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/groundwork_bench} \
		$(VENV)/bin/python bench/sync_bench.py $(if $(QUICK),--quick,)
	BENCH_POSTGRES_URL=$${BENCH_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/groundwork_bench} \
		$(VENV)/bin/python bench/contention_bench.py $(if $(QUICK),--quick,)
	@# Polling-day load: locust (the `bench` extra) against gunicorn and the scheduler, on a database of its own.
	$(VENV)/bin/python -c 'import locust' 2>/dev/null || $(VENV)/bin/pip install --quiet -e '.[bench]'
	LOAD_BENCH_POSTGRES_URL=$${LOAD_BENCH_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/groundwork_load_bench} \
		$(VENV)/bin/python bench/load_bench.py $(if $(QUICK),--quick,)
	BENCH_POSTGRES_URL=$${BENCH_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/groundwork_bench} \
		$(VENV)/bin/python bench/import_bench.py $(if $(QUICK),--rows 5000 --electors 7000,)
	$(VENV)/bin/python bench/login_timing_bench.py $(if $(QUICK),--rounds 10,)
	$(VENV)/bin/python bench/pwa_bench.py $(if $(QUICK),--electors 2000 --walk-electors 500 --repeats 2,)

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
