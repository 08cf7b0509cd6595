"""How a step runs as an Airflow task: the task is the entry point, so it resolves the settings
from the environment once and passes them to the step; a failure that a retry cannot fix (a bad
input file, a broken deployment) fails the task at once, with the step's message."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from critmin.errors import ConfigurationError, CritminError, DiskFull, WaitedInVain, is_disk_full
from critmin.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


def fail_without_retry(error: Exception) -> NoReturn:
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(str(error)) from error


def _settings() -> Settings:
    from critmin.warehouse.connection import use_resources

    try:
        settings = Settings.from_env()
    except (OSError, KeyError, ValueError) as error:  # dbt_project.yml unreadable or without its vars
        fail_without_retry(ConfigurationError(f"critmin's settings cannot be read: {error}"))
    use_resources(settings.duckdb_resources())
    return settings


def _reporting_disk_full(step: Callable[..., T]) -> Callable[..., T]:
    """``step``, with a full disk (Python's ENOSPC, or DuckDB's I/O error saying so) told as
    such: where, and what to do."""

    @functools.wraps(step)
    def wrapped(settings: Settings, *args: Any) -> T:
        try:
            return step(settings, *args)
        except Exception as error:
            if isinstance(error, CritminError) or not is_disk_full(error, settings.paths.home):
                raise
            where = getattr(error, "filename", None) or settings.paths.home
            raise DiskFull(
                f"{getattr(step, '__name__', 'the step')}: no space left on the device holding {where} "
                f"({error}). Free space there (or move CRITMIN_HOME to a larger disk), then run the month "
                "again: a run that fails publishes nothing, so serving.duckdb is unchanged."
            ) from error

    return wrapped


def poke(step: Callable[..., bool], *args: Any) -> bool:
    """A sensor's poke: ``step(settings, *args)`` says whether to stop waiting. ``WaitedInVain``
    ends the wait as an Airflow sensor timeout, and any other ``CritminError`` fails the task; both
    without retry."""
    from airflow.sdk.exceptions import AirflowSensorTimeout

    settings = _settings()
    try:
        return step(settings, *args)
    except WaitedInVain as error:
        raise AirflowSensorTimeout(str(error)) from error
    except CritminError as error:
        fail_without_retry(error)


def run(step: Callable[..., T], *args: Any, retry: bool = False) -> T:
    """Call ``step(settings, *args)``. With ``retry``, a failure is left to Airflow's retries (for
    steps whose failure can be passing, such as a file lock held by another process), except a
    ``ConfigurationError``; without, only the warehouse being in use by another run or process
    (``WarehouseBusy``, ``WarehouseLocked``) is."""
    from critmin.warehouse import WarehouseLocked
    from critmin.warehouse.lease import WarehouseBusy

    settings = _settings()
    step = _reporting_disk_full(step)
    if retry:
        try:
            return step(settings, *args)
        except ConfigurationError as error:
            fail_without_retry(error)  # a broken deployment is as broken on the next try
    try:
        return step(settings, *args)
    except (WarehouseBusy, WarehouseLocked):
        raise  # another run or process holds the warehouse: a retry later will find it free
    except CritminError as error:
        fail_without_retry(error)
