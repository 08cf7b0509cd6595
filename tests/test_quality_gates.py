"""The bad input catalogue: every bad file is refused by name and rule, quarantined with a report,
and leaves what users see untouched; the month then runs cleanly once the file is fixed.

Each case starts from a home where one month (2025-09) is already published, drops a bad download
for 2025-10 next to that month's good world-total file, and runs 2025-10 through the steps of
customs_monthly, in the DAG's order, in this process (the functions the DAG's tasks call). Once
the file is fixed, the month lands, passes the raw gate and loads exactly the good rows. A few
cases, one per place a file can be refused (landing, the raw gate, the mart gate), go through the
DAG itself, end to end, and check that the fixed month is served.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import SAMPLE_LANDING, SESSION_DIR, copy_home, run_customs_steps, settings_for

from critmin.embedded import run_months
from critmin.errors import CritminError
from critmin.settings import Paths
from critmin.steps import customs_monthly as steps
from critmin.warehouse.lease import RunRef

MONTH = "2025-10"
SAMPLE_MONTH = SAMPLE_LANDING / "gacc" / "export" / MONTH
GOOD_PARTNER_FILE = "85051110_by_partner.csv"
HEADER = (
    '"Date of data","Commodity code","Trading partner code","Trading partner",'
    '"Quantity","Unit","US dollar",\n'
)


def row(partner="502", name="United States", quantity="656000", hs8="85051110", month="202510"):
    return f'"{month}","{hs8}","{partner}","{name}","{quantity}","Kilogram","?",\n'


def gb(text: str) -> bytes:
    return text.encode("gb18030")


def _ten_thousand_rows() -> bytes:
    header = (
        '"Date of data","Commodity code","Trading partner code","Locations of importers and exporters code",'
        '"Quantity","Unit",\n'
    )
    partners = ["502", "304", "133", "141", "116", "110", "121", "143", "412", "305"]
    lines = [
        f'"202510","85051110","{partners[i % 10]}","{i // 10:04d}","1","Kilogram",\n' for i in range(10_000)
    ]
    return gb(header + "".join(lines))


def _mojibake() -> bytes:
    """A download with Chinese names opened as Latin-1 and saved as UTF-8: 美国 becomes 'ÃÀ¹ú'."""
    return gb(HEADER + row(name="美国")).decode("latin-1").encode("utf-8")


def _binary() -> bytes:
    rng = random.Random(7)
    return bytes(rng.randrange(256) for _ in range(4096))


CASES = {
    # name: (bytes of the bad by-partner file, the rule the message must name)
    "utf-16": ((HEADER + row()).encode("utf-16"), "encoding_is_gb18030_or_utf8"),
    "latin-1-chinese-names": (_mojibake(), "partner_names_readable"),
    "unknown-header": (gb(HEADER.replace("Unit", "Units of measure") + row()), "headers_known"),
    "missing-header": (
        gb('"Date of data","Commodity code","Trading partner code",\n"202510","85051110","502",\n'),
        "required_columns_present",
    ),
    "header-only": (gb(HEADER), "file_has_data_rows"),
    "zero-bytes": (b"", "file_not_empty"),
    "random-binary": (_binary(), "encoding_is_gb18030_or_utf8"),
    "truncated-last-line": (gb(HEADER + row() + '"202510","850511'), "rows_well_formed"),
    "negative-quantity": (gb(HEADER + row(quantity="-656000")), "quantity_non_negative"),
    # a number as GACC writes it, but 40 digits: it cannot fit the warehouse's column
    "forty-digit-quantity": (gb(HEADER + row(quantity="1" * 40)), "quantity_fits_column"),
    "non-numeric-quantity": (gb(HEADER + row(quantity="656 t")), "numbers_are_numeric"),
    "question-mark-quantity": (gb(HEADER + row(quantity="?")), "quantity_present"),
    "seven-digit-hs-code": (gb(HEADER + row(hs8="8505111")), "hs8_code_is_8_digits"),
    "unknown-partner-code": (gb(HEADER + row(partner="998")), "partner_code_known"),
    "duplicate-rows": (gb(HEADER + row() + row()), "no_duplicate_rows"),
    "month-column-for-another-month": (gb(HEADER + row(month="202511")), "month_matches_run"),
    "ten-thousand-rows": (_ten_thousand_rows(), "download_not_truncated"),
    "partners-above-world-total": (gb(HEADER + row(quantity="6000000")), "partner_sum_within_world_total"),
}


RUN = RunRef("customs_monthly", "test-run", MONTH)
#: One case per place a download can be refused: these also run through the DAG, end to end.
THROUGH_THE_DAG = {"utf-16", "negative-quantity", "partners-above-world-total"}


def run_steps(paths: Paths) -> str | None:
    """customs_monthly's steps for MONTH, in the DAG's order; the error message, or None."""
    try:
        run_customs_steps(settings_for(paths), MONTH, RUN.run_id)
    except CritminError as error:
        return str(error)
    return None


@pytest.fixture(scope="module")
def published():
    """A home with 2025-09 published: the state users see before each bad month arrives."""
    paths = Paths(SESSION_DIR / "gates-baseline")
    shutil.copytree(
        SAMPLE_LANDING / "gacc" / "export" / "2025-09", paths.landing_dir("gacc/export", "2025-09")
    )
    saved = os.environ.get("CRITMIN_HOME")
    os.environ["CRITMIN_HOME"] = str(paths.home)
    try:
        (outcome,) = run_months(settings_for(paths), ["2025-09"], report=lambda _: None)
    finally:
        os.environ["CRITMIN_HOME"] = saved or ""
    assert outcome.ok, outcome.error
    return paths


@pytest.fixture
def home(published, tmp_path, monkeypatch):
    paths = Paths(tmp_path / "home")
    copy_home(published.home, paths.home)
    monkeypatch.setenv("CRITMIN_HOME", str(paths.home))
    folder = paths.landing_dir("gacc/export", MONTH)
    folder.mkdir(parents=True)
    shutil.copy(SAMPLE_MONTH / "85051110_world.csv", folder)
    return paths


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _warehouse_rows(paths: Paths) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse_db), read_only=True) as con:
        return con.execute("select * exclude (source_line) from raw.gacc_export_rows order by all").fetchall()


def _reports(paths: Paths) -> list[dict]:
    folder = paths.quarantine / "gacc" / "export" / MONTH
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.report.json"))]


def _assert_refused(paths: Paths, bad_name: str, rule: str, *, through_the_dag: bool) -> None:
    serving_before = _digest(paths.serving_db)
    warehouse_before = _warehouse_rows(paths)

    if through_the_dag:
        (outcome,) = run_months(settings_for(paths), [MONTH], report=lambda _: None)
        assert not outcome.ok
        error = outcome.error
    else:
        error = run_steps(paths)
    assert error is not None, "the month must be refused"

    assert rule in error, error
    assert bad_name in error, error
    assert MONTH in error
    assert _digest(paths.serving_db) == serving_before, "serving.duckdb must not change"
    assert _warehouse_rows(paths) == warehouse_before, "the warehouse keeps its previous state"
    reports = _reports(paths)
    assert [r["original_name"] for r in reports] == [bad_name]
    (report,) = reports
    assert rule in {f["rule"] for f in report["failed_rules"]}
    assert Path(report["quarantined_as"]).exists() or Path(report["quarantined_as"]).is_symlink()
    assert Path(report["quarantined_as"]).parent == paths.quarantine / "gacc" / "export" / MONTH
    assert not (paths.landing_dir("gacc/export", MONTH) / bad_name).exists(), "moved out of landing"
    if report["sha256"]:
        assert list(paths.raw.glob(f"objects/*/{report['sha256']}*")), "the bytes stay in the raw zone"
    docs = paths.quality_docs / "index.html"
    assert docs.as_uri() in error, "the message links the Data Docs"
    pages = [p for p in (paths.quality_docs / "validations").rglob("*.html") if MONTH in str(p)]
    assert pages, "the Data Docs have a page for the refused month's run"


def _month_rows(db: Path, table: str, column: str) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"select count(*) from {table} where {column} = ?", [f"{MONTH}-01"]).fetchone()[0]


def _assert_fixed(paths: Paths, bad_name: str, *, through_the_dag: bool) -> None:
    """The fix: the good download under the same name; the month now goes through."""
    shutil.copy(SAMPLE_MONTH / GOOD_PARTNER_FILE, paths.landing_dir("gacc/export", MONTH) / bad_name)
    if through_the_dag:
        (outcome,) = run_months(settings_for(paths), [MONTH], report=lambda _: None)
        assert outcome.ok, outcome.error
        # the world total and the United States, as published for 2025-10
        assert _month_rows(paths.serving_db, "marts.fct_magnet_exports_monthly", "month") == 2
    else:
        settings = settings_for(paths)
        steps.land(settings, MONTH)
        results = steps.gate_raw(settings, MONTH)
        assert steps.load(settings, RUN, MONTH, results) == 2  # the world total and the United States
        assert _month_rows(paths.warehouse_db, "raw.gacc_export_rows", "data_month") == 2


def _assert_refused_then_fixed(paths: Paths, bad_name: str, rule: str, *, through_the_dag: bool) -> None:
    _assert_refused(paths, bad_name, rule, through_the_dag=through_the_dag)
    _assert_fixed(paths, bad_name, through_the_dag=through_the_dag)


@pytest.mark.parametrize("case", sorted(set(CASES) - THROUGH_THE_DAG))
def test_bad_download_is_refused_quarantined_and_fixable(home, case):
    content, rule = CASES[case]
    (home.landing_dir("gacc/export", MONTH) / GOOD_PARTNER_FILE).write_bytes(content)
    _assert_refused_then_fixed(home, GOOD_PARTNER_FILE, rule, through_the_dag=False)


@pytest.mark.e2e
@pytest.mark.parametrize("case", sorted(THROUGH_THE_DAG))
def test_bad_download_is_refused_and_fixable_through_the_dag(home, case):
    content, rule = CASES[case]
    (home.landing_dir("gacc/export", MONTH) / GOOD_PARTNER_FILE).write_bytes(content)
    _assert_refused_then_fixed(home, GOOD_PARTNER_FILE, rule, through_the_dag=True)


def test_a_link_escaping_the_landing_folder_is_refused(home, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_bytes(gb(HEADER + row()))
    link = home.landing_dir("gacc/export", MONTH) / GOOD_PARTNER_FILE
    link.symlink_to(Path("..") / ".." / ".." / ".." / ".." / outside)
    _assert_refused_then_fixed(home, GOOD_PARTNER_FILE, "landing_file_is_regular", through_the_dag=False)
    assert outside.exists(), "the link's target is never touched"


@pytest.mark.e2e
def test_names_with_quotes_commas_and_semicolons_load_verbatim(home):
    name = """exports "Q4"; partners, v2 'final'.csv"""
    partner_name = """Korea, Rep. "South"; 'ROK'"""
    folder = home.landing_dir("gacc/export", MONTH)
    (folder / name).write_bytes(gb(HEADER + row(partner="133", name=partner_name.replace('"', '""'))))
    (outcome,) = run_months(settings_for(home), [MONTH], report=lambda _: None)
    assert outcome.ok, outcome.error
    with duckdb.connect(str(home.warehouse_db), read_only=True) as con:
        names = con.execute(
            "select original_name from raw.gacc_export_files where data_month = ?", [f"{MONTH}-01"]
        ).fetchall()
        partners = con.execute(
            "select partner_name from raw.gacc_export_rows where partner_code = '133'"
        ).fetchall()
    assert (name,) in names
    assert (partner_name,) in partners
