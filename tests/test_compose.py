"""docker-compose.yml, checked without a Docker engine: the Compose specification's JSON schema,
variables interpolated from .env.example's names, and what a team relies on (healthchecks,
secrets, the single warehouse worker, the landing and serving mounts)."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml
from airflow_cluster import AIRFLOW_ENV, SERVICES, WORKERS, read_env_file
from conftest import REPO

COMPOSE = REPO / "docker-compose.yml"
SCHEMA = REPO / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"
#: Services that use Airflow's metadata database (and so get its password and the Fernet key).
METADATA = {"airflow-init", "api-server", "scheduler", "dag-processor", "triggerer"}
#: ${NAME}, ${NAME:?message}, ${NAME:-default}; $$ is a literal $.
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[?-])(?P<arg>[^}]*))?\}")


def _interpolate(text: str, env: dict[str, str]) -> str:
    def value(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name):
            return env[name]
        if op and op.endswith("?"):
            raise KeyError(f"{name}: {arg}")
        return arg or ""

    return VARIABLE.sub(value, text.replace("$$", "\0")).replace("\0", "$")


def _example_env() -> dict[str, str]:
    names = read_env_file(REPO / ".env.example")
    return {name: f"test-{name.lower()}" for name in names}


def _compose(env: dict[str, str]) -> dict:
    return yaml.safe_load(_interpolate(COMPOSE.read_text(encoding="utf-8"), env))


@pytest.fixture(scope="module")
def compose() -> dict:
    return _compose(_example_env())


def test_the_compose_file_follows_the_compose_specification(compose):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(compose, schema)


def test_every_variable_it_needs_is_named_in_the_env_example():
    text = COMPOSE.read_text(encoding="utf-8").replace("$$", "")  # $$ is a literal $, for the shell
    used = {match["name"] for match in VARIABLE.finditer(text)}
    assert used == set(read_env_file(REPO / ".env.example"))
    with pytest.raises(KeyError, match="set AIRFLOW_JWT_SECRET in .env"):
        _compose({})  # an unset secret stops `docker compose` with the message, never defaults


def test_no_secret_is_written_in_it_or_in_the_shared_settings():
    text = COMPOSE.read_text(encoding="utf-8") + AIRFLOW_ENV.read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue
        key, _, value = line.partition(":" if ":" in line and "=" not in line else "=")
        secret = re.search(r"PASSWORD|SECRET|FERNET|TOKEN", key) and not key.endswith("_FILE")
        if secret and value.strip():
            assert "${" in value, f"a secret written in the file: {line.strip()}"
    assert all(value == "" for value in read_env_file(REPO / ".env.example").values())
    assert ".env" in (REPO / ".gitignore").read_text(encoding="utf-8").split()


def test_airflow_services_share_the_settings_and_have_healthchecks(compose):
    services = compose["services"]
    for name in (*SERVICES, "airflow-init"):
        assert services[name]["env_file"] == ["deploy/airflow.env"] or services[name]["env_file"] == (
            "deploy/airflow.env"
        )
    for name in SERVICES:
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"
    for name in WORKERS:
        assert services[name]["depends_on"]["api-server"]["condition"] == "service_healthy"


def test_the_database_password_and_fernet_key_go_only_where_the_database_is_used(compose):
    for name, service in compose["services"].items():
        environment = service.get("environment") or {}
        has_database = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in environment
        if name in METADATA:
            assert has_database and "AIRFLOW__CORE__FERNET_KEY" in environment, name
        elif name != "postgres":
            assert not has_database and "AIRFLOW__CORE__FERNET_KEY" not in environment, name
            assert not any("test-postgres_password" in str(v) for v in environment.values()), name


def test_exactly_one_warehouse_worker_with_concurrency_one(compose):
    services = compose["services"]
    warehouse = services["warehouse-worker"]
    command = warehouse["command"]
    assert command[command.index("--queues") + 1] == "warehouse"
    assert command[command.index("--concurrency") + 1] == "1"
    assert warehouse.get("container_name"), "a fixed name: `--scale warehouse-worker=2` fails"
    queues = [s["command"][s["command"].index("--queues") + 1] for n, s in services.items() if n in WORKERS]
    assert queues.count("warehouse") == 1


def test_landing_is_a_bind_mount_and_state_and_logs_are_volumes(compose):
    for name in (*SERVICES, "airflow-init"):
        volumes = compose["services"][name]["volumes"]
        assert "./landing:/var/lib/critmin/landing" in volumes
        assert "critmin-home:/var/lib/critmin" in volumes
        assert "airflow-logs:/opt/airflow/logs" in volumes
    assert {"critmin-home", "airflow-logs", "postgres-data"} <= set(compose["volumes"])
    bi = compose["services"]["bi"]
    assert bi["volumes"] == ["critmin-home:/critmin:ro"], "BI tools mount the state read-only"
    assert "read_only=True" in " ".join(bi["command"])
    assert "config={'enable_external_access': False}" in " ".join(bi["command"])


def test_the_image_carries_the_shared_settings_and_the_api_server_script():
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY deploy ./deploy" in dockerfile
    settings = read_env_file(AIRFLOW_ENV)
    assert settings["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/critmin/dags"
    assert (REPO / "deploy" / "api-server.sh").stat().st_mode & 0o111, "the script is executable"
