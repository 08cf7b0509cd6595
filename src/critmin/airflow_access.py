"""How people and components reach ``critmin airflow``'s server: the admin login, the api-server's
signing secrets (kept with the home, so a restart logs nobody out), the port, and the health
endpoint that says when every component is up."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from critmin.airflow_home import LocalAirflowError

if TYPE_CHECKING:
    from collections.abc import Mapping


HOST = "127.0.0.1"


USER = "admin"


#: Set it to choose the admin password; otherwise the one in the password file is kept.
PASSWORD_VARIABLE = "CRITMIN_AIRFLOW_PASSWORD"


PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"


#: The api-server's signing secrets, made on the first start and kept (mode 0600) in the home.
SECRETS_FILE = "critmin_api_secrets.json"


_SECRET_SIZES = {"AIRFLOW__API_AUTH__JWT_SECRET": 64, "AIRFLOW__API__SECRET_KEY": 32}


def api_secrets(airflow_home: Path) -> dict[str, str]:
    """The secrets the api-server signs its tokens and sessions with: those of the last start when
    ``airflow_home`` keeps them, else new ones, written (owner-only) for the next start. A token
    from before a restart therefore still works after it."""
    path = airflow_home / SECRETS_FILE
    with contextlib.suppress(OSError, ValueError):
        kept = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(kept, dict) and all(
            isinstance(kept.get(key), str) and kept[key] for key in _SECRET_SIZES
        ):
            return {key: kept[key] for key in _SECRET_SIZES}
    made = {key: secrets.token_urlsafe(size) for key, size in _SECRET_SIZES.items()}
    airflow_home.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(made, handle)
    os.replace(staged, path)
    return made


def password_file(env: Mapping[str, str]) -> Path:
    return Path(env["AIRFLOW_HOME"]) / PASSWORDS_FILE


def set_password(path: Path, environ: Mapping[str, str]) -> tuple[str, str]:
    """The admin password and where it came from; written to ``path`` (mode 0600) if new."""
    try:
        passwords = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(passwords, dict):
            passwords = {}
    except (OSError, ValueError):
        passwords = {}
    chosen = environ.get(PASSWORD_VARIABLE)
    if chosen:
        source = PASSWORD_VARIABLE
    elif isinstance(passwords.get(USER), str) and passwords[USER]:
        return passwords[USER], "kept"
    else:
        chosen, source = secrets.token_urlsafe(16), "generated"
    passwords[USER] = chosen
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(passwords, handle)
    os.replace(staged, path)
    return chosen, source


#: The health endpoint's names for what must be healthy, and the component each one is.
HEALTH = {
    "metadatabase": "api-server",
    "scheduler": "scheduler",
    "dag_processor": "dag-processor",
    "triggerer": "triggerer",
}


def health(url: str, timeout: float = 5.0) -> dict:
    """``GET /api/v2/monitor/health`` (no login needed)."""
    with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=timeout) as response:
        return json.loads(response.read())


def unhealthy(answer: dict | None, since: dt.datetime) -> list[str]:
    """The components not healthy in ``answer``, or whose heartbeat is older than this start (a
    job of a killed earlier start can still look alive for a while)."""
    if not answer:
        return list(HEALTH.values())
    bad = []
    for key, component in HEALTH.items():
        part = answer.get(key) or {}
        if part.get("status") != "healthy" or not (key == "metadatabase" or _since(part, key, since)):
            bad.append(component)
    return bad


def _since(part: dict, key: str, since: dt.datetime) -> bool:
    try:
        return dt.datetime.fromisoformat(part[f"latest_{key}_heartbeat"]) >= since
    except (KeyError, TypeError, ValueError):
        return False


def check_port(port: int) -> None:
    """Refuse a port something listens on. The probe binds as the api-server does (SO_REUSEADDR):
    the connections of a server just stopped, left in TIME_WAIT, do not block a restart."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise LocalAirflowError(
                f"port {port} on {HOST} is in use ({error.strerror}): choose another, "
                f"`make airflow PORT=8081` or `critmin airflow --port 8081`"
            ) from None
