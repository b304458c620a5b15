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
	@echo
	$(FLASK) run --host $(HOST) --port $(PORT)

test: $(VENV)/.installed
	scripts/test

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/register_bench.py

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
