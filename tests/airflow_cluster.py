"""The services of docker-compose.yml run as processes on this machine, for the distributed test.

``Cluster`` reads the compose file and ``deploy/airflow.env`` and starts each Airflow service's
command, with its environment, on loopback: what the compose file deploys, minus Docker. What has
to differ on one shared machine is said in one place, ``Cluster.loopback_env``: host names and
ports, paths inside the image (the home, the serving folder), the log servers (they bind every
interface) and the worker names; the secrets and the servers' URLs (this machine's PostgreSQL and
Redis, without the compose file's Redis password) come from the test's ``values``. Every process
runs in its own process group; ``stop`` ends the groups it started and nothing else.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from critmin.processes import group_alive, kill_tree, process_alive, signal_tree, tree

REPO = Path(__file__).resolve().parent.parent
COMPOSE = REPO / "docker-compose.yml"
AIRFLOW_ENV = REPO / "deploy" / "airflow.env"
IMAGE_ROOT = "/opt/critmin/"
#: The Airflow services, in the order they start (airflow-init runs first, to completion).
SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer", "worker", "warehouse-worker")
WORKERS = ("worker", "warehouse-worker")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def compose_services() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]


def wait_for(what: str, probe, timeout: float, every: float = 2.0, processes=()):
    """Call ``probe`` until it returns something true; fail if a process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        for name, process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} while waiting for {what}")
        try:
            result = probe()
        except Exception:  # noqa: BLE001 - a probe that raises means "not yet"
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(every)


class Api:
    """Airflow's REST API, with a token from the auth manager, as a user gets one."""

    def __init__(self, base: str) -> None:
        self.base, self.token = base, None

    def call(self, method: str, path: str, body=None, expect=(200,)):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        if status not in expect:
            raise RuntimeError(f"{method} {path} -> {status}: {raw[:500]!r}")
        text = raw.decode()
        try:
            return json.loads(text) if text else None
        except json.JSONDecodeError:
            return text

    def login(self, username: str, password: str) -> None:
        credentials = {"username": username, "password": password}
        answer = self.call("POST", "/auth/token", credentials, expect=(200, 201))
        self.token = answer["access_token"]


class Cluster:
    """docker-compose.yml's Airflow services as process groups under ``work``."""

    def __init__(
        self, work: Path, bin_dir: Path, values: dict[str, str], home: Path, serving: Path | None = None
    ) -> None:
        self.work, self.bin_dir, self.home = work, bin_dir, home
        #: CRITMIN_SERVING_DIR, the compose file's critmin-serving volume (default: the home itself).
        self.serving = serving or home
        self.values = values  # the compose file's host names and secrets, for this machine
        self.services = compose_services()
        self.processes: dict[str, subprocess.Popen] = {}
        self.api_port, self.health_port = int(values["api_port"]), free_port()
        self.hostname = _airflow_hostname()
        (work / "logs").mkdir(parents=True, exist_ok=True)
        (work / "pylib").mkdir(parents=True, exist_ok=True)
        # Each worker reports its service name as the task instances' hostname, as the compose
        # file's `hostname:` does for the warehouse worker.
        (work / "pylib" / "critmin_test_hostname.py").write_text(
            "import os, socket\n\n\ndef hostname():\n"
            "    return os.environ.get('CRITMIN_TEST_WORKER') or socket.getfqdn()\n",
            encoding="utf-8",
        )

    # --- what each service is given -------------------------------------------------------------

    def environment(self, service: str) -> dict[str, str]:
        """deploy/airflow.env, then the service's `environment:`: this machine's value for each
        setting that names a secret from .env, a compose host or a path in the image; the compose
        file's own value for the rest (e.g. the workers' DuckDB limits)."""
        declared = {
            key: _env_value(value) for key, value in (self.services[service].get("environment") or {}).items()
        }
        local = self.loopback_env(service)
        missing = sorted(
            key
            for key, value in declared.items()
            if key not in self.values and key not in local and self._machine_specific(value)
        )
        if missing:
            raise KeyError(f"docker-compose.yml gives {service} {missing}: the test has no value for them")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CRITMIN_"))}
        env.update({k: self._local_path(v) for k, v in read_env_file(AIRFLOW_ENV).items()})
        env.update({key: self.values.get(key, value) for key, value in declared.items()})
        env.update(local)
        return env

    def _machine_specific(self, value: str) -> bool:
        """A secret from .env (``${...}``), a path in the image, or a URL naming a compose service."""
        hosts = "|".join(re.escape(name) for name in self.services)
        return "${" in value or value.startswith("/") or bool(re.search(rf"[/@](?:{hosts})[:/]", value))

    def loopback_env(self, service: str) -> dict[str, str]:
        """What differs from the compose file on one shared machine (ports, paths, names)."""
        env = {
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.work / "airflow"),
            "CRITMIN_HOME": str(self.home),
            "CRITMIN_SERVING_DIR": str(self.serving),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.work / "passwords.json"),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(self.health_port),
            "HOSTNAME": self.hostname,
            "NO_COLOR": "1",
            # Faults in minutes, not hours: a task whose worker died is failed after 20 s without
            # a heartbeat (Airflow's default: 300 s), and retried 5 s later (the DAGs': 300 s).
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "CRITMIN_TASK_RETRY_SECONDS": "5",
        }
        if service in WORKERS:
            env["CRITMIN_TEST_WORKER"] = service
            env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = "critmin_test_hostname.hostname"
            env["PYTHONPATH"] = str(self.work / "pylib")
        return env

    def command(self, service: str) -> list[str]:
        command = [self._local_path(part) for part in self.services[service]["command"]]
        if service == "api-server":
            command[command.index("--port") + 1] = str(self.api_port)
            command += ["--host", "127.0.0.1"]
        if service in ("scheduler", "triggerer", *WORKERS):
            command.append("--skip-serve-logs")  # the log servers bind every interface
        if service in WORKERS:
            command += ["--celery-hostname", f"{service}@%h"]
        return command

    def healthcheck(self, service: str) -> list[str]:
        """The service's compose healthcheck, pointed at this machine's ports and names."""
        kind, *args = self.services[service]["healthcheck"]["test"]
        args = [self._here(service, arg) for arg in args]
        return ["bash", "-c", args[0]] if kind == "CMD-SHELL" else args

    def _here(self, service: str, text: str) -> str:
        text = text.replace("$$", "$").replace("localhost:8080", f"127.0.0.1:{self.api_port}")
        text = text.replace("localhost:8974", f"127.0.0.1:{self.health_port}")
        if service in WORKERS:
            text = text.replace('"celery@${HOSTNAME}"', f"{service}@{socket.gethostname()}")
        return text

    def _local_path(self, value: str) -> str:
        return value.replace(IMAGE_ROOT, f"{REPO}/")

    # --- running --------------------------------------------------------------------------------

    def run_init(self, timeout: float = 600) -> None:
        """airflow-init's command, to completion."""
        self.run("airflow-init", self.services["airflow-init"]["command"], timeout)

    def run(self, service: str, command: list[str], timeout: float = 300) -> str:
        with (self.work / "logs" / f"{service}.log").open("ab") as log:
            log.write(f"\n$ {' '.join(command)}\n".encode())
            log.flush()
            done = subprocess.run(
                command,
                env=self.environment(service),
                cwd=self.work,
                capture_output=True,
                timeout=timeout,
                start_new_session=True,
            )
            log.write(done.stdout + done.stderr)
        if done.returncode:
            detail = done.stderr[-2000:].decode(errors="replace")
            raise RuntimeError(f"{service}: {' '.join(command)} exited {done.returncode}: {detail}")
        return done.stdout.decode()

    def start(self, service: str) -> None:
        log = (self.work / "logs" / f"{service}.log").open("ab")
        self.processes[service] = subprocess.Popen(
            self.command(service),
            env=self.environment(service),
            cwd=self.work,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, to stop it and its children
        )
        log.close()

    def wait_healthy(self, service: str, timeout: float = 240) -> None:
        check = self.healthcheck(service)

        def healthy() -> bool:
            return (
                subprocess.run(
                    check,
                    env=self.environment(service),
                    capture_output=True,
                    timeout=60,
                    start_new_session=True,
                ).returncode
                == 0
            )

        wait_for(f"{service} healthy", healthy, timeout, every=3, processes=self.processes.items())

    def stop(self, timeout: float = 60) -> list[str]:
        """SIGTERM every group started and every process below them (a task runs in a group of its
        own, below its worker's), SIGKILL what is left after ``timeout``; what is still alive."""
        groups = [p.pid for p in self.processes.values() if p.poll() is None]
        known = tree(groups)  # before signalling, while the parents still live
        signal_tree(groups, known, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._alive(known):
            for process in self.processes.values():
                process.poll()
            known.update(tree(groups))
            time.sleep(0.5)
        if self._alive(known):  # celery ignores SIGTERM while it starts up
            signal_tree(groups, known, signal.SIGKILL)
        for process in self.processes.values():
            process.wait(timeout=30)
        # A killed grandchild is gone once the kernel has torn it down and its new parent (PID 1
        # here) has reaped it, which on a loaded host takes more than a moment: wait, bounded.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self._alive(known):
            time.sleep(0.5)
        left = [f"{name} (process group {p.pid})" for name, p in self.processes.items() if group_alive(p.pid)]
        return left + [f"process {pid}" for pid, started in known.items() if process_alive(pid, started)]

    def _alive(self, known: dict[int, str]) -> bool:
        groups = any(group_alive(p.pid) for p in self.processes.values())
        return groups or any(process_alive(pid, started) for pid, started in known.items())

    def kill(self, service: str) -> dict[int, str]:
        """SIGKILL a service and every process below it at once, as a lost machine would; returns
        what was killed. ``start`` brings it back."""
        process = self.processes.pop(service)
        killed = kill_tree([process.pid])
        process.wait(timeout=30)
        return killed

    def leftovers(self) -> list[str]:
        """Any process whose environment names this cluster's AIRFLOW_HOME (left its group)."""
        marker = f"AIRFLOW_HOME={self.work / 'airflow'}".encode()
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                if marker in (proc / "environ").read_bytes():
                    command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    found.append(f"{proc.name}: {command[:120]}")
            except OSError:
                continue
        return found


def _env_value(value: Any) -> str:
    """A compose `environment:` value as the container sees it (YAML's true is "true")."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _airflow_hostname() -> str:
    """The host name Airflow records for its jobs (what `airflow jobs check --hostname` matches)."""
    from airflow.utils.net import get_hostname

    return get_hostname()
