"""When each landed file was released, and in which order releases may be landed.

A release is what a publisher put out on one day: GACC's flash tables of a month, its tables
(13)/(14) later that month, a month's download from its query platform. Every landed file version
records the day it was released and how that day is known (``critmin.raw_zone``):

- ``publisher``: the publisher gives the day (the release page, the table's own date);
- ``supplied``: a day the user names, for a file whose publisher gives none;
- ``landing``: nothing names a day, so the file is dated by its landing.

A month's landing folder may say it in ``release_dates.csv`` (UTF-8, one line per file)::

    file,released_on,basis,note
    flash_export_cny.xls,2025-07-14,publisher,GACC's release of 14 July 2025
    table13_export_cny.xls,2025-07-18,supplied,not given by GACC: the 18th of the next month

A file without a line is dated by its landing. Landing a file released before one already landed
for the same month would make an old release look like a revision of a newer one: it is refused,
unless the run is a **backfill** (an Airflow backfill, the param ``{"backfill": true}``, or
``make run-month MONTH=YYYY-MM BACKFILL=1``), which adds it to the month's history in its place.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from critmin.errors import InputError, printable

if TYPE_CHECKING:
    from pathlib import Path

    from critmin.months import Month
    from critmin.raw_zone import ManifestEntry

log = logging.getLogger(__name__)

RELEASE_DATES_FILE = "release_dates.csv"
COLUMNS = ("file", "released_on", "basis", "note")
#: How a release date is known, as ``release_dates.csv`` may say it.
STATED_BASES = ("publisher", "supplied")
#: What a file whose date nobody states gets.
LANDING_BASIS = "landing"
RULE = "release_dates_are_valid"
OLDER_RULE = "release_not_older_than_landed"


@dataclass(frozen=True)
class ReleaseDate:
    released_on: date
    basis: str  # "publisher", "supplied" (or "landing")
    note: str = ""


def is_release_dates_file(path: Path) -> bool:
    return path.name.lower() == RELEASE_DATES_FILE


def _today() -> date:
    return datetime.now(UTC).date()


def read_release_dates(
    folder: Path, month: Month, files: set[str], today: date | None = None
) -> dict[str, ReleaseDate]:
    """The release dates ``release_dates.csv`` of the month's folder gives, by file name (none
    when there is no such file). Raises ``InputError`` naming the line and what to fix: a header
    other than ``file,released_on,basis[,note]``, a date that is not ``YYYY-MM-DD``, a day before
    the month is over or after today, a basis other than publisher/supplied, a file named twice.
    A line for a file not in the folder (quarantined, or not downloaded yet) is let be."""
    path = next((p for p in folder.iterdir() if is_release_dates_file(p)), None) if folder.is_dir() else None
    if path is None:
        return {}
    if path.is_symlink() or not path.is_file():
        raise InputError(path, "not a regular file", hint="make it a plain CSV file", rule=RULE)
    today = today or _today()
    earliest = month.shifted(1).first_day
    dates: dict[str, ReleaseDate] = {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError as error:
        raise InputError(
            path, f"not UTF-8 text ({error.reason})", hint="save it as UTF-8", rule=RULE
        ) from None
    if not rows or [c.strip().lower() for c in rows[0]] not in (list(COLUMNS[:3]), list(COLUMNS)):
        raise InputError(
            path,
            f"its header is {printable(','.join(rows[0])) if rows else 'missing'}",
            hint=f"start it with the line {','.join(COLUMNS)}",
            rule=RULE,
            line=1,
        )

    def refuse(line: int, problem: str, hint: str) -> InputError:
        return InputError(path, problem, hint=hint, rule=RULE, line=line)

    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) not in (3, 4):
            raise refuse(line, f"has {len(row)} fields", f"write {','.join(COLUMNS)} (note optional)")
        name, released, basis = (cell.strip() for cell in row[:3])
        note = row[3].strip() if len(row) == 4 else ""
        if name in dates:
            raise refuse(line, f"names {printable(name)!r} a second time", "give each file one line")
        try:
            released_on = date.fromisoformat(released)
        except ValueError:
            raise refuse(
                line, f"released_on {printable(released)!r} is not a date", "write it as YYYY-MM-DD"
            ) from None
        if released_on < earliest:
            raise refuse(
                line,
                f"{name} released on {released_on}, before {month} was over",
                f"a release of {month} comes out on or after {earliest}: check the day and the month folder",
            )
        if released_on > today:
            raise refuse(line, f"{name} released on {released_on}, after today ({today})", "check the day")
        if basis not in STATED_BASES:
            raise refuse(
                line,
                f"basis {printable(basis)!r} is not one of {', '.join(STATED_BASES)}",
                "publisher: the publisher gives the day; supplied: you name it (say how in the note)",
            )
        dates[name] = ReleaseDate(released_on, basis, note)
    for name in sorted(set(dates) - files):
        # a file quarantined (moved out) or not downloaded yet: its line waits for it
        log.info("%s names %s, which is not in the folder (yet): nothing to date", path, printable(name))
    return dates


def older_release_error(
    path: Path, month: Month, released: ReleaseDate, latest: ManifestEntry, run: str
) -> InputError:
    """A file released before a release of the month already landed, in a run that is no backfill."""
    return InputError(
        path,
        f"released on {released.released_on} ({released.basis}), before the release of "
        f"{latest.release_date} already landed for {month} ({printable(latest.original_name)}): landed as "
        "it is, an old release would be taken for a revision of the newer one",
        hint=(
            "if it is an earlier release you are adding to the month's history, put it back in the "
            "month's folder and land it as a backfill: "
            f"{run} BACKFILL=1 (or an Airflow backfill, or trigger the DAG with "
            '{"month": "' + str(month) + '", "backfill": true}); otherwise check its date in '
            f"{RELEASE_DATES_FILE}"
        ),
        rule=OLDER_RULE,
    )
