# critmin's Airflow image: the locked dependencies (with the production extra), the package,
# the DAGs, the dbt project, the suites, the registers and deploy/ (Airflow's settings, the
# api-server's start script). Runtime state lives in the volume mounted at $CRITMIN_HOME; task
# logs in the one mounted at $AIRFLOW_HOME/logs. Nothing is downloaded when a container starts.
FROM python:3.11-slim-bookworm

ENV UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/critmin/.venv \
    PATH=/opt/critmin/.venv/bin:$PATH \
    CRITMIN_HOME=/var/lib/critmin \
    AIRFLOW_HOME=/opt/airflow
# Airflow's settings come from deploy/airflow.env (docker-compose.yml's env_file).

RUN pip install --no-cache-dir uv
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
    && mkdir -p "$CRITMIN_HOME/landing" "$AIRFLOW_HOME/logs" \
    && chown -R critmin "$CRITMIN_HOME" "$AIRFLOW_HOME"
USER critmin
