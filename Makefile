# critmin: `make demo` then `make test`. `make` alone lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

# Runtime state (landing, raw zone, DuckDB files, embedded Airflow) lives in $CRITMIN_HOME, by
# default warehouse/ here (critmin.settings decides; set CRITMIN_HOME to move it).
# Never let uv download a Python build: the machine's Python 3.11 is used.
export UV_PYTHON_DOWNLOADS := never
# Trust the machine's certificate store (corporate or mirror CAs), as pip and curl do.
export UV_SYSTEM_CERTS ?= true

# uv from PATH, else a private copy installed from PyPI into .tools/.
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
PYTHON_FOR_TOOLS := $(or $(shell command -v python3.11 2>/dev/null),python3)
VENV_STAMP := .venv/.critmin-installed
# Every environment is installed with its bytecode compiled: where PYTHONDONTWRITEBYTECODE is set
# (as on our CI machines) Python never caches it, and each new process would compile Airflow, dbt
# and Great Expectations from source again (measured: 9.1 s to import them, 4.3 s with bytecode;
# uv compiles the whole environment once in about 10 s on 2 cores).
SYNC := sync --frozen --compile-bytecode --python 3.11

# The distributed test's own environment: the locked dependencies with the production extra.
PRODUCTION_VENV := .venv-production

# The BI clients the tests open serving.duckdb with: Superset's driver stack (SQLAlchemy 1.4,
# duckdb-engine) with DuckDB 1.4 and 1.5, each locked in tests/bi/duckdb-*/ and kept apart.
BI_CLIENTS := 1.4 1.5
BI_STAMPS := $(foreach v,$(BI_CLIENTS),.venv-bi/duckdb-$(v)/.critmin-installed)

.PHONY: help install bi-clients browser demo run-month backfill run-tables run-registers airflow show brief docs analysis warehouse-status warehouse-release backup rebuild test test-fast test-ui-session test-distributed bi-superset lint bench synth

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "} {printf "  make %-12s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	@echo "uv not found: installing it into .tools/"
	$(PYTHON_FOR_TOOLS) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

$(VENV_STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) $(SYNC)
	@touch $@

install: $(VENV_STAMP) ## Install the locked dependencies into .venv (installs uv if missing)

.venv-bi/duckdb-%/.critmin-installed: tests/bi/duckdb-%/pyproject.toml tests/bi/duckdb-%/uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/.venv-bi/duckdb-$* $(UV) $(SYNC) --project tests/bi/duckdb-$*
	@touch $@

bi-clients: $(BI_STAMPS) ## Install the BI client environments the tests use (DuckDB 1.4 and 1.5 with SQLAlchemy 1.4)

# Apache Superset as docs/bi.md installs it, locked in tests/bi/superset/, for tests/test_superset.py.
SUPERSET_STAMP := .venv-bi/superset/.critmin-installed

$(SUPERSET_STAMP): tests/bi/superset/pyproject.toml tests/bi/superset/uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/.venv-bi/superset $(UV) $(SYNC) --project tests/bi/superset
	@touch $@

bi-superset: $(VENV_STAMP) $(BI_STAMPS) $(SUPERSET_STAMP) ## Follow docs/bi.md's Superset steps in Superset 6.1 through its REST API (installs it; a few minutes)
	CRITMIN_SUPERSET=1 $(UV) run --frozen pytest tests/test_superset.py -v -p no:cacheprovider

demo: $(VENV_STAMP) ## Land the sample downloads and run customs_monthly for every sample month
	$(UV) run --frozen critmin demo

run-month: $(VENV_STAMP) ## Run customs_monthly for one data month: make run-month MONTH=2025-05 [BACKFILL=1]
	@test -n "$(MONTH)" || { echo "usage: make run-month MONTH=YYYY-MM [BACKFILL=1]"; exit 2; }
	$(UV) run --frozen critmin run-month $(MONTH) $(if $(BACKFILL),--backfill)

backfill: $(VENV_STAMP) ## Run customs_monthly for every landed month of a range, in one process: make backfill FROM=2024-01 TO=2025-12
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make backfill FROM=YYYY-MM TO=YYYY-MM [BACKFILL=1]"; exit 2; }
	$(UV) run --frozen critmin backfill $(FROM) $(TO) $(if $(BACKFILL),--backfill)

run-tables: $(VENV_STAMP) ## Run commodity_tables for one release month (GACC's headline rare-earth tables): make run-tables MONTH=2025-04
	@test -n "$(MONTH)" || { echo "usage: make run-tables MONTH=YYYY-MM [BACKFILL=1]"; exit 2; }
	$(UV) run --frozen critmin run-tables $(MONTH) $(if $(BACKFILL),--backfill)

run-registers: $(VENV_STAMP) ## Validate, load and publish data/registers (agreements, export-control events)
	$(UV) run --frozen critmin run-registers

airflow: $(VENV_STAMP) ## Airflow's UI and REST API on this machine until Ctrl-C: make airflow [PORT=8080]
	$(UV) run --frozen critmin airflow --port $(or $(PORT),8080)

show: $(VENV_STAMP) ## Print the latest month (or MONTH=YYYY-MM) from serving.duckdb
	$(UV) run --frozen critmin show $(if $(MONTH),--month $(MONTH))

brief: $(VENV_STAMP) ## Rewrite a month's brief (briefs/YYYY-MM.md, .html, .png): make brief MONTH=2025-09 [AS_OF=2025-10-20]
	@test -n "$(MONTH)" || { echo "usage: make brief MONTH=YYYY-MM [AS_OF=YYYY-MM-DD]"; exit 2; }
	$(UV) run --frozen critmin brief $(MONTH) $(if $(AS_OF),--as-of $(AS_OF))

docs: $(VENV_STAMP) ## Build the dbt docs site into docs/dbt/ under CRITMIN_HOME, linked from docs/index.html
	$(UV) run --frozen critmin docs

analysis: $(VENV_STAMP) ## Run a worked query on serving.duckdb: make analysis NAME=exports_by_destination [VARS="partner_iso3=DEU"]
	$(UV) run --frozen critmin analysis $(NAME) $(foreach v,$(VARS),--var $(v))

warehouse-status: $(VENV_STAMP) ## Who holds the warehouse, its stage and Airflow state, and the loads not yet published
	$(UV) run --frozen critmin warehouse status

warehouse-release: $(VENV_STAMP) ## Free the warehouse from a crashed run: make warehouse-release RUN=<run id>
	@test -n "$(RUN)" || { echo "usage: make warehouse-release RUN=<run id> (see make warehouse-status)"; exit 2; }
	$(UV) run --frozen critmin warehouse release --run '$(RUN)'

backup: $(VENV_STAMP) ## A consistent copy of CRITMIN_HOME, taken between runs: make backup DEST=/path/to/backups
	@test -n "$(DEST)" || { echo "usage: make backup DEST=<folder>"; exit 2; }
	$(UV) run --frozen critmin backup '$(DEST)'

rebuild: $(VENV_STAMP) ## Rebuild the warehouse from the raw zone alone, into a new home: make rebuild INTO=<new folder>
	@test -n "$(INTO)" || { echo "usage: make rebuild INTO=<new, empty folder>"; exit 2; }
	$(UV) run --frozen critmin rebuild --into '$(INTO)'

#: Debian's Chromium and its driver, for the browser tests (never a downloaded browser).
CHROMIUM := /usr/bin/chromium /usr/bin/chromedriver
APT := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "the browser tests need Debian's chromium and chromium-driver (apt-get not found)"; exit 1; }
	$(APT) install -y --no-install-recommends chromium chromium-driver || \
		{ $(APT) update && $(APT) install -y --no-install-recommends chromium chromium-driver; }

browser: $(CHROMIUM) ## Install Debian's chromium and chromium-driver for the browser tests (when missing)

test: $(VENV_STAMP) $(BI_STAMPS) $(CHROMIUM) ## Run the test suite (unit, dbt, DAG integrity, end to end, browser)
	$(UV) run --frozen pytest -n 2 --dist loadfile --no-loadscope-reorder

test-fast: $(VENV_STAMP) $(BI_STAMPS) $(CHROMIUM) ## The inner loop: every test but the end-to-end runs of the DAGs
	$(UV) run --frozen pytest -m "not e2e"

test-ui-session: $(VENV_STAMP) ## Ten minutes of UI clicks on make airflow while runs go: no HTTP 5xx (tests/test_ui_session.py)
	CRITMIN_UI_SESSION=1 $(UV) run --frozen pytest tests/test_ui_session.py -v -p no:cacheprovider

test-distributed: | $(UV) ## The production shape (Celery, PostgreSQL, Redis) as separate processes on this machine
	UV_PROJECT_ENVIRONMENT=$(PRODUCTION_VENV) $(UV) $(SYNC) --extra production
	CRITMIN_DISTRIBUTED=1 UV_PROJECT_ENVIRONMENT=$(PRODUCTION_VENV) \
		$(UV) run --frozen --extra production pytest tests/test_distributed.py -v -p no:cacheprovider

lint: $(VENV_STAMP) ## ruff, the import-layer contract, mypy on src/, sqlfluff on the dbt models and analyses
	$(UV) run --frozen ruff check src dags tests scripts bench
	$(UV) run --frozen ruff format --check src dags tests scripts bench
	$(UV) run --frozen lint-imports
	$(UV) run --frozen mypy
	$(UV) run --frozen sqlfluff lint dbt_project/models dbt_project/tests dbt_project/analyses

bench: $(VENV_STAMP) ## Pipeline vs plain DuckDB on SYNTHETIC data -> docs/benchmarks.md: QUICK=1 (~5 min) or full (~8 min)
	$(UV) run --frozen python -m bench.run $(if $(filter 1 yes true,$(QUICK)),--quick)

synth: $(VENV_STAMP) ## SYNTHETIC GACC downloads for scale tests: make synth [MONTHS=1 ROWS=1000000 OUT=/tmp/critmin-synthetic]
	$(UV) run --frozen python -m bench.synthetic --out $(or $(OUT),/tmp/critmin-synthetic) \
		--months $(or $(MONTHS),1) --rows $(or $(ROWS),1000000)
