"""``critmin airflow``'s api-server: Airflow's own, less one way to freeze it on SQLite.

Airflow 3.3's REST API records each user action (unpause, trigger, clear) in its audit log from an
``async`` FastAPI dependency (``airflow.api_fastapi.logging.decorators.action_logging``) that
commits with a blocking SQLAlchemy session *on the server's event loop*. On the SQLite metadata
database that commit waits for the database's one write lock, up to a minute
(``airflow_home.SQLITE_CONNECT_ARGS``), and while it waits the loop serves nothing: no page, no
health check, no task's ``/run`` or heartbeat. When the lock's holder is a request of the same
server whose own commit the loop has yet to schedule (a task starting), neither can go on until the
wait gives up: the click fails with HTTP 500 ("database is locked" on ``INSERT INTO log``) a minute
later and every request of that minute hangs. ``tests/test_ui_session.py`` caught it.

Here Airflow's own ``log_action`` runs unchanged on a worker thread (the request body read first,
on the loop, where it arrives), so the loop keeps serving while the audit row waits for the lock.
Only ``critmin airflow`` starts the api-server through this module, whatever its metadata database;
the production shape (``docker compose``) runs ``airflow api-server`` itself.

Usage, as ``airflow``'s command line: ``python -m critmin.api_server api-server --port 8080``.
"""

import asyncio
import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any

import anyio.to_thread

# Evaluated as annotations (no postponed evaluation here): FastAPI reads the dependency's signature.
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Request


def threaded_action_logging(action_logging: Callable[..., Any]) -> Callable[..., Any]:
    """``action_logging`` whose dependency awaits Airflow's ``log_action`` on a worker thread.
    A ``log_action`` that is not a coroutine function (FastAPI runs those on threads already) is
    returned as it is."""

    @functools.wraps(action_logging)
    def factory(event: str | None = None) -> Callable[..., Any]:
        log_action = action_logging(event)
        if not inspect.iscoroutinefunction(log_action):
            return log_action

        async def log_action_on_a_thread(request: Request, session: SessionDep, user: GetUserDep) -> None:
            if "application/json" in request.headers.get("content-type", ""):
                # Received here, on the server's loop: log_action on the thread finds it cached
                # on the same request object (it reads JSON bodies only).
                await request.body()
            await anyio.to_thread.run_sync(asyncio.run, log_action(request, session, user))

        return log_action_on_a_thread

    return factory


def patch_action_logging() -> None:
    """Make the routes imported from now on log their actions off the event loop."""
    from airflow.api_fastapi.logging import decorators

    if not getattr(decorators.action_logging, "__wrapped__", None):
        decorators.action_logging = threaded_action_logging(decorators.action_logging)


# On import, so that uvicorn's workers (``[api] workers`` > 1), which are spawned and import this
# module again as ``__mp_main__``, are patched too.
patch_action_logging()


def main(argv: list[str] | None = None) -> None:
    from airflow.__main__ import main as airflow_main

    sys.argv = ["airflow", *(sys.argv[1:] if argv is None else argv)]
    sys.exit(airflow_main())


if __name__ == "__main__":
    main()
