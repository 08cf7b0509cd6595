"""A consistent copy of ``$CRITMIN_HOME`` (``critmin backup DEST``).

The raw zone is the source of truth (every landed download, once, and the manifest), and the
quarantine and the landing folder hold what users sent; the warehouse, the served marts and Great
Expectations' results are what the pipeline made of it. The backup copies all of them, taken while
it holds the warehouse lease, so between runs: no run is between its load and its publish, and
``warehouse.duckdb`` is checkpointed and copied while the backup has it open, so no other process
writes it meanwhile. The manifest is copied before the objects (objects are written before their
manifest row and never removed), so every row of the copied manifest has its object.

What is left out is made again by the pipeline or belongs to Airflow: the docs sites, the briefs
(``critmin brief``), logs, dbt's target, scratch files, the embedded Airflow's metadata (in
production, PostgreSQL, backed up by ``metadata-backup``).

A backup is written beside its final name and renamed when complete: ``DEST/critmin-home-<UTC
time>/``, with ``BACKUP.json`` saying what it holds. To restore, copy it to where ``CRITMIN_HOME``
points (README "Operating").
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from critmin.files import fsync_dir
from critmin.raw_zone import RawZone, sha256_of
from critmin.warehouse.connection import writing
from critmin.warehouse.lease import WarehouseLease
from critmin.warehouse.runs import RunRef

if TYPE_CHECKING:
    from pathlib import Path

    from critmin.settings import Settings

log = logging.getLogger(__name__)

#: The folders of the home a backup copies whole (besides the raw zone and the DuckDB files).
FOLDERS = ("quarantine", "landing", "gx")
PREFIX = "critmin-home-"


def backup(settings: Settings, destination: Path, wait_seconds: float = 3600.0) -> Path:
    """Copy the home into a new folder under ``destination``, between runs; returns the folder."""
    paths = settings.paths
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run = RunRef("critmin", f"backup-{stamp}", "backup")
    lease = WarehouseLease(dataclasses.replace(settings, lease_wait_seconds=wait_seconds))
    destination.mkdir(parents=True, exist_ok=True)
    final = destination / f"{PREFIX}{stamp}"
    partial = destination / f".{final.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    started = time.monotonic()
    lease.acquire(run)  # waits for a run between its load and its publish; puts back a dead one's
    try:
        partial.mkdir()
        zone = RawZone(paths.raw)
        with zone.locked_manifest():
            if zone.manifest_path.exists():
                (partial / "raw").mkdir()
                shutil.copy2(zone.manifest_path, partial / "raw" / zone.manifest_path.name)
        if zone.objects.exists():
            shutil.copytree(zone.objects, partial / "raw" / "objects")
        copied = {}
        if paths.warehouse_db.exists():
            with writing(paths.warehouse_db) as connection:  # no other process can write it meanwhile
                connection.execute("checkpoint")
                shutil.copy2(paths.warehouse_db, partial / paths.warehouse_db.name)
            copied["warehouse.duckdb"] = sha256_of(partial / paths.warehouse_db.name)
        if paths.serving_db.exists():
            shutil.copy2(paths.serving_db, partial / "serving.duckdb")
            copied["serving.duckdb"] = sha256_of(partial / "serving.duckdb")
        for name in FOLDERS:
            if (paths.home / name).is_dir():
                shutil.copytree(paths.home / name, partial / name, symlinks=True)
        entries = len(zone.entries())
        (partial / "BACKUP.json").write_text(
            json.dumps(
                {
                    "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "home": str(paths.home),
                    "raw_manifest_rows": entries,
                    "files_sha256": copied,
                    "folders": [name for name in FOLDERS if (partial / name).exists()],
                    "restore": "copy this folder to where CRITMIN_HOME points, with the pipeline stopped",
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        os.replace(partial, final)
        fsync_dir(destination)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        lease.release(run)
    log.info("backed up %s to %s in %.1f s", paths.home, final, time.monotonic() - started)
    return final
