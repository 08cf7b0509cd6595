"""The steps of the ``customs_monthly`` DAG, one function per task.

The DAG file only wires these together. Each step takes the data month and reads every path from
``$CRITMIN_HOME`` (``critmin.settings.Paths``), so the same code runs under ``dag.test()`` on a laptop
and on Celery workers in production. Heavy imports (duckdb, pandas, dbt) happen inside the steps,
never when the DAG file is parsed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from critmin.errors import InputError
from critmin.months import month_for_run
from critmin.settings import Paths

if TYPE_CHECKING:
    from collections.abc import Mapping

log = logging.getLogger(__name__)


def _fail_without_retry(error: Exception) -> None:
    """A bad input file will be just as bad on a retry: fail the task at once, with the message."""
    try:
        from airflow.sdk.exceptions import AirflowFailException
    except ImportError:  # pragma: no cover - older layouts
        from airflow.exceptions import AirflowFailException
    raise AirflowFailException(str(error)) from error


def month_from_context(context: Mapping[str, Any]) -> str:
    params = context.get("params") or {}
    return month_for_run(params.get("month"), context.get("logical_date"))


def land(month: str) -> str:
    """Land the month's downloads into the raw zone; returns the month for the next tasks."""
    from critmin.gacc.exports import land_month

    paths = Paths.from_env()
    try:
        files = land_month(paths, month)
    except InputError as error:
        _fail_without_retry(error)
    new = sum(1 for f in files if f.is_new)
    log.info("%s: %d current files (%d new or changed)", month, len(files), new)
    return month


def load(month: str) -> int:
    from critmin.gacc.exports import load_month

    return load_month(Paths.from_env(), month)


def transform(month: str) -> None:
    from critmin.transform import build

    log.info("building the marts after loading %s", month)
    build(Paths.from_env())


def publish(month: str) -> dict[str, int]:
    from critmin.publish import publish as publish_marts

    counts = publish_marts(Paths.from_env())
    log.info("%s is published", month)
    return counts
