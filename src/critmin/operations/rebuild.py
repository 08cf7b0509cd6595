"""Rebuild the warehouse from the raw zone alone (``critmin rebuild --into NEW_HOME``).

The raw zone is the source of truth: every landed download, once, with the manifest saying which
version of each file is each month's current one. A rebuild copies the raw zone into a new home
(hard links where it can: the objects are read-only) and runs every month it holds through the
same steps as ``customs_monthly``, from its raw gate to its publish, after the registers (from
git). Nothing of the current home is touched: compare the new home's ``serving.duckdb`` with the
one users see, then switch ``CRITMIN_HOME`` (README "Operating").
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from critmin.errors import CritminError, PipelineError
from critmin.raw_zone import RawZone
from critmin.settings import Paths

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from critmin.settings import Settings

log = logging.getLogger(__name__)


def _copy_raw_zone(source: Path, target: Path) -> None:
    """The raw zone's objects hard-linked (or copied, across file systems), its manifest copied.
    The downloads' parses are not: the rebuild parses the bytes again, trusting nothing derived."""
    from critmin.sources.gacc.parsed import SUFFIX as PARSE_SUFFIX

    objects = source / "objects"
    for path in sorted(objects.rglob("*")) if objects.exists() else []:
        if path.is_file() and not path.name.startswith(".") and not path.name.endswith(PARSE_SUFFIX):
            copy = target / path.relative_to(source)
            copy.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, copy)
            except OSError:
                shutil.copy2(path, copy)
    shutil.copy2(source / "manifest.jsonl", target / "manifest.jsonl")


def rebuild(settings: Settings, into: Path, *, report: Callable[[str], None] = print) -> Settings:
    """Build a new home at ``into`` from this home's raw zone; returns its settings. Raises
    ``PipelineError`` naming the months whose gates refused them (the others are published)."""
    from critmin.sources.gacc import SOURCE
    from critmin.steps import customs_monthly, registers
    from critmin.warehouse import RunRef

    raw = settings.paths.raw
    if not (raw / "manifest.jsonl").exists():
        raise PipelineError(f"{raw} holds no manifest: there is nothing to rebuild from")
    if into.exists() and any(into.iterdir()):
        raise PipelineError(f"{into} is not empty: rebuild into a new folder, never over a home")
    target = dataclasses.replace(settings, paths=Paths(into.expanduser().resolve()))
    _copy_raw_zone(raw, target.paths.raw)
    zone = RawZone(target.paths.raw)
    months = sorted({e.month for e in zone.entries() if e.source == SOURCE and zone.current(SOURCE, e.month)})
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report(f"Rebuilding {target.paths.home} from the raw zone of {settings.paths.home}: {len(months)} months")

    run = RunRef("critmin", f"rebuild-{stamp}", registers.REGISTERS)
    validated = registers.gate(target, date.today())
    registers.load(target, run, validated)
    registers.transform(target, run)
    registers.publish(target, run)
    report("  registers: published")
    refused = []
    for index, month in enumerate(months, start=1):
        run = RunRef("critmin", f"rebuild-{stamp}", month)
        try:
            results = customs_monthly.gate_raw(target, month)
            customs_monthly.load(target, run, month, results)
            customs_monthly.transform(target, run, month)
            customs_monthly.gate_marts(target, run, month)
            customs_monthly.publish(target, run)
        except CritminError as error:
            refused.append(month)
            report(f"  [{index}/{len(months)}] {month}: refused\n    " + str(error).replace("\n", "\n    "))
            continue
        report(f"  [{index}/{len(months)}] {month}: published")
    if refused:
        raise PipelineError(
            f"rebuilt {target.paths.home}, but the gates refused {', '.join(refused)} (see above): "
            "today's rules refuse what was accepted when it landed"
        )
    report(f"Rebuilt: {target.paths.serving_db}")
    return target
