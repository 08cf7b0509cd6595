"""Alerts (critmin.alerts): off by default; set, a month that fails reaches a mailbox, here a local
SMTP sink on 127.0.0.1 (aiosmtpd), with the month, the rule and what to do."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from airflow_cluster import free_port
from conftest import REPO

from critmin import alerts
from critmin.settings import Settings

#: A month whose download names a partner code GACC does not have: the raw gate refuses it.
BAD_DOWNLOAD = (
    '"Commodity code","Trading partner code","Quantity",\n"85051110","304","5",\n"85051110","9999","5",\n'
)


class Sink:
    """An SMTP server's message handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture
def smtp_sink():
    from aiosmtpd.controller import Controller

    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture
def slack_sink():
    """A stand-in for Slack's incoming webhook on 127.0.0.1: keeps each JSON payload posted."""
    posted: list[tuple[str, dict]] = []

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            posted.append((self.path, json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield posted, f"http://127.0.0.1:{server.server_address[1]}/services/T0/B0/test"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)


def test_alerts_are_off_unless_an_address_is_set():
    assert not alerts.AlertSettings.from_env({}).enabled
    assert not alerts.AlertSettings.from_env({"CRITMIN_ALERT_EMAIL": " , "}).enabled
    chosen = alerts.AlertSettings.from_env(
        {"CRITMIN_ALERT_EMAIL": "a@example.org, b@example.org", "CRITMIN_ALERT_SMTP_CONN_ID": "mail"}
    )
    assert chosen.to == ("a@example.org", "b@example.org") and chosen.smtp_conn_id == "mail"
    assert chosen.slack_conn_id is None
    slack = alerts.AlertSettings.from_env({"CRITMIN_ALERT_SLACK_CONN_ID": "slack_alerts"})
    assert slack.enabled and slack.to == () and slack.slack_conn_id == "slack_alerts"


def test_an_overdue_month_is_told_as_overdue():
    class AirflowSensorTimeout(Exception):
        pass

    context = {
        "dag": SimpleNamespace(dag_id="customs_monthly"),
        "task": SimpleNamespace(task_id="wait_for_files"),
        "run_id": "scheduled__2026-11-25T06:00:00+00:00",
        "params": {"month": "2026-10"},
        "exception": AirflowSensorTimeout("no files for 2026-10 landed by 2026-12-01: ..."),
    }
    alert = alerts.alert_for(context)
    assert alert.subject == "critmin: customs_monthly 2026-10 is overdue (wait_for_files)"
    assert "no files for 2026-10 landed" in alert.text and "Nothing of this run was published" in alert.text
    assert "What to do: check that GACC has released the month" in alert.text


@pytest.mark.parametrize(
    ("name", "content", "task", "rule"),
    [
        # refused at landing: not a CSV download
        ("export.xlsx", b"PK", "land", "file_is_csv"),
        # landed, then failed by the raw gate: a partner code GACC does not have
        ("by_partner.csv", BAD_DOWNLOAD.encode(), "gate_raw", "partner_code_known"),
    ],
    ids=["refused-file", "failed-gate"],
)
def test_a_refused_or_failed_month_reaches_the_mailbox_and_slack_with_the_rule_and_what_to_do(
    tmp_path, smtp_sink, slack_sink, name, content, task, rule
):
    sink, port = smtp_sink
    posted, webhook = slack_sink
    home = tmp_path / "home"
    folder = Settings.for_home(home).paths.landing_dir("gacc/export", "2025-07")
    folder.mkdir(parents=True)
    (folder / name).write_bytes(content)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CRITMIN_"))}
    env.update(
        {
            "CRITMIN_HOME": str(home),
            "CRITMIN_ALERT_EMAIL": "data-team@example.org",
            "AIRFLOW_CONN_SMTP_DEFAULT": (
                f"smtp://127.0.0.1:{port}?disable_tls=true&disable_ssl=true&from_email=critmin%40example.org"
            ),
            "CRITMIN_ALERT_SLACK_CONN_ID": "slack_alerts",
            "AIRFLOW_CONN_SLACK_ALERTS": json.dumps({"conn_type": "slackwebhook", "password": webhook}),
        }
    )
    done = subprocess.run(
        [sys.executable, "-m", "critmin.cli", "run-month", "2025-07"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert len(sink.messages) == 1, (sink.messages, done.stdout[-3000:])
    (message,) = sink.messages
    assert sink.recipients == [["data-team@example.org"]] and message["From"] == "critmin@example.org"
    assert message["Subject"] == f"critmin: customs_monthly 2025-07 failed ({task})"
    body = message.get_body(preferencelist=("html", "plain")).get_content()
    assert rule in body and name in body, body  # the rule and the file
    assert "What to do: fix the file named above" in body, body
    assert "make run-month MONTH=2025-07, or trigger customs_monthly with" in body, body
    assert "Nothing of this run was published" in body

    assert [path for path, _ in posted] == ["/services/T0/B0/test"], done.stdout[-3000:]
    text = posted[0][1]["text"]
    assert f"critmin: customs_monthly 2025-07 failed ({task})" in text
    assert rule in text and name in text and "What to do: fix the file named above" in text, text


def test_a_registers_failure_names_no_month():
    context = {
        "dag": SimpleNamespace(dag_id="registers"),
        "task": SimpleNamespace(task_id="gate"),
        "run_id": "manual__2026-12-06",
        "params": {},
        "exception": RuntimeError("agreements/x.yml: amount_usd is not a number"),
    }
    alert = alerts.alert_for(context)
    assert alert.subject == "critmin: registers failed (gate)"
    assert "make run-registers, or trigger registers." in alert.text
