"""Data Docs in a real browser (Debian's Chromium, tests/browser.py) with the network cut: every
validation listed and styled, its outcome shown at a glance (passed, passed with warnings, failed
on a critical rule), nothing requested outside the site (issue 22)."""

from __future__ import annotations

import pytest
from browser import local_only, offline_chromium
from test_validation import BROKEN_POSITION, DATASET, SUITE, clean_frame

from critmin.quality.validation import data_docs_index, validate


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A Data Docs site with a validation that passed, one that failed a warning-level rule only,
    and one that failed a critical rule."""
    docs_dir = tmp_path_factory.mktemp("site") / "docs" / "quality"
    warned = clean_frame("warned.csv")
    warned["value_usd"] = None  # value_present: a warning
    broken = clean_frame("broken.csv")
    broken.loc[BROKEN_POSITION, "quantity"] = -5.0  # quantity_non_negative: critical
    for batch, frame in [
        ("clean.csv", clean_frame("clean.csv")),
        ("warned.csv", warned),
        ("broken.csv", broken),
    ]:
        validate(frame, SUITE, dataset=DATASET, batch=batch, docs_dir=docs_dir, run_name=f"run {batch}")
    return docs_dir


def test_the_index_lists_every_validation_styled_with_its_outcome_offline(site):
    with offline_chromium() as browser:
        browser.open(data_docs_index(site).as_uri())
        rows = browser.wait_for(
            "the validations listed",
            "return [...document.querySelectorAll('table tbody tr[data-index]')]"
            ".filter(row => row.innerText.includes('.csv')).length",
        )
        assert rows == 3
        text = browser.script("return document.querySelector('table tbody').innerText")
        assert all(batch in text for batch in ("clean.csv", "warned.csv", "broken.csv")), text
        assert browser.script("return typeof jQuery.fn.bootstrapTable") == "function"
        assert (
            browser.script(  # Bootstrap's stylesheet applied
                "return getComputedStyle(document.documentElement).getPropertyValue('--blue').trim()"
            )
            == "#007bff"
        )
        icons = browser.script(
            "return ['ge-success-icon', 'ge-warning-icon', 'ge-failed-icon']"
            ".map(c => document.querySelectorAll('table tbody .' + c).length)"
        )
        assert icons == [1, 1, 1], icons
        browser.screenshot("data-docs-index")
        assert browser.console_errors() == []
        assert local_only(browser.requests()) == []


@pytest.mark.parametrize(
    ("batch", "status"),
    [
        ("warned.csv", "Passed with warnings (value_present): the data was not held back for them"),
        ("broken.csv", "Failed on critical rules (quantity_non_negative"),
        ("clean.csv", "Succeeded"),
    ],
)
def test_a_validation_page_says_its_outcome_and_its_rules(site, batch, status):
    (page,) = (site / "validations").rglob(f"*{batch}.html")
    with offline_chromium() as browser:
        browser.open(page.as_uri())
        header = browser.wait_for(
            "the status line", "return document.body.innerText.includes('Status:') && document.body.innerText"
        )
        assert status in header, header[:2000]
        if batch == "broken.csv":
            assert "nothing of this run was published" in header
        assert browser.script("return typeof jQuery") == "function"
        browser.screenshot(f"data-docs-{batch}")
        assert browser.console_errors() == []
        assert local_only(browser.requests()) == []
