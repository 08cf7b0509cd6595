"""docker-compose.yml, checked without a Docker engine: the Compose specification's JSON schema,
variables interpolated from .env.example's names, and what a team relies on to operate it: the
UI on loopback (HTTPS only through the opt-in proxy), a Redis password, grace periods long enough
for a warehouse task, an init process, pinned images, memory limits that fit DuckDB's settings,
rotated logs, prepared folders, a metadata backup before each migration, the backups folder, and
a BI mount that holds serving.duckdb alone."""

from __future__ import annotations

import json
import re
import tomllib

import jsonschema
import pytest
import yaml
from airflow_cluster import AIRFLOW_ENV, SERVICES, WORKERS, read_env_file
from conftest import REPO

COMPOSE = REPO / "docker-compose.yml"
SCHEMA = REPO / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"
DEPLOY = REPO / "deploy"
#: Services that use Airflow's metadata database (and so get its password and the Fernet key).
METADATA = {"airflow-init", "api-server", "scheduler", "dag-processor", "triggerer"}
#: Services that run one command to completion before the others start.
ONE_SHOT = {"init-folders", "metadata-backup", "airflow-init"}
#: Opt-in services, started only with `--profile`.
PROFILED = {"tls-proxy": "tls", "bi": "bi"}
#: ${NAME}, ${NAME:?message}, ${NAME:-default}; $$ is a literal $.
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[?-])(?P<arg>[^}]*))?\}")
#: A URL with a password in it: scheme://user:password@host.
URL_PASSWORD = re.compile(r"\w+://[^\s/@:]*:(?P<password>[^\s/@]+)@")
SERVING = "/var/lib/critmin-serving"
BACKUPS = "/var/lib/critmin-backups"


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


def _bytes(size: str) -> int:
    """A Docker byte value: 512m, 1g (powers of 1024)."""
    match = re.fullmatch(r"(\d+)([kmg]?)b?", str(size).lower())
    assert match, f"not a Docker size: {size}"
    return int(match[1]) * 1024 ** " kmg".index(match[2] or " ")


def _duckdb_bytes(size: str) -> int:
    """A DuckDB memory_limit: 4GB (powers of 1000), 4GiB (powers of 1024)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT])(i?)B", str(size))
    assert match, f"not a DuckDB size: {size}"
    return int(float(match[1]) * (1024 if match[3] else 1000) ** (" KMGT".index(match[2])))


def _seconds(duration: str) -> float:
    """A Compose duration: 30s, 1m, 1m30s, 2h."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", str(duration))
    assert parts and "".join(n + u for n, u in parts) == str(duration), f"not a duration: {duration}"
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[u] for n, u in parts)


@pytest.fixture(scope="module")
def compose() -> dict:
    return _compose(_example_env())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    return compose["services"]


def test_the_compose_file_follows_the_compose_specification(compose):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(compose, schema)


def test_every_variable_it_needs_is_named_in_the_env_example():
    text = COMPOSE.read_text(encoding="utf-8").replace("$$", "")  # $$ is a literal $, for the shell
    used = {match["name"] for match in VARIABLE.finditer(text)}
    assert used == set(read_env_file(REPO / ".env.example"))
    with pytest.raises(KeyError, match=r"set \w+ in \.env"):
        _compose({})  # an unset secret stops `docker compose` with the message, never defaults
    for name in ("REDIS_PASSWORD", "POSTGRES_PASSWORD", "AIRFLOW_JWT_SECRET"):
        env = {key: value for key, value in _example_env().items() if key != name}
        with pytest.raises(KeyError, match=f"set {name} in .env"):
            _compose(env)


def test_no_secret_is_written_in_it_or_in_the_shared_settings():
    text = COMPOSE.read_text(encoding="utf-8") + AIRFLOW_ENV.read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue
        key, _, value = line.partition(":" if ":" in line and "=" not in line else "=")
        secret = re.search(r"PASSWORD|SECRET|FERNET|TOKEN|_AUTH$", key.strip()) and not key.endswith("_FILE")
        if secret and value.strip():
            assert "${" in value, f"a secret written in the file: {line.strip()}"
    for path in [COMPOSE, *DEPLOY.iterdir()]:
        for match in URL_PASSWORD.finditer(path.read_text(encoding="utf-8")):
            assert match["password"].startswith("${"), f"{path.name}: a password written in a URL"
    assert all(value == "" for value in read_env_file(REPO / ".env.example").values())
    assert ".env" in (REPO / ".gitignore").read_text(encoding="utf-8").split()


def test_airflow_services_share_the_settings_and_have_healthchecks(services):
    for name in (*SERVICES, "airflow-init"):
        assert services[name]["env_file"] in (["deploy/airflow.env"], "deploy/airflow.env")
    for name in SERVICES:
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"
    for name in WORKERS:
        assert services[name]["depends_on"]["api-server"]["condition"] == "service_healthy"
    init = services["airflow-init"]["depends_on"]
    assert (
        init["init-folders"]["condition"]
        == init["metadata-backup"]["condition"]
        == "service_completed_successfully"
    )


def test_the_database_password_and_fernet_key_go_only_where_the_database_is_used(services):
    for name, service in services.items():
        environment = service.get("environment") or {}
        has_database = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in environment
        if name in METADATA:
            assert has_database and "AIRFLOW__CORE__FERNET_KEY" in environment, name
        elif name not in ("postgres", "metadata-backup"):
            assert not has_database and "AIRFLOW__CORE__FERNET_KEY" not in environment, name
            assert not any("test-postgres_password" in str(v) for v in environment.values()), name
    backup = services["metadata-backup"]["environment"]
    assert backup["PGPASSWORD"] == "test-postgres_password" and "AIRFLOW__CORE__FERNET_KEY" not in backup


def test_the_ui_and_api_are_published_on_loopback_only(services):
    """Plain HTTP carries the login and the tokens: only this host reaches port 8080."""
    assert services["api-server"]["ports"] == ["127.0.0.1:8080:8080"]
    for name, service in services.items():
        if name in PROFILED:
            continue
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_https_comes_from_an_opt_in_proxy_with_its_config_in_deploy(services):
    proxy = services["tls-proxy"]
    assert proxy["profiles"] == ["tls"], "never started by a plain `docker compose up`"
    assert sorted(proxy["ports"]) == ["443:443", "80:80"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert proxy["environment"]["CRITMIN_DOMAIN"] == "test-critmin_domain"
    assert _compose({**_example_env(), "CRITMIN_DOMAIN": ""})["services"]["tls-proxy"]["environment"] == {
        "CRITMIN_DOMAIN": "localhost"
    }
    assert proxy["depends_on"]["api-server"]["condition"] == "service_healthy"
    caddyfile = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    site = caddyfile[caddyfile.index("{$CRITMIN_DOMAIN}") :]
    assert "reverse_proxy api-server:8080" in site
    assert re.search(r"@execution path /execution /execution/\*\s+respond @execution 404", site), (
        "the workers' execution API is not served to the network"
    )


def test_redis_requires_a_password_that_the_broker_urls_and_the_healthcheck_use(services):
    redis = services["redis"]
    password = "test-redis_password"
    assert redis["environment"] == {"REDISCLI_AUTH": password}  # redis-cli reads it from there
    command = " ".join(redis["command"])
    assert '--requirepass "$REDISCLI_AUTH"' in command and command.startswith(
        "sh -c exec docker-entrypoint.sh"
    )
    health = " ".join(redis["healthcheck"]["test"])
    assert "redis-cli ping" in health and "= PONG" in health, "a NOAUTH reply must fail the check"
    for name, service in services.items():  # never on a command line that `docker ps` or `ps` shows
        for what in ("command", "healthcheck"):
            assert password not in json.dumps(service.get(what)), f"{name}'s {what} shows the Redis password"
    for name in (*SERVICES, "airflow-init"):
        environment = services[name]["environment"]
        assert environment["AIRFLOW__CELERY__BROKER_URL"] == f"redis://:{password}@redis:6379/0"
        assert environment["AIRFLOW__CELERY__RESULT_BACKEND"] == f"redis://:{password}@redis:6379/1"


def test_the_warehouse_worker_gets_time_to_finish_its_task_when_stopped(services):
    """`docker compose up -d --build` stops a worker with SIGTERM; Celery's warm shutdown finishes
    the running task, within the grace period, before Docker's SIGKILL."""
    grace = {
        name: _seconds(s["stop_grace_period"]) for name, s in services.items() if "stop_grace_period" in s
    }
    for name in set(services) - ONE_SHOT - set(PROFILED):
        assert grace.get(name, 10) > 10, f"{name} keeps Docker's 10 s"
    assert grace["warehouse-worker"] >= 600, "a warehouse task (a month's load or dbt build) gets 10 minutes"
    assert grace["warehouse-worker"] == max(grace.values())
    assert grace["worker"] >= 120


def test_airflow_services_run_under_an_init_process(services):
    """An init as PID 1 forwards SIGTERM and reaps the workers' task processes."""
    for name in (*SERVICES, *ONE_SHOT - {"metadata-backup"}):
        assert services[name].get("init") is True, f"{name} has no init"


def test_every_image_is_pinned_to_a_release(services):
    version = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    for name, service in services.items():
        image, _, tag = service["image"].partition(":")
        assert tag and tag != "latest", f"{name}: {service['image']} floats"
        if image == "critmin-airflow":
            assert tag == version, f"{name}: the critmin image is tagged with the project version"
        elif image == "postgres":  # PostgreSQL's releases have two numbers: 16.15
            assert re.fullmatch(r"\d+\.\d+-\w+", tag), f"{name}: {service['image']} is not a release"
        else:
            assert re.fullmatch(r"\d+\.\d+\.\d+(-[\w.]+)?", tag), (
                f"{name}: {service['image']} is not a release"
            )
    assert services["metadata-backup"]["image"] == services["postgres"]["image"], "pg_dump is the server's"
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11\.\d+-slim-bookworm$", dockerfile, re.M), "the base image is pinned"
    assert re.search(r"pip install [^\n]*\buv==\d+\.\d+\.\d+", dockerfile), "uv is pinned"


def test_every_service_has_a_memory_limit_and_the_workers_duckdb_fits_in_it(services):
    for name, service in services.items():
        assert _bytes(service["mem_limit"]) > 0, f"{name} has no memory limit"
    for name in WORKERS:
        worker = services[name]
        environment, command = worker["environment"], worker["command"]
        concurrency = int(command[command.index("--concurrency") + 1])
        duckdb = _duckdb_bytes(environment["CRITMIN_DUCKDB_MEMORY_LIMIT"]) * concurrency
        # DuckDB's default is 80% of the memory per process: under a limit, its own must leave room
        # for Python (the worker, Airflow, dbt, Great Expectations).
        assert duckdb <= 0.75 * _bytes(worker["mem_limit"]), f"{name}: DuckDB's limit does not fit"
        assert int(environment["CRITMIN_DUCKDB_THREADS"]) >= 1
    assert _duckdb_bytes("4GB") == 4 * 1000**3 and _duckdb_bytes("1GiB") == 1024**3
    assert _bytes("6g") == 6 * 1024**3 and _bytes("1536m") == 1536 * 1024**2


def test_every_service_rotates_its_logs(services):
    for name, service in services.items():
        logging = service.get("logging") or {}
        assert logging.get("driver") == "json-file", f"{name} keeps Docker's default logging"
        options = logging["options"]
        assert _bytes(options["max-size"]) <= 100 * 1024**2 and 1 <= int(options["max-file"]) <= 10, name


def test_landing_is_a_bind_mount_and_state_serving_and_logs_are_volumes(compose, services):
    for name in (*SERVICES, "airflow-init"):
        volumes = services[name]["volumes"]
        assert "./landing:/var/lib/critmin/landing" in volumes
        assert "critmin-home:/var/lib/critmin" in volumes
        assert f"critmin-serving:{SERVING}" in volumes, "publish writes serving.duckdb in its own volume"
        assert "airflow-logs:/opt/airflow/logs" in volumes
        assert services[name]["environment"]["CRITMIN_SERVING_DIR"] == SERVING
    assert {"critmin-home", "critmin-serving", "airflow-logs", "postgres-data"} <= set(compose["volumes"])
    assert "down -v" in COMPOSE.read_text(encoding="utf-8"), "the file says what deletes the volumes"


def test_bi_readers_mount_the_serving_volume_alone_read_only(services):
    bi = services["bi"]
    assert bi["profiles"] == ["bi"]
    assert bi["volumes"] == ["critmin-serving:/critmin:ro"], "never the home (warehouse.duckdb, raw zone)"
    command = " ".join(bi["command"])
    assert "'/critmin/serving.duckdb', read_only=True" in command
    assert "config={'enable_external_access': False}" in command


def test_the_home_can_be_backed_up_into_a_host_folder(services):
    """`docker compose exec warehouse-worker critmin backup /var/lib/critmin-backups`."""
    assert f"./backups:{BACKUPS}" in services["warehouse-worker"]["volumes"]
    assert f"./backups:{BACKUPS}" in services["init-folders"]["volumes"]
    assert "./backups:/backups" in services["metadata-backup"]["volumes"]


def test_the_folders_are_prepared_as_root_without_any_secret(services):
    """`mkdir -p landing backups` is all a user does: init-folders gives uid 50000 the rest."""
    init = services["init-folders"]
    assert init["user"] == "0:0" and init["restart"] == "no"
    assert "environment" not in init and "env_file" not in init, "root gets no secret"
    command = init["command"]
    own, share = (
        command[command.index("--own") + 1 : command.index("--share")],
        command[command.index("--share") + 1 :],
    )
    assert command[0] == "/opt/critmin/deploy/init-folders.sh"
    assert set(own) == {"/var/lib/critmin", SERVING, "/opt/airflow/logs"}
    assert set(share) == {"/var/lib/critmin/landing", BACKUPS}
    mounted = {volume.split(":")[1] for volume in init["volumes"]}
    assert set(own) | set(share) <= mounted
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert "acl" in re.search(r"apt-get install[^\n]*", dockerfile)[0], "setfacl is in the image"
    assert "useradd --create-home --uid 50000 critmin" in dockerfile


def test_the_metadata_database_is_dumped_before_each_migration(services):
    backup = services["metadata-backup"]
    assert backup["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert backup["command"] == ["bash", "/usr/local/bin/metadata-backup.sh", "/backups/metadata"]
    assert "./deploy/metadata-backup.sh:/usr/local/bin/metadata-backup.sh:ro" in backup["volumes"]
    script = (DEPLOY / "metadata-backup.sh").read_text(encoding="utf-8")
    assert "set -euo pipefail" in script and "pg_dump --format=custom" in script
    assert "airflow db migrate" in " ".join(services["airflow-init"]["command"])


def test_the_image_carries_the_shared_settings_and_the_scripts():
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY deploy ./deploy" in dockerfile
    settings = read_env_file(AIRFLOW_ENV)
    assert settings["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/critmin/dags"
    for script in ("api-server.sh", "init-folders.sh", "metadata-backup.sh"):
        assert (DEPLOY / script).stat().st_mode & 0o111, f"deploy/{script} is executable"
    ignored = set((REPO / ".dockerignore").read_text(encoding="utf-8").split())
    assert {"backups", "landing", ".env"} <= ignored, "backups and secrets stay out of the image"
