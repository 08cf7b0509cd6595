"""Data Docs that work from the file system with no network, and request nothing from anywhere.

GX's pages load jQuery, Bootstrap, bootstrap-table and others from public CDNs, and the navbar's
logo from GX's servers with the data context's id in the URL. Offline, the index lists no
validation at all ("$ is not defined") and the pages have no styling. GX renders from its own
templates first (a site's custom views cannot replace them), so each page it writes is rewritten
after the render: every CDN script and style points at critmin's copy under
``static/vendor/`` (``data_docs_assets/``, installed into the site), the logo at the site's own
``static/images/``, and the subresource-integrity attributes go (a browser refuses them on
``file://``); the page's links into ``static/`` are made relative to where it is (GX misses
by a folder for the favicon of a validation page). The Vega scripts are dropped: they draw
charts that no critmin suite renders (a test checks that no page draws one). Links a reader may
click (GX's home page) stay.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

#: critmin's copies of what GX's pages load, and where they go in a site.
ASSETS = Path(__file__).with_name("data_docs_assets")
VENDOR = "vendor"

_CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"
_TABLE = "https://unpkg.com/bootstrap-table@{}/dist"
_FILTER = "extensions/filter-control/bootstrap-table-filter-control"
#: Each remote script or style GX 1.x's page templates load, and its copy under ``static/vendor/``.
LOCAL_COPIES = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery.min.js",
    f"{_CDNJS}/popper.js/1.12.9/umd/popper.min.js": "popper.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap.min.js",
    f"{_TABLE.format('1.19.1')}/bootstrap-table.min.css": "bootstrap-table.min.css",
    f"{_TABLE.format('1.19.1')}/bootstrap-table.min.js": "bootstrap-table.min.js",
    f"{_TABLE.format('1.19.0')}/{_FILTER}.css": "bootstrap-table-filter-control.min.css",
    f"{_TABLE.format('1.19.0')}/{_FILTER}.min.css": "bootstrap-table-filter-control.min.css",
    f"{_TABLE.format('1.19.1')}/{_FILTER}.min.js": "bootstrap-table-filter-control.min.js",
    f"{_CDNJS}/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": "bootstrap-datepicker.min.css",
    f"{_CDNJS}/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": "bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "bootstrap-prefers-dark.min.css"
    ),
    f"{_CDNJS}/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
}
#: Scripts no critmin page needs (charts), dropped rather than copied.
DROPPED_SCRIPTS = (
    "https://cdn.jsdelivr.net/npm/vega@5",
    "https://cdn.jsdelivr.net/npm/vega-lite@5",
    "https://cdn.jsdelivr.net/npm/vega-embed@6",
)
_LOGO = re.compile(r"https://great-expectations-web-assets\.[^\"'?]*/([\w.-]+\.png)(?:[?&][^\"']*)?")
#: A page's own links into the site's ``static/`` (GX counts the ``../`` of some wrong: favicon).
_SITE_STATIC = re.compile(r"((?:src|href)=\")(?:\./|(?:\.\./)+)static/")
_SCRIPT_OR_STYLE = re.compile(r"<(?:script|link)\b[^>]*>")
_INTEGRITY = re.compile(r"\s+(?:integrity|crossorigin)=\"[^\"]*\"")
_MARKER = ".critmin-assets"


def localize(html: str, to_static: str) -> str:
    """``html`` (a page GX wrote) loading its scripts, styles and images from the site, whose
    ``static/`` folder is ``to_static`` relative to the page."""
    for url in DROPPED_SCRIPTS:
        html = html.replace(f'<script src="{url}"></script>', "")
    for url, local in LOCAL_COPIES.items():
        html = html.replace(f'"{url}"', f'"{to_static}/{VENDOR}/{local}"')
    html = _LOGO.sub(lambda found: f"{to_static}/images/{found.group(1)}", html)
    html = _SITE_STATIC.sub(lambda found: f"{found.group(1)}{to_static}/", html)
    return _SCRIPT_OR_STYLE.sub(lambda tag: _INTEGRITY.sub("", tag.group(0)), html)


def _fingerprint() -> str:
    return "\n".join(
        f"{path.relative_to(ASSETS).as_posix()} {path.stat().st_size}"
        for path in sorted(ASSETS.rglob("*"))
        if path.is_file()
    )


def install_assets(docs_dir: Path) -> bool:
    """Put critmin's copies into the site's ``static/vendor/`` unless they are there already;
    returns whether it did (a site rendered before them, whose every page needs rewriting)."""
    target = docs_dir / "static" / VENDOR
    fingerprint = _fingerprint()
    marker = target / _MARKER
    if marker.is_file() and marker.read_text(encoding="utf-8") == fingerprint:
        return False
    shutil.copytree(ASSETS, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("README.md"))
    marker.write_text(fingerprint, encoding="utf-8")
    return True


#: A rewrite of one page: its text and its path in the site (``index.html``, ``validations/...``).
PageEdit = Callable[[str, str], str]


def _static_from(relative: str) -> str:
    """The site's ``static/`` folder relative to the page at ``relative``."""
    depth = relative.count("/")
    return "/".join([".."] * depth + ["static"])


def offline(text: str, relative: str) -> str:
    """The ``PageEdit`` that makes a page load nothing from the network (``localize``)."""
    return localize(text, _static_from(relative))


def rewrite_pages(docs_dir: Path, since_ns: int, edits: Sequence[PageEdit]) -> int:
    """Apply ``edits`` to each page of the site written since ``since_ns``, each page read and
    written once (beside, then renamed). Returns how many pages changed."""
    rewritten = 0
    for page in docs_dir.rglob("*.html"):
        if page.stat().st_mtime_ns < since_ns:
            continue
        text = page.read_text(encoding="utf-8")
        relative = page.relative_to(docs_dir).as_posix()
        edited = text
        for edit in edits:
            edited = edit(edited, relative)
        if edited != text:
            staged = page.with_name(f".{page.name}.{os.getpid()}.tmp")
            staged.write_text(edited, encoding="utf-8")
            os.replace(staged, page)
            rewritten += 1
    return rewritten


def make_offline(docs_dir: Path, since_ns: int = 0, also: Sequence[PageEdit] = ()) -> int:
    """Rewrite the pages of the site in ``docs_dir`` written since ``since_ns`` (every page when
    the assets were not installed yet) to load nothing from the network, and with ``also``.
    Returns how many."""
    docs_dir = Path(docs_dir)
    if not docs_dir.is_dir():
        return 0
    if install_assets(docs_dir):
        since_ns = 0
    return rewrite_pages(docs_dir, since_ns, [offline, *also])
