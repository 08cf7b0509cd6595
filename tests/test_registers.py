"""The registers DAG: agreements and export-control events land, validate, and keep their history."""

from __future__ import annotations

import hashlib
import shutil
from decimal import Decimal

import duckdb
import pendulum
import pytest
from conftest import REPO, copy_home

from critmin.embedded import run_registers
from critmin.errors import InputError
from critmin.settings import Paths, Settings
from critmin.sources.registers.read import read_registers

pytestmark = pytest.mark.e2e

AS_OF = pendulum.datetime(2026, 11, 28, tz="UTC")
UNDISCLOSED = {
    "2025-04-30-us-ukraine",
    "2025-10-08-noveon-lynas",
    "2025-10-26-us-malaysia",
    "2025-10-26-us-thailand",
    "2025-10-28-us-japan",
    "2025-11-19-mp-materials-maaden",
}


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh home whose registers are a private copy of data/registers/."""
    paths = Paths(tmp_path / "home")
    registers = tmp_path / "registers"
    shutil.copytree(REPO / "data" / "registers", registers)
    monkeypatch.setenv("CRITMIN_HOME", str(paths.home))
    monkeypatch.setenv("CRITMIN_REGISTERS_DIR", str(registers))
    return paths, registers


def _query(paths, sql, params=()):
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _run(paths, day=AS_OF):
    return run_registers(Settings.from_env(), report=lambda _: None, as_of=day)


def test_the_register_files_read_as_stated():
    registers = read_registers(REPO / "data" / "registers")
    assert len(registers.agreements) == 11
    assert len(registers.policy_events) == 7
    assert all(a["sources"] for a in registers.agreements)


def test_agreements_are_published_as_stated(home):
    paths, _ = home
    outcome = _run(paths)
    assert outcome.ok, outcome.error
    rows = {
        r[0]: r[1:]
        for r in _query(
            paths,
            "select agreement_id, headline_amount_usd, headline_qualifier, is_binding "
            "from marts.fct_mineral_agreements",
        )
    }
    assert len(rows) == 11
    assert rows["2025-10-20-us-australia"][:2] == (Decimal("8500000000.00"), "up_to")
    for agreement in UNDISCLOSED:
        assert rows[agreement][0] is None, agreement
    undisclosed_amounts = _query(
        paths,
        "select agreement_id, amount_original, amount_usd from marts.fct_agreement_amounts "
        "where qualifier = 'undisclosed'",
    )
    assert {a for a, *_ in undisclosed_amounts} == UNDISCLOSED
    assert all(o is None and u is None for _, o, u in undisclosed_amounts), "never zero"
    events = _query(paths, "select count(*) from marts.dim_policy_event")[0][0]
    assert events == 7
    april = _query(
        paths,
        "select export_control_events, export_control_event_refs from marts.mart_supply_timeline "
        "where month = '2025-04-01'",
    )
    assert april == [(1, "Announcement 18/2025 (export_control)")]


def test_amending_an_agreement_keeps_its_history(home):
    paths, registers = home
    assert _run(paths).ok
    path = registers / "agreements" / "2025-10-26-us-malaysia.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("status: announced", "status: signed"))
    outcome = _run(paths, AS_OF.add(days=1))
    assert outcome.ok, outcome.error
    versions = _query(
        paths,
        "select status, valid_from_at, valid_to_at, is_current from marts.fct_mineral_agreement_versions "
        "where agreement_id = '2025-10-26-us-malaysia' order by valid_from_at",
    )
    assert [(s, current) for s, _, _, current in versions] == [("announced", False), ("signed", True)]
    assert versions[0][2] is not None and versions[0][2] == versions[1][1], "validity ranges meet"
    current = _query(
        paths, "select status from marts.fct_mineral_agreements where agreement_id = '2025-10-26-us-malaysia'"
    )
    assert current == [("signed",)]
    others = _query(paths, "select count(*) from marts.fct_mineral_agreement_versions where not is_current")
    assert others == [(1,)], "unchanged agreements get no new version"


BAD_FILES = {
    "missing-source": ("sources:\n  - https://", "sources: []\nunused:\n  - https://", "has_source"),
    "unknown-currency": ("currency: USD", "currency: XYZ", "currency_has_usd_rate"),
    "negative-amount": ("amount: 8500000000", "amount: -8500000000", "amounts_valid"),
    "invalid-date": ("announced_on: 2025-10-20", "announced_on: 2025-13-45", "announced_on_is_a_date"),
    "broken-yaml": ("title:", "title: [unclosed", "yaml_well_formed"),
}


@pytest.fixture(scope="module")
def published_registers(tmp_path_factory):
    """A home where the registers DAG has published once (what users see before a bad edit)."""
    root = tmp_path_factory.mktemp("registers-published")
    registers = root / "registers"
    shutil.copytree(REPO / "data" / "registers", registers)
    settings = Settings.for_home(root / "home", registers_dir=registers)
    assert run_registers(settings, report=lambda _: None, as_of=AS_OF).ok
    return settings


def run_register_steps(settings: Settings, day) -> str | None:
    """The registers DAG's steps in order, in this process; the error message, or None."""
    from critmin.errors import CritminError
    from critmin.steps import registers as steps
    from critmin.warehouse.lease import RunRef

    try:
        validated = steps.gate(settings, day.date())
        run = RunRef("registers", "test-run", "registers")
        steps.load(settings, run, validated)
        steps.transform(settings, run)
        steps.publish(settings, run)
    except CritminError as error:
        return str(error)
    return None


@pytest.fixture
def published_copy(published_registers, tmp_path) -> Settings:
    """A private copy of the published home and of its register files."""
    settings = Settings.for_home(tmp_path / "home", registers_dir=tmp_path / "registers")
    copy_home(published_registers.paths.home, settings.paths.home)
    shutil.copytree(published_registers.registers_dir, settings.registers_dir)
    return settings


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_register_file_fails_the_gate_and_changes_nothing(published_copy, case):
    settings = published_copy
    paths, registers = settings.paths, settings.registers_dir
    served = hashlib.sha256(paths.serving_db.read_bytes()).hexdigest()
    old, new, rule = BAD_FILES[case]
    path = registers / "agreements" / "2025-10-20-us-australia.yml"
    text = path.read_text(encoding="utf-8")
    assert old in text, f"the fixture no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")

    error = run_register_steps(settings, AS_OF.add(days=1))

    assert error is not None, "the edit must be refused"
    assert rule in error, error
    assert "2025-10-20-us-australia.yml" in error, error
    assert hashlib.sha256(paths.serving_db.read_bytes()).hexdigest() == served
    assert path.exists(), "a register file is never moved or deleted"


def test_broken_yaml_names_the_line(tmp_path):
    folder = tmp_path / "agreements"
    folder.mkdir()
    (folder / "x.yml").write_text("id: x\ntitle: ok\nparties: [a\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_registers(tmp_path)
    assert error.value.line is not None and error.value.rule == "yaml_well_formed"
    assert "x.yml" in str(error.value)


def test_both_dags_share_the_single_writer_pool():
    from airflow.dag_processing.dagbag import DagBag

    from critmin.settings import WAREHOUSE_POOL

    bag = DagBag(dag_folder=str(REPO / "dags"))
    for dag_id in ("customs_monthly", "registers"):
        writers = [t for t in bag.dags[dag_id].tasks if t.task_id in ("load", "transform", "publish")]
        assert len(writers) == 3 and all(t.pool == WAREHOUSE_POOL for t in writers), dag_id


def test_a_refused_value_is_named_by_file_and_line(published_copy):
    settings = published_copy
    path = settings.registers_dir / "agreements" / "2025-10-20-us-australia.yml"
    text = path.read_text(encoding="utf-8").replace("amount: 8500000000", "amount: -8500000000", 1)
    path.write_text(text, encoding="utf-8")
    amounts_line = 1 + text.splitlines().index("amounts:")

    error = run_register_steps(settings, AS_OF.add(days=1))

    assert f"2025-10-20-us-australia.yml, line {amounts_line}:" in error, error


def test_yaml_files_are_read_whatever_their_extension(tmp_path):
    shutil.copytree(REPO / "data" / "registers", tmp_path / "registers")
    folder = tmp_path / "registers" / "policy_events"
    (first,) = sorted(folder.glob("*.yml"))[:1]
    first.rename(first.with_suffix(".yaml"))
    registers = read_registers(tmp_path / "registers")
    assert len(registers.policy_events) == 7
    assert first.with_suffix(".yaml").name in {e["_file"] for e in registers.policy_events}


def test_an_upper_case_extension_is_read_and_any_other_file_refused(tmp_path):
    shutil.copytree(REPO / "data" / "registers", tmp_path / "registers")
    folder = tmp_path / "registers" / "agreements"
    first = sorted(folder.glob("*.yml"))[0]
    first.rename(first.with_suffix(".YML"))
    assert len(read_registers(tmp_path / "registers").agreements) == 11, "no agreement dropped"

    (folder / "notes.txt").write_text("to check: the Vulcan amount\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_registers(tmp_path / "registers")
    assert error.value.rule == "register_files_are_yaml"
    assert "notes.txt" in str(error.value) and ".yml" in str(error.value)


def test_a_key_written_twice_is_refused_naming_file_and_line(tmp_path):
    folder = tmp_path / "agreements"
    folder.mkdir()
    (folder / "x.yml").write_text("id: x\nstatus: announced\ntitle: t\nstatus: signed\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_registers(tmp_path)
    assert error.value.line == 4 and error.value.rule == "yaml_well_formed"
    assert "x.yml" in str(error.value) and "'status' appears twice (first on line 2)" in str(error.value)
