# critmin's Airflow image: the locked dependencies (with the production extra), the package,
# the DAGs and the dbt project. Runtime state lives in the volume mounted at $CRITMIN_HOME.
FROM python:3.11-slim-bookworm

ENV UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/critmin/.venv \
    PATH=/opt/critmin/.venv/bin:$PATH \
    CRITMIN_HOME=/var/lib/critmin \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/critmin/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

RUN pip install --no-cache-dir uv
WORKDIR /opt/critmin
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --extra production --no-install-project
COPY src ./src
COPY dags ./dags
COPY dbt_project ./dbt_project
COPY expectations ./expectations
COPY data ./data
RUN uv sync --frozen --no-dev --extra production \
    && useradd --create-home --uid 50000 critmin \
    && mkdir -p "$CRITMIN_HOME" "$AIRFLOW_HOME" \
    && chown critmin "$CRITMIN_HOME" "$AIRFLOW_HOME"
USER critmin
