"""The Great Expectations suite for GACC export rows, run for real (no GX mocking)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import pandas as pd
import pytest
from conftest import REPO, stored_results

from critmin.quality.validation import CheckResult, data_docs_index, load_suite, validate

SUITE = REPO / "expectations" / "gacc_export_rows.json"
DATASET = "gacc_export_rows"

CRITICAL_RULES = {
    "hs8_code_present",
    "hs8_code_is_8_digits",
    "quantity_present",
    "quantity_non_negative",
    "value_usd_non_negative",
    "value_cny_non_negative",
    "quantity_fits_column",
    "supplementary_quantity_fits_column",
    "value_usd_fits_column",
    "value_cny_fits_column",
    "partner_code_known",
    "unit_is_kilogram_for_magnets",
    "no_duplicate_rows",
    "month_matches_run",
    "download_not_truncated",
    "partner_names_readable",
}
WARNING_RULES = {"value_present", "download_has_rows"}

#: The row every breaking case spoils (row position 2, i.e. source_line 4).
BROKEN_POSITION = 2
BROKEN_LINE = 4


def clean_frame(batch: str = "2025-05_export.csv") -> pd.DataFrame:
    """Six rows of one download that pass every rule, with the edge cases the rules must allow:
    a non-magnet code in another unit, a missing month, a missing partner code (so
    partner_code_known is None), an all-null value_cny and an all-null province."""
    rows = [
        # hs8, partner code, partner name, known, unit, month
        ("85051110", "502", "United States", True, "Kilogram", "2025-05"),
        ("85051110", "304", "德国", True, "千克", "2025-05"),
        ("85051110", "133", "Korea, Republic of", True, "Kilogram", "2025-05"),
        ("85051190", "116", "Japan", True, "Piece", "2025-05"),  # not a magnet: any unit
        ("85051110", None, None, None, None, None),  # no partner, unit or month
        ("28053012", "141", "Viet Nam", True, "Kilogram", "2025-05"),
    ]
    records = []
    for line, (hs8, code, name, known, unit, month) in enumerate(rows, start=2):
        records.append(
            {
                "source_file": batch,
                "source_line": line,
                "run_month": "2025-05",
                "file_data_rows": len(rows),
                "month": month,
                "hs8_code": hs8,
                "commodity_name": "permanent magnets",
                "partner_code": code,
                "partner_name": name,
                "regime_code": "10",
                "regime_name": "General trade",
                "province_code": None,
                "province_name": None,
                "quantity": 1000.0 * line,
                "unit": unit,
                "supplementary_quantity": None,
                "supplementary_unit": None,
                "value_usd": 50000.0 + line,
                "value_cny": None,
                "duplicate_key": f"{month}|{hs8}|{code}|10|",
                "partner_code_known": known,
                "partner_name_unlisted": None if name in ("United States", "德国") else name,
            }
        )
    return pd.DataFrame.from_records(records)


def by_rule(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {result.rule: result for result in results}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("quality-home")


@pytest.fixture(scope="module")
def clean_run(home):
    docs_dir = home / "clean" / "docs" / "quality"
    frame = clean_frame()
    before = frame.copy()
    results = validate(frame, SUITE, dataset=DATASET, batch="2025-05_export.csv", docs_dir=docs_dir)
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is left alone
    return docs_dir, results


# --- the suite file -------------------------------------------------------------------------


def test_suite_file_declares_the_contracted_rules():
    suite = load_suite(SUITE)
    assert suite.name == DATASET
    severities = {e.meta["rule"]: e.meta["severity"] for e in suite.expectations}
    assert {r for r, s in severities.items() if s == "critical"} == CRITICAL_RULES
    assert {r for r, s in severities.items() if s == "warning"} == WARNING_RULES
    assert all(e.meta["description"].strip() for e in suite.expectations)
    assert len(suite.expectations) == len(severities)  # no expectation dropped or doubled


@pytest.mark.parametrize(
    ("meta", "complaint"),
    [
        ({"rule": "quantity_present", "description": "Every row has a quantity."}, "meta.severity"),
        ({"rule": "quantity_present", "severity": "fatal", "description": "x."}, "fatal"),
        ({"severity": "critical", "description": "Every row has a quantity."}, "meta.rule"),
        ({"rule": "quantity_present", "severity": "critical"}, "meta.description"),
    ],
)
def test_load_suite_refuses_an_expectation_without_rule_severity_or_description(tmp_path, meta, complaint):
    bad = tmp_path / "bad_suite.json"
    good = {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {"column": "hs8_code"},
        "meta": {"rule": "hs8_code_present", "severity": "critical", "description": "x."},
    }
    broken = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "quantity"}}
    bad.write_text(json.dumps({"name": "bad", "expectations": [good, {**broken, "meta": meta}]}))
    with pytest.raises(ValueError, match=complaint) as caught:
        load_suite(bad)
    message = str(caught.value)
    assert str(bad) in message
    assert "expectation #2" in message and "expect_column_values_to_not_be_null" in message


def test_load_suite_refuses_an_invalid_expectation_instead_of_dropping_it(tmp_path):
    bad = tmp_path / "typo_suite.json"
    meta = {"rule": "quantity_present", "severity": "critical", "description": "x."}
    bad.write_text(
        json.dumps(
            {
                "name": "typo",
                "expectations": [{"type": "expect_column_values_to_be_nul", "kwargs": {}, "meta": meta}],
            }
        )
    )
    with pytest.raises(ValueError, match="typo_suite.json.*quantity_present"):
        load_suite(bad)


# --- validation results -----------------------------------------------------------------------


def test_a_clean_download_passes_every_rule(clean_run):
    _, results = clean_run
    rules = by_rule(results)
    assert set(rules) == CRITICAL_RULES | WARNING_RULES
    assert len(results) == len(rules)
    failed = {r.rule: r.observed_value for r in results if not r.success}
    assert failed == {}
    for result in results:
        assert (result.dataset, result.batch) == (DATASET, "2025-05_export.csv")
        assert result.offending_rows == ()
        assert result.description
    row_level = rules["quantity_non_negative"]
    assert row_level.expectation == "expect_column_values_to_be_between"
    assert (row_level.unexpected_count, row_level.observed_value) == (0, "0 of 6 rows unexpected")
    # The magnet unit rule looks only at hs8_code 85051110 rows (the Piece row is another code).
    assert rules["unit_is_kilogram_for_magnets"].observed_value == (
        "0 of 4 rows where hs8_code == 85051110 unexpected"
    )
    table_level = rules["download_has_rows"]
    assert table_level.expectation == "expect_table_row_count_to_be_between"
    assert (table_level.severity, table_level.unexpected_count) == ("warning", None)
    assert table_level.observed_value == "row count 6"


def _spoil(column, value):
    def spoil(frame):
        frame.loc[BROKEN_POSITION, column] = value

    return spoil


def _duplicate_key(frame):
    frame.loc[BROKEN_POSITION, "duplicate_key"] = frame.loc[BROKEN_POSITION - 1, "duplicate_key"]


def _truncated(frame):
    frame["file_data_rows"] = 10000


BREAKERS = {
    # rule: (how to break it, what observed_value must show)
    "hs8_code_present": (_spoil("hs8_code", None), "unexpected: null"),
    "hs8_code_is_8_digits": (_spoil("hs8_code", "8505111"), "'8505111'"),
    "quantity_present": (_spoil("quantity", None), "unexpected: null"),
    "quantity_non_negative": (_spoil("quantity", -5.0), "unexpected: -5"),
    "value_usd_non_negative": (_spoil("value_usd", -1.5), "unexpected: -1.5"),
    "value_cny_non_negative": (_spoil("value_cny", -7.0), "unexpected: -7"),
    # 40 digits, as a damaged file might hold: read as a number, too large for its column
    "quantity_fits_column": (_spoil("quantity", 1.2345678901234567e39), "unexpected: 1.2345678901234567e+39"),
    "supplementary_quantity_fits_column": (
        _spoil("supplementary_quantity", 1e15),
        "unexpected: 1000000000000000.0",
    ),
    "value_usd_fits_column": (_spoil("value_usd", 1e16), "unexpected: 1e+16"),
    "value_cny_fits_column": (_spoil("value_cny", 3e20), "unexpected: 3e+20"),
    "partner_code_known": (_spoil("partner_code_known", False), "unexpected: False"),
    "unit_is_kilogram_for_magnets": (_spoil("unit", "Ton"), "where hs8_code == 85051110"),
    "no_duplicate_rows": (_duplicate_key, "'2025-05|85051110|304|10|'"),
    "month_matches_run": (_spoil("month", "2025-04"), "'2025-04' vs '2025-05'"),
    "download_not_truncated": (_truncated, "6 of 6 rows (100.0%) unexpected: 10000"),
    "partner_names_readable": (_spoil("partner_name_unlisted", "Ã‰tats-Unis"), "'Ã‰tats-Unis'"),
}


@pytest.fixture(scope="module")
def broken_runs(home):
    """One validation per critical rule, each of a frame that breaks exactly that rule."""
    docs_dir = home / "broken" / "docs" / "quality"
    runs = {}
    for rule, (spoil, _) in BREAKERS.items():
        frame = clean_frame(batch=f"{rule}.csv")
        spoil(frame)
        runs[rule] = (
            frame,
            # Data Docs are checked on the clean run's site; these runs store their results only.
            by_rule(
                validate(
                    frame, SUITE, dataset=DATASET, batch=f"{rule}.csv", docs_dir=docs_dir, render_docs=False
                )
            ),
        )
    return runs


def test_every_critical_rule_has_a_breaking_case():
    assert set(BREAKERS) == CRITICAL_RULES


@pytest.mark.parametrize("rule", sorted(BREAKERS))
def test_each_critical_rule_fails_on_a_frame_that_breaks_only_it(broken_runs, rule):
    frame, results = broken_runs[rule]
    result = results[rule]
    assert (result.rule, result.severity, result.success) == (rule, "critical", False)
    assert result.batch == f"{rule}.csv"
    assert result.unexpected_count and result.unexpected_count >= 1
    expected_text = BREAKERS[rule][1]
    assert expected_text in result.observed_value
    assert " unexpected" in result.observed_value

    lines = [row["source_line"] for row in result.offending_rows]
    assert BROKEN_LINE in lines
    assert 1 <= len(result.offending_rows) <= 5
    broken_row = next(row for row in result.offending_rows if row["source_line"] == BROKEN_LINE)
    assert set(broken_row) == set(frame.columns)  # the whole row, not just the key
    assert broken_row["source_file"] == f"{rule}.csv"
    json.dumps(result.offending_rows)  # plain JSON-able values (no numpy, no NaN)

    others = {r.rule: r.observed_value for r in results.values() if not r.success and r.rule != rule}
    assert others == {}, "the frame should break exactly one rule"


def test_offending_rows_are_capped_at_five_and_are_the_failing_ones(broken_runs):
    _, results = broken_runs["download_not_truncated"]
    result = results["download_not_truncated"]
    assert result.unexpected_count == 6
    assert [row["source_line"] for row in result.offending_rows] == [2, 3, 4, 5, 6]
    assert all(row["file_data_rows"] == 10000 for row in result.offending_rows)

    _, results = broken_runs["no_duplicate_rows"]
    duplicates = results["no_duplicate_rows"]
    assert duplicates.unexpected_count == 2
    assert sorted(row["source_line"] for row in duplicates.offending_rows) == [3, 4]

    _, results = broken_runs["hs8_code_present"]
    (row,) = results["hs8_code_present"].offending_rows
    assert row["hs8_code"] is None and row["value_cny"] is None
    assert row["quantity"] == 4000.0 and row["partner_code_known"] is True


def test_warning_rules_report_without_being_critical(home):
    frame = clean_frame()
    frame["value_usd"] = None
    empty = clean_frame().iloc[0:0]
    docs_dir = home / "warnings" / "docs" / "quality"
    options = {"dataset": DATASET, "docs_dir": docs_dir, "render_docs": False}  # results, not pages
    no_values = by_rule(validate(frame, SUITE, batch="no-values.csv", **options))
    no_rows = by_rule(validate(empty, SUITE, batch="empty.csv", **options))

    value_present = no_values["value_present"]
    assert (value_present.severity, value_present.success) == ("warning", False)
    assert value_present.observed_value == "6 of 6 rows (100.0%) unexpected: null"
    assert len(value_present.offending_rows) == 5
    assert all(r.success for r in no_values.values() if r.severity == "critical")

    has_rows = no_rows["download_has_rows"]
    assert (has_rows.severity, has_rows.success) == ("warning", False)
    assert (has_rows.observed_value, has_rows.unexpected_count, has_rows.offending_rows) == (
        "row count 0",
        None,
        (),
    )
    assert all(r.success for r in no_rows.values() if r.severity == "critical")


def test_legacy_pandas_row_condition_table_rules_and_frames_without_index_columns(tmp_path):
    """GX 1.24 still runs row_condition strings with condition_parser='pandas' (deprecated since
    1.9); without the index columns, offending rows are found by position."""
    suite = tmp_path / "small.json"
    meta = {"severity": "critical", "description": "x."}
    suite.write_text(
        json.dumps(
            {
                "name": "small",
                "expectations": [
                    {
                        "type": "expect_column_values_to_be_in_set",
                        "kwargs": {
                            "column": "unit",
                            "value_set": ["Kilogram"],
                            "row_condition": 'hs8_code == "85051110"',
                            "condition_parser": "pandas",
                        },
                        "meta": {**meta, "rule": "magnet_unit"},
                    },
                    {
                        "type": "expect_table_row_count_to_be_between",
                        "kwargs": {"max_value": 2},
                        "meta": {**meta, "rule": "at_most_two_rows"},
                    },
                    {
                        "type": "expect_column_values_to_not_be_null",
                        "kwargs": {"column": "no_such_column"},
                        "meta": {**meta, "rule": "missing_column"},
                    },
                ],
            }
        )
    )
    frame = pd.DataFrame(
        {"hs8_code": ["85051110", "85051190", "85051110"], "unit": ["Kilogram", "Ton", "Ton"]},
        index=[30, 10, 20],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        results = by_rule(validate(frame, suite, dataset="small", batch="b", docs_dir=tmp_path / "d" / "q"))

    unit = results["magnet_unit"]
    assert (unit.success, unit.unexpected_count) == (False, 1)
    assert unit.observed_value == """1 of 2 rows where hs8_code == "85051110" (50.0%) unexpected: 'Ton'"""
    assert unit.offending_rows == ({"hs8_code": "85051110", "unit": "Ton"},)

    table = results["at_most_two_rows"]
    assert (table.success, table.observed_value, table.offending_rows) == (False, "row count 3", ())

    missing = results["missing_column"]
    assert missing.success is False and missing.unexpected_count is None
    assert missing.observed_value.startswith("error: ") and "no_such_column" in missing.observed_value


# --- Data Docs --------------------------------------------------------------------------------


def test_data_docs_site_lists_every_validation(clean_run, home):
    docs_dir, _ = clean_run
    index = data_docs_index(docs_dir)
    assert index == docs_dir / "index.html" and index.is_file()
    site_text = "\n".join(p.read_text(encoding="utf-8") for p in docs_dir.rglob("*.html"))
    assert DATASET in site_text
    assert (docs_dir / "expectations" / f"{DATASET}.html").is_file()
    assert "2025-05_export.csv" in index.read_text(encoding="utf-8")

    # A second call adds its validation; the first one stays on the index.
    validate(
        clean_frame("2025-06_export.csv"),
        SUITE,
        dataset=DATASET,
        batch="2025-06_export.csv",
        docs_dir=docs_dir,
        run_name="2025-06",
    )
    index_text = index.read_text(encoding="utf-8")
    assert "2025-05_export.csv" in index_text and "2025-06_export.csv" in index_text
    assert len(list((docs_dir / "validations").rglob("*.html"))) == 2

    # GX state is kept beside the docs (docs_dir.parent.parent / "gx"), not in the repository.
    gx_dir = docs_dir.parent.parent / "gx"
    assert len(list((gx_dir / "validations").rglob("*.json"))) == 2
    assert (gx_dir / "expectations" / f"{DATASET}.json").is_file()
    assert not (REPO / "gx").exists() and not (REPO / "great_expectations.yml").exists()


def test_deferred_docs_render_once_at_the_end_and_a_teardown_inside_leaves_them_pending(tmp_path):
    """The embedded runner's months: each run's teardown leaves its pages pending (on disk, so a
    killed process leaves them to the next render); the block's end renders them all at once."""
    from critmin.quality import gate
    from critmin.quality.validation import PENDING_DOCS
    from critmin.settings import Settings

    settings = Settings.for_home(tmp_path / "home")
    docs_dir, gx_dir = settings.paths.quality_docs, settings.paths.gx_state
    pending = gx_dir / PENDING_DOCS

    def validate_month(month: str) -> None:
        batch = f"{month}_export.csv"
        gate.run_suite(
            settings, clean_frame(batch), DATASET, batch=batch, run_name=month, index_columns=["source_line"]
        )

    with gate.deferred_docs(settings):
        validate_month("2025-05")
        assert gate.publish_docs(settings, teardown=True) == 0, "a teardown inside the block renders nothing"
        validate_month("2025-06")
        assert gate.publish_docs(settings, teardown=True) == 0
        assert len(pending.read_text(encoding="utf-8").splitlines()) == 2
        assert not (docs_dir / "index.html").exists()
    index_text = (docs_dir / "index.html").read_text(encoding="utf-8")
    assert "2025-05_export.csv" in index_text and "2025-06_export.csv" in index_text
    assert not pending.exists()

    # Outside the block, the teardown renders its run's pages at once.
    validate_month("2025-07")
    assert gate.publish_docs(settings, teardown=True) == 1
    assert "2025-07_export.csv" in (docs_dir / "index.html").read_text(encoding="utf-8")


def test_deferred_docs_are_not_rendered_over_a_full_disk_error(tmp_path, monkeypatch):
    """Runs that end on a full disk leave their pages pending: the render would fail too and bury
    the runs' error under its own. Any other error still renders what the runs validated."""
    import errno

    from critmin.quality import gate
    from critmin.settings import Settings

    settings = Settings.for_home(tmp_path / "home")
    rendered: list[object] = []
    monkeypatch.setattr(gate, "publish_docs", lambda settings: rendered.append(settings))
    with pytest.raises(OSError, match="No space"), gate.deferred_docs(settings):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert rendered == []
    with pytest.raises(KeyboardInterrupt), gate.deferred_docs(settings):
        raise KeyboardInterrupt
    assert rendered == [settings]
    with gate.deferred_docs(settings), gate.deferred_docs(settings):
        pass
    assert rendered == [settings, settings], "once, at the outer block's end"
    # Runs that failed on a full disk end the block normally (a failed run is an outcome): the
    # space left decides.
    monkeypatch.setattr(gate, "NEARLY_FULL_BYTES", 2**62)
    with gate.deferred_docs(settings):
        pass
    assert rendered == [settings, settings]


# --- quiet ------------------------------------------------------------------------------------


def test_import_is_light_and_a_validation_prints_nothing(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        import pandas as pd
        from critmin.quality import validation
        assert "great_expectations" not in sys.modules, "GX imported at module import"
        frame = pd.DataFrame({{"source_file": ["f.csv"] * 3, "source_line": [2, 3, 4],
                               "hs8_code": ["85051110", "8505111", None],
                               "quantity": [1.0, -1.0, None]}})
        validation.validate(frame, Path({str(SUITE)!r}), dataset="d", batch="b.csv",
                            docs_dir=Path({str(tmp_path)!r}) / "docs" / "quality")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "Skipping registering" not in done.stdout + done.stderr
    assert "%|" not in done.stderr and "Calculating Metrics" not in done.stderr
    assert done.stdout == "" and done.stderr == ""
    assert data_docs_index(tmp_path / "docs" / "quality").is_file()


# --- Data Docs at scale: the index is GX's, without rereading every stored result -------------


def _stock_index(docs_dir):
    """The index GX's own builders write for the same stores: its links and its page (without
    the per-build ``?d=`` timestamps)."""
    import copy

    from critmin.quality import validation
    from critmin.quality.docs_status import mark_outcomes
    from critmin.quality.offline_docs import localize

    context = validation.gx_context(docs_dir.parent.parent / "gx", docs_dir)
    stock = copy.deepcopy(dict(context.variables.data_docs_sites[validation.DOCS_SITE_NAME]))
    for critmin_builder in ("site_index_builder", "site_section_builders", "module_name"):
        stock.pop(critmin_builder)
    stock["class_name"] = "SiteBuilder"
    builder = context._init_site_builder_for_data_docs_site_creation(
        site_name=validation.DOCS_SITE_NAME, site_config=stock
    )
    _, links = builder.site_index_builder.build()
    # The page as critmin's site builder leaves it: loading nothing from the network, each
    # outcome by its rules' severity.
    mark_outcomes(docs_dir, docs_dir.parent.parent / "gx" / "validations")
    return links, localize(_without_timestamps(data_docs_index(docs_dir)), "static")


def _without_timestamps(index):
    import re

    return re.sub(r"\?d=\d{8}T\d{6}\.\d{6}Z", "", index.read_text(encoding="utf-8"))


def test_the_index_is_gx_s_own_and_old_results_are_not_reread(tmp_path):
    from critmin.quality.data_docs import INDEX_CACHE_NAME

    docs_dir = tmp_path / "docs" / "quality"
    gx_dir = tmp_path / "gx"
    broken = clean_frame("broken.csv")
    broken.loc[BROKEN_POSITION, "quantity"] = -5.0
    for batch, frame in [("a.csv", clean_frame("a.csv")), ("broken.csv", broken)]:
        validate(frame, SUITE, dataset=DATASET, batch=batch, docs_dir=docs_dir, run_name=f"run {batch}")
    cache = json.loads((gx_dir / INDEX_CACHE_NAME).read_text(encoding="utf-8"))
    assert len(cache["results"]) == 2
    assert sorted(s["success"] for s in cache["results"].values()) == [False, True]

    # An old result is not read again: spoiled on disk, it is still listed from the cache.
    (old,) = (gx_dir / "validations").rglob("*a.csv.json")
    old_bytes = old.read_bytes()
    old.write_text("not json", encoding="utf-8")
    validate(clean_frame("b.csv"), SUITE, dataset=DATASET, batch="b.csv", docs_dir=docs_dir, run_name="run b")
    ours = _without_timestamps(data_docs_index(docs_dir))
    assert all(name in ours for name in ("a.csv", "broken.csv", "b.csv"))
    old.write_bytes(old_bytes)

    # The index and the links are exactly what GX's own builders make of the same stores.
    validate(clean_frame("c.csv"), SUITE, dataset=DATASET, batch="c.csv", docs_dir=docs_dir, run_name="run c")
    ours = _without_timestamps(data_docs_index(docs_dir))
    links, stock = _stock_index(docs_dir)
    assert ours == stock
    assert [link["validation_success"] for link in links["validations_links"]] == [True, True, False, True]
    assert len(list((docs_dir / "validations").rglob("*.html"))) == 4

    # A broken cache is rebuilt from the results; the index is the same.
    (gx_dir / INDEX_CACHE_NAME).write_text("{", encoding="utf-8")
    validate(clean_frame("d.csv"), SUITE, dataset=DATASET, batch="d.csv", docs_dir=docs_dir, run_name="run d")
    ours = _without_timestamps(data_docs_index(docs_dir))  # read before GX's builders overwrite it
    _, stock = _stock_index(docs_dir)
    assert ours == stock
    assert len(json.loads((gx_dir / INDEX_CACHE_NAME).read_text(encoding="utf-8"))["results"]) == 5


def test_results_stored_by_other_means_get_their_pages_and_index_entries(tmp_path):
    from critmin.quality.validation import add_stored_results_to_data_docs

    docs_dir = tmp_path / "docs" / "quality"
    validate(
        clean_frame(), SUITE, dataset=DATASET, batch="2025-05", docs_dir=docs_dir, run_name="run 2025-05"
    )
    (stored,) = (tmp_path / "gx" / "validations").rglob("*.json")
    copy = (
        stored.parents[2]
        / "run 2025-04 SYNTHETIC"
        / "20250501T060000.000000Z"
        / "gacc_export_rows-2025-04.json"
    )
    copy.parent.mkdir(parents=True)
    copy.write_text(stored.read_text(encoding="utf-8").replace("2025-05", "2025-04"), encoding="utf-8")

    assert add_stored_results_to_data_docs([copy], docs_dir=docs_dir) == 1
    pages = sorted(p.name for p in (docs_dir / "validations").rglob("*.html"))
    assert pages == ["gacc_export_rows-2025-04.html", "gacc_export_rows-2025-05.html"]
    index = _without_timestamps(data_docs_index(docs_dir))
    assert "run 2025-04 SYNTHETIC" in index and "run 2025-05" in index
    assert index == _stock_index(docs_dir)[1]


# --- the same suite computed in SQL (critmin.quality.sql_validation) ---------------------------


def _mutations():
    """Frames the two engines must judge alike: the clean one, each rule's breaking case, the
    warning cases, and harder ones (several rules broken at once, more than 20 unexpected rows,
    nulls in the pair and the set columns, an empty frame)."""
    yield "clean", clean_frame()
    for rule, (spoil, _) in BREAKERS.items():
        frame = clean_frame()
        spoil(frame)
        yield rule, frame
    no_values = clean_frame()
    no_values["value_usd"] = None
    yield "no-values", no_values
    yield "empty", clean_frame().iloc[0:0]
    many = pd.concat([clean_frame()] * 8, ignore_index=True)
    many["source_line"] = range(2, len(many) + 2)
    many.loc[::3, "quantity"] = -1.0
    many.loc[5, "month"] = None
    many.loc[7, "partner_code_known"] = False
    many.loc[9, "unit"] = None
    many.loc[10, "hs8_code"] = "85O51110"
    yield "many", many


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory):
    from critmin.quality.sql_validation import validate_frame

    home = tmp_path_factory.mktemp("engines")
    runs = {}
    for name, frame in _mutations():
        pandas_results = validate(  # the reference's results only: the SQL engine's site is checked
            frame,
            SUITE,
            dataset=DATASET,
            batch=f"{name}.csv",
            docs_dir=home / "pandas" / "docs" / "quality",
            render_docs=False,
        )
        sql_results = validate_frame(
            frame, SUITE, dataset=DATASET, batch=f"{name}.csv", docs_dir=home / "sql" / "docs" / "quality"
        )
        runs[name] = (pandas_results, sql_results)
    return home, runs


def test_the_suite_in_sql_gives_gx_s_results_for_every_case(both_engines):
    home, runs = both_engines
    failed = 0
    for name, (pandas_results, sql_results) in runs.items():
        assert sql_results == pandas_results, name
        failed += sum(not r.success for r in sql_results)
    assert failed >= len(BREAKERS) + 2, "the cases do break rules"
    stored = {engine: stored_results(home / engine / "gx") for engine in ("pandas", "sql")}
    assert stored["sql"].keys() == stored["pandas"].keys() == {f"{name}.csv" for name in runs}
    assert stored["sql"] == stored["pandas"]


def test_the_sql_validations_are_in_the_data_docs_site(both_engines):
    home, runs = both_engines
    index = (home / "sql" / "docs" / "quality" / "index.html").read_text()
    for name in runs:
        assert f"{name}.csv" in index
    pages = list((home / "sql" / "docs" / "quality" / "validations").rglob("*.html"))
    assert len(pages) == len(runs)
