"""Data Docs that say at a glance what a validation means: passed, passed with warnings (which),
or failed on a critical rule (which), in which case nothing of the run was published.

Great Expectations marks a validation failed when any expectation failed, so a month that failed
only warning-level rules (``mom_swing_within_50_pct`` and the like), and was published, read
"Status: Failed" in the Data Docs: 30 of the demo's 82 results. critmin's rules carry their
severity in each expectation's ``meta`` (``expectations/README.md``). After each render the pages
GX wrote are rewritten: a validation page's status line names the outcome and its rules; the
index's status icon and text (the column its filter uses) say "Passed with warnings" or "Failed:
critical". The outcome is read from the stored result beside the page (``gx/validations/``).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from critmin.quality.offline_docs import PageEdit, rewrite_pages

PASSED, WARNINGS, FAILED = "passed", "passed with warnings", "failed"

#: The status line GX writes at the top of a validation page that did not succeed.
_PAGE_FAILED = re.compile(
    r'(<span class="h6" >Status:</span> )<i class="fas fa-times text-danger" aria-hidden="true"></i> Failed'
)
#: One row of the index's table data that did not succeed: its icon, its page and its text.
_INDEX_FAILED_ROW = re.compile(
    r"(\{'validation_success': ')([^']*?fa-times text-danger ge-failed-icon[^']*)(',"
    r"(?:(?!\{'validation_success').)*?'_table_row_link_path': ')([^']*)"
    r"(', '_validation_success_text': ')Failed(')",
    re.DOTALL,
)
_FAILED_ICON = re.compile(r'<i class="fas fa-times text-danger ge-failed-icon" ></i>')
_WARNING_ICON = '<i class="fas fa-exclamation-triangle text-warning ge-warning-icon" ></i>'


@dataclass(frozen=True)
class Outcome:
    status: str
    critical: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def page_line(self) -> str:
        if self.status == WARNINGS:
            rules = html.escape(", ".join(self.warnings))
            return (
                '<i class="fas fa-exclamation-triangle text-warning" aria-hidden="true"></i> '
                f"Passed with warnings ({rules}): the data was not held back for them"
            )
        rules = html.escape(", ".join(self.critical))
        also = f"; warnings: {html.escape(', '.join(self.warnings))}" if self.warnings else ""
        return (
            '<i class="fas fa-times text-danger" aria-hidden="true"></i> '
            f"Failed on critical rules ({rules}{also}): nothing of this run was published"
        )


def outcome(result: dict) -> Outcome:
    """What a stored validation result means, by the severity of the rules that failed."""
    critical: list[str] = []
    warnings: list[str] = []
    for item in result.get("results", []):
        if item.get("success"):
            continue
        config = item.get("expectation_config") or {}
        meta = config.get("meta") or {}
        rule = str(meta.get("rule") or config.get("type") or config.get("expectation_type") or "?")
        (critical if meta.get("severity", "critical") == "critical" else warnings).append(rule)
    if critical:
        return Outcome(FAILED, tuple(critical), tuple(warnings))
    return Outcome(WARNINGS, (), tuple(warnings)) if warnings else Outcome(PASSED)


def _outcome_of(page: str, results_dir: Path) -> Outcome | None:
    """The outcome of the validation whose page is ``page`` (relative to the site, as GX links it)."""
    relative = Path(unquote(page))
    if relative.parts[:1] != ("validations",):
        return None
    stored = results_dir.joinpath(*relative.parts[1:]).with_suffix(".json")
    try:
        return outcome(json.loads(stored.read_text(encoding="utf-8")))
    except (OSError, ValueError, AttributeError):
        return None  # the page stays as GX wrote it


def with_outcomes(results_dir: Path) -> PageEdit:
    """The ``PageEdit`` that words a page's status by its rules' severity: a validation page's
    status line, the index's icons and texts; other pages are left as they are."""

    def edit(text: str, relative: str) -> str:
        if relative == "index.html":
            return _INDEX_FAILED_ROW.sub(lambda found: _index_row(found, results_dir), text)
        found = _PAGE_FAILED.search(text) if relative.startswith("validations/") else None
        result = _outcome_of(relative, results_dir) if found else None
        if found is None or result is None or result.status == PASSED:
            return text
        return text[: found.start()] + found.group(1) + result.page_line() + text[found.end() :]

    return edit


def _index_row(found: re.Match[str], results_dir: Path) -> str:
    result = _outcome_of(found.group(4), results_dir)
    if result is None or result.status == PASSED:
        return found.group(0)
    start, icon, middle, path, text_start, end = found.groups()
    if result.status == WARNINGS:
        icon, label = _FAILED_ICON.sub(_WARNING_ICON, icon), "Passed with warnings"
    else:
        label = "Failed: critical"
    return f"{start}{icon}{middle}{path}{text_start}{label}{end}"


def mark_outcomes(docs_dir: Path, results_dir: Path, since_ns: int = 0) -> int:
    """Reword the status of the pages written since ``since_ns`` by their rules' severity (for a
    site as GX's own builders left it). Returns how many pages changed."""
    return rewrite_pages(docs_dir, since_ns, [with_outcomes(results_dir)])
