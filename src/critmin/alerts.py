"""Alerts: a failed month, a refused file and an overdue month reach someone, not only the log.

Off by default. Set, in the environment of the Airflow components (or in ``.env``, which
docker-compose passes on):

- ``CRITMIN_ALERT_EMAIL``: who gets the alert, comma-separated addresses. It is sent with Airflow's
  ``SmtpNotifier`` (apache-airflow-providers-smtp) through the Airflow connection
  ``CRITMIN_ALERT_SMTP_CONN_ID`` (default ``smtp_default``), for example
  ``AIRFLOW_CONN_SMTP_DEFAULT='smtp://user:password@smtp.example.org:587?from_email=critmin@example.org'``.
- ``CRITMIN_ALERT_FROM``: the sender, when the connection does not name one.
- ``CRITMIN_ALERT_SLACK_CONN_ID``: an Airflow connection to a Slack incoming webhook; the alert is
  posted there with Airflow's ``SlackWebhookNotifier`` (apache-airflow-providers-slack), for example
  ``CRITMIN_ALERT_SLACK_CONN_ID=slack_alerts`` and
  ``AIRFLOW_CONN_SLACK_ALERTS='{"conn_type": "slackwebhook", "password": "https://hooks.slack.com/services/T0/B0/XXXX"}'``.

Email, Slack, both or neither: each is used when its setting is there.

Each DAG's tasks call ``on_failure`` once their retries have run out: a refused download or a
failed gate (the step's message names the file, the rule and what to do), a month that did not
land by its deadline (``wait_for_files`` times out), or any other failure. The alert says which
DAG, run and data month, the task, the step's message, that nothing of the run was published, and
where its log is. An alert that cannot be sent is logged; it never changes the run's outcome.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

EMAIL_VARIABLE = "CRITMIN_ALERT_EMAIL"
CONN_VARIABLE = "CRITMIN_ALERT_SMTP_CONN_ID"
FROM_VARIABLE = "CRITMIN_ALERT_FROM"
SLACK_VARIABLE = "CRITMIN_ALERT_SLACK_CONN_ID"


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go: email to ``to``, Slack through ``slack_conn_id``; neither: alerts are off."""

    to: tuple[str, ...] = ()
    smtp_conn_id: str = "smtp_default"
    from_email: str | None = None
    slack_conn_id: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AlertSettings:
        environ = os.environ if environ is None else environ
        to = tuple(a.strip() for a in environ.get(EMAIL_VARIABLE, "").split(",") if a.strip())
        return cls(
            to=to,
            smtp_conn_id=environ.get(CONN_VARIABLE, "").strip() or "smtp_default",
            from_email=environ.get(FROM_VARIABLE, "").strip() or None,
            slack_conn_id=environ.get(SLACK_VARIABLE, "").strip() or None,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.to or self.slack_conn_id)


@dataclass(frozen=True)
class Alert:
    subject: str
    text: str

    def html(self) -> str:
        return f"<pre>{html.escape(self.text)}</pre>"


def _month(context: Mapping[str, Any]) -> str:
    params = context.get("params") or {}
    month = params.get("month") if isinstance(params, Mapping) else None
    if month:
        return str(month)
    dag_run = context.get("dag_run")
    conf = getattr(dag_run, "conf", None) or {}
    return str(conf.get("month") or "the run's month")


def alert_for(context: Mapping[str, Any]) -> Alert:
    """What a failed task says: the DAG, run, data month and task, the step's own message (which
    names the file, the rule and what to do), and that nothing of the run was published."""
    dag_id = getattr(context.get("dag"), "dag_id", None) or "critmin"
    task_id = getattr(context.get("task"), "task_id", None) or getattr(context.get("ti"), "task_id", "?")
    run_id = str(context.get("run_id") or getattr(context.get("dag_run"), "run_id", "?"))
    month = _month(context)
    run = dag_id if dag_id == "registers" else f"{dag_id} {month}"
    error = context.get("exception")
    message = str(error) if error is not None else "see the task's log"
    overdue = type(error).__name__ == "AirflowSensorTimeout" or task_id == "wait_for_files"
    what = "is overdue" if overdue else "failed"
    subject = f"critmin: {run} {what} ({task_id})"
    log_url = getattr(context.get("ti"), "log_url", None)
    lines = [
        f"{run} {what}: task {task_id} of run {run_id}.",
        "",
        message,
        "",
        "Nothing of this run was published: serving.duckdb still holds what it held before.",
        "",
        f"What to do: {_what_to_do(dag_id, month, error, overdue)}",
    ]
    if log_url:
        lines.append(f"The task in Airflow's UI: {log_url}")
    return Alert(subject, "\n".join(lines))


def _what_to_do(dag_id: str, month: str, error: BaseException | None, overdue: bool) -> str:
    from critmin.errors import InputError, QualityGateError

    command = {"registers": "make run-registers", "commodity_tables": f"make run-tables MONTH={month}"}
    conf = "" if dag_id == "registers" else f' with {{"month": "{month}"}}'
    rerun = f"{command.get(dag_id, f'make run-month MONTH={month}')}, or trigger {dag_id}{conf}"
    cause = error.__cause__ if error is not None and error.__cause__ is not None else error
    if overdue:
        return (
            "check that GACC has released the month, land its files in its landing folder "
            f"($CRITMIN_HOME/landing/...), then run it: {rerun}."
        )
    if isinstance(cause, (InputError, QualityGateError)):
        return (
            "fix the file named above (or download it again), put it back in the landing folder "
            f"under the same name, and run the month again: {rerun}. The refused file and its "
            "report are in the quarantine folder named above."
        )
    return f"read the task's log; once the cause is fixed, clear the task or run again: {rerun}."


def on_failure(context: Mapping[str, Any]) -> None:
    """A task's ``on_failure_callback``: send the alert where ``AlertSettings`` says, if anywhere."""
    settings = AlertSettings.from_env()
    if not settings.enabled:
        return
    alert = alert_for(context)
    if settings.to:
        _send(alert, ", ".join(settings.to), lambda: _email(settings, alert), context)
    if (slack := settings.slack_conn_id) is not None:
        _send(alert, f"Slack ({slack})", lambda: _slack(slack, alert), context)


def _email(settings: AlertSettings, alert: Alert) -> Any:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return SmtpNotifier(
        to=list(settings.to),
        from_email=settings.from_email,
        subject=alert.subject,
        html_content=alert.html(),
        smtp_conn_id=settings.smtp_conn_id,
    )


def _slack(conn_id: str, alert: Alert) -> Any:
    from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

    return SlackWebhookNotifier(
        slack_webhook_conn_id=conn_id,
        text=f"*{alert.subject}*\n```{alert.text}```",
        unfurl_links=False,
        unfurl_media=False,
    )


def _send(alert: Alert, where: str, notifier: Any, context: Mapping[str, Any]) -> None:
    try:
        notifier().notify(context)  # final text: no template rendering
    except Exception:  # an alert that cannot go out must not change the run's outcome
        log.exception("could not send the alert %r to %s", alert.subject, where)
    else:
        log.info("alert sent to %s: %s", where, alert.subject)
