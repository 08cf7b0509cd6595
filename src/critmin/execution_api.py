"""The execution API an embedded run's tasks talk to, built for the one task SDK that calls it.

``dag.test()`` runs each task against Airflow's execution API, served in this process. Airflow
builds that app with every API version it has published (nine in 3.3.2), so that task SDKs older
than the server can still call it from remote workers; Cadwyn generates the routes and schemas of
every version on the app's first request. That cost 6.6 s of CPU on the 2-core development host,
in every process that runs a DAG: every ``make run-month``, each test that starts one.

The only caller of the in-process API is the task SDK installed beside it, which speaks the newest
version (``API_VERSION``). :func:`prime` builds the in-process app with the newest versions only
(``KEPT_VERSIONS``: fewer cannot be generated, as routes the newest version moved must be restored
in an older one) and hands it to Airflow's supervisor before the first task asks for it: 2.75 s on
the same host. When anything here does not hold (another Airflow whose SDK speaks another version,
or versions that no longer generate alone), Airflow's own app is used, as before, and the log says
so. Servers (``critmin airflow``, the compose file) serve every version, untouched.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

log = logging.getLogger(__name__)

#: The newest execution API versions the in-process app serves (Airflow 3.3.2: 2026-06-30, the task
#: SDK's; and 2026-04-06 and 2025-11-05, where the routes it moved are restored).
KEPT_VERSIONS = 3


def in_process_api(kept: int = KEPT_VERSIONS) -> Any | None:
    """Airflow's ``InProcessExecutionAPI`` with its app built for the newest ``kept`` versions and
    generated already, or None (and Airflow's app unchanged) when they do not serve this task SDK
    or cannot be generated alone."""
    from airflow.api_fastapi.execution_api import versions
    from airflow.api_fastapi.execution_api.app import InProcessExecutionAPI
    from airflow.sdk.api.datamodels._generated import API_VERSION
    from cadwyn import HeadVersion, Version, VersionBundle

    full = versions.bundle
    newest = [version.value for version in full.versions]
    if not newest or newest[0] != API_VERSION or not 0 < kept < len(newest):
        log.info("execution API: every version served (this task SDK speaks %s)", API_VERSION)
        return None
    kept_versions = full.versions[:kept]
    changes = [change for version in kept_versions[:-1] for change in version.changes]
    for change in changes:  # a version change belongs to one bundle: lent to the smaller one
        change._bound_version_bundle = None
    try:
        # The oldest version of a bundle has no changes: there is nothing older to migrate to.
        versions.bundle = VersionBundle(
            HeadVersion(),
            *(Version(version.value, *version.changes) for version in kept_versions[:-1]),
            Version(kept_versions[-1].value),
        )
        api = InProcessExecutionAPI()
        api.app._cadwyn_initialize()  # generated now, not on the first task's request
    except Exception as error:  # noqa: BLE001 - any failure: Airflow's own app, as before
        for change in changes:
            change._bound_version_bundle = full
        log.warning(
            "execution API: every version served, as the newest %d did not generate alone (%s: %s)",
            kept,
            type(error).__name__,
            error,
        )
        return None
    finally:
        versions.bundle = full
    log.debug("execution API in this process: versions %s", ", ".join(newest[:kept]))
    return api


def prime() -> None:
    """Hand Airflow's supervisor the in-process API of :func:`in_process_api`, unless this process
    has one already (its first DAG run made it) or it cannot be built."""
    from airflow.sdk.execution_time import supervisor

    current = supervisor.in_process_api_server
    if getattr(current, "critmin_primed", False):
        return
    with contextlib.suppress(AttributeError):  # Airflow's is an lru_cache: made already?
        if current.cache_info().currsize:
            return
    api = in_process_api()
    if api is None:
        return

    def in_process_api_server() -> Any:
        return api

    in_process_api_server.critmin_primed = True  # type: ignore[attr-defined]
    supervisor.in_process_api_server = in_process_api_server  # type: ignore[assignment]
