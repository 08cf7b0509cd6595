"""Drive tests/bi/client.py in the isolated BI client environments (.venv-bi/duckdb-1.4, -1.5).

`make test` installs them from tests/bi/duckdb-*/uv.lock. The connection settings come from
docs/bi.md itself (its "Engine parameters" JSON block), so the tests check what the guide tells
BI users to type, not a copy of it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLIENT = REPO / "tests" / "bi" / "client.py"
BI_GUIDE = REPO / "docs" / "bi.md"
VERSIONS = ("1.4", "1.5")


#: The poller's one query (tests/bi/client.py), which the tests also run on the final file.
STATE_SQL = re.search(r'STATE_SQL = """(.*?)"""', CLIENT.read_text(encoding="utf-8"), re.DOTALL).group(1)
#: What Apache Superset installs today for DuckDB (its extra requires duckdb<2).
SUPERSET_STACK = "1.5"


def client_python(version: str) -> Path:
    python = REPO / ".venv-bi" / f"duckdb-{version}" / "bin" / "python"
    if not python.exists():
        raise RuntimeError(
            f"{python} is missing: `make test` installs the BI client environments (or run `make bi-clients`)"
        )
    return python


def documented_engine_parameters() -> dict:
    """The JSON block the guide gives for Superset's "Engine parameters" (Advanced > Other)."""
    text = BI_GUIDE.read_text(encoding="utf-8")
    match = re.search(r"<!-- engine-parameters -->\s*```json\n(.*?)```", text, re.DOTALL)
    if not match:
        raise AssertionError(f"{BI_GUIDE} has no ```json block after <!-- engine-parameters -->")
    return json.loads(match.group(1))


def documented_connect_args() -> dict:
    return documented_engine_parameters()["connect_args"]


def uri(serving_db: Path) -> str:
    return f"duckdb:///{serving_db}"


def run_client(version: str, command: str, serving_db: Path, *extra: str, timeout: float = 120) -> dict:
    result = subprocess.run(
        [
            str(client_python(version)),
            str(CLIENT),
            command,
            uri(serving_db),
            json.dumps(documented_connect_args()),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))},
    )
    if result.returncode != 0:
        raise AssertionError(f"client {command} with DuckDB {version} failed:\n{result.stderr}")
    return json.loads(result.stdout)


class Poller:
    """A BI client polling the marts in the background, a new connection per query.

    Start it before the pipeline publishes, ``stop()`` after; ``lines()`` is what it saw.
    Stops only its own process (by pid), within a bounded wait.
    """

    def __init__(self, serving_db: Path, workdir: Path, version: str = SUPERSET_STACK) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.out = workdir / f"poll-duckdb-{version}.jsonl"
        self.stop_file = workdir / f"poll-duckdb-{version}.stop"
        self.stop_file.unlink(missing_ok=True)
        self.stderr_file = workdir / f"poll-duckdb-{version}.stderr"
        with self.stderr_file.open("w") as stderr:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [
                    str(client_python(version)),
                    str(CLIENT),
                    "poll",
                    uri(serving_db),
                    json.dumps(documented_connect_args()),
                    str(self.out),
                    str(self.stop_file),
                ],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.monotonic() + 60
        while not (self.out.exists() and self.out.read_text(encoding="utf-8")):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the BI poller did not start: {self.stderr()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.stop_file.touch()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)

    def stderr(self) -> str:
        return self.stderr_file.read_text(encoding="utf-8") if self.stderr_file.exists() else ""

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.out.read_text(encoding="utf-8").splitlines()]
