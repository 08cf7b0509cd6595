# critmin's Airflow image: the locked dependencies (with the production extra), the package,
# the DAGs, the dbt project, the suites, the registers and deploy/ (Airflow's settings, the
# services' start scripts). Runtime state lives in the volume mounted at $CRITMIN_HOME, the
# published serving.duckdb in the one at /var/lib/critmin-serving, task logs in the one at
# $AIRFLOW_HOME/logs. Nothing is downloaded when a container starts. docker-compose.yml tags it
# with the project's version. The base image is pinned to a Python release: change it on purpose.
FROM python:3.11.16-slim-bookworm

# UV_COMPILE_BYTECODE: the environment is root's and the tasks run as critmin, so Python could
# never cache bytecode at run time; compiled once here, each task process starts seconds sooner.
ENV UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/critmin/.venv \
    PATH=/opt/critmin/.venv/bin:$PATH \
    CRITMIN_HOME=/var/lib/critmin \
    AIRFLOW_HOME=/opt/airflow
# Airflow's settings come from deploy/airflow.env (docker-compose.yml's env_file).

# acl: setfacl, with which init-folders shares the host's landing/ and backups/ with uid 50000.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends acl \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /opt/critmin
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --extra production --no-install-project
COPY src ./src
COPY dags ./dags
COPY dbt_project ./dbt_project
COPY expectations ./expectations
COPY data ./data
COPY deploy ./deploy
RUN uv sync --frozen --no-dev --extra production \
    && useradd --create-home --uid 50000 critmin \
    && mkdir -p "$CRITMIN_HOME/landing" "$AIRFLOW_HOME/logs" /var/lib/critmin-serving /var/lib/critmin-backups \
    && chown -R critmin "$CRITMIN_HOME" "$AIRFLOW_HOME" /var/lib/critmin-serving /var/lib/critmin-backups
USER critmin
