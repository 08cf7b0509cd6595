"""Data Docs work from the file system with no network and request nothing from anywhere: every
script, style, font and image a page loads is in the site (issue 22)."""

from __future__ import annotations

import os
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import great_expectations
import pytest
from test_validation import BROKEN_POSITION, DATASET, SUITE, clean_frame

from critmin.quality import offline_docs
from critmin.quality.validation import data_docs_index, validate

GX_TEMPLATES = Path(great_expectations.__file__).parent / "render" / "view" / "templates"


class _Loads(HTMLParser):
    """What a page makes the browser fetch: scripts, stylesheets, icons and images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        self.attributes.extend(name for name, _ in attrs)
        if tag in ("script", "img") and found.get("src"):
            self.urls.append(found["src"])
        if tag == "link" and found.get("href"):
            self.urls.append(found["href"])


def loads(page: Path) -> _Loads:
    parser = _Loads()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_every_remote_script_and_style_of_gx_s_templates_has_a_local_copy():
    remote = set()
    for template in GX_TEMPLATES.rglob("*.j2"):
        text = template.read_text(encoding="utf-8")
        remote.update(re.findall(r'<(?:script|link)\b[^>]*?(?:src|href)="(https?://[^"]+)"', text))
    assert remote, "GX's templates moved: find where its pages load their scripts"
    unknown = remote - set(offline_docs.LOCAL_COPIES) - set(offline_docs.DROPPED_SCRIPTS)
    assert not unknown, f"GX loads these now; add a copy to data_docs_assets and LOCAL_COPIES: {unknown}"
    for local in set(offline_docs.LOCAL_COPIES.values()):
        assert (offline_docs.ASSETS / local).is_file(), local
    fonts = re.findall(
        r"url\(\.\./webfonts/([\w.-]+\.woff2)\)",
        (offline_docs.ASSETS / "fontawesome/css/all.min.css").read_text(),
    )
    assert fonts and all((offline_docs.ASSETS / "fontawesome/webfonts" / font).is_file() for font in fonts)


def test_rendered_pages_load_everything_from_the_site_and_send_nothing(tmp_path):
    docs_dir = tmp_path / "docs" / "quality"
    broken = clean_frame("broken.csv")
    broken.loc[BROKEN_POSITION, "quantity"] = -5.0
    for batch, frame in [("a.csv", clean_frame("a.csv")), ("broken.csv", broken)]:
        validate(frame, SUITE, dataset=DATASET, batch=batch, docs_dir=docs_dir, run_name=f"run {batch}")
    index_text = data_docs_index(docs_dir).read_text(encoding="utf-8")
    assert "'_validation_success_text': 'Failed: critical'" in index_text  # broken.csv, by severity
    pages = sorted(docs_dir.rglob("*.html"))
    assert data_docs_index(docs_dir) in pages and len(pages) == 4  # index, suite, two validations
    for page in pages:
        found = loads(page)
        text = page.read_text(encoding="utf-8")
        assert "dataContextId" not in text and "vegaEmbed(" not in text, page
        assert "integrity" not in found.attributes and "crossorigin" not in found.attributes, page
        assert {"jquery.min.js", "bootstrap-table.min.js"} <= {Path(url).name for url in found.urls}, page
        for url in found.urls:
            assert not re.match(r"^(https?:)?//", url), f"{page.name} loads {url} from the network"
            local = (page.parent / url.split("?", 1)[0]).resolve()
            assert local.is_file() and local.is_relative_to(docs_dir.resolve()), f"{page.name}: {url}"


def test_a_site_rendered_before_is_rewritten_once_then_only_new_pages(tmp_path):
    docs_dir = tmp_path / "site"
    old_page = docs_dir / "validations" / "old.html"
    old_page.parent.mkdir(parents=True)
    jquery = next(url for url, local in offline_docs.LOCAL_COPIES.items() if local == "jquery.min.js")
    old_page.write_text(f'<script src="{jquery}"></script>', encoding="utf-8")
    long_ago = time.time_ns() - 3_600 * 10**9
    os.utime(old_page, ns=(long_ago, long_ago))

    # No assets yet: every page, however old, is rewritten.
    assert offline_docs.make_offline(docs_dir, since_ns=time.time_ns()) == 1
    assert old_page.read_text(encoding="utf-8") == '<script src="../static/vendor/jquery.min.js"></script>'
    assert (docs_dir / "static" / "vendor" / "jquery.min.js").is_file()

    # Then only pages written since the render began.
    old_page.write_text(f'<script src="{jquery}"></script>', encoding="utf-8")
    os.utime(old_page, ns=(long_ago, long_ago))
    assert offline_docs.make_offline(docs_dir, since_ns=time.time_ns()) == 0
    assert jquery in old_page.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "page",
    [
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1&dataContextId=x">',
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js" '
        'integrity="sha384-abc" crossorigin="anonymous"></script>',
    ],
)
def test_the_logo_and_integrity_attributes(page):
    local = offline_docs.localize(page, "../static")
    assert "https://" not in local and "integrity" not in local and "crossorigin" not in local
    assert "../static/images/logo-long.png" in local or "../static/vendor/popper.min.js" in local
