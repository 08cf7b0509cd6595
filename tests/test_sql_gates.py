"""Every suite a gate validates as a frame (landing, the tables' figures, the marts, the registers)
is computed in SQL (``sql_validation.validate_frame``): here each suite's results in SQL are
compared with Great Expectations' own pandas engine (``validation.validate``), on a clean frame
and on a frame breaking each of its rules in a row of its own, with numbers as floats and as
``Decimal`` (as the gates build them), nulls where a rule skips them, and an empty frame.

One difference is known and kept: DuckDB reads a column of ``Decimal`` values at one scale (its
``DECIMAL`` type), so a refused value is shown with the column's decimals (``-1.0000`` where the
frame held ``Decimal("-1")`` beside ``Decimal("0.0005")``); the cases here keep one scale a column.

The raw customs rows (``gacc_export_rows``) have their own comparison in ``test_validation.py``.
"""

from __future__ import annotations

import itertools
import json
import string
from decimal import Decimal

import pandas as pd
import pytest
from conftest import REPO, stored_results

from critmin.quality.sql_validation import SQL_EXPECTATIONS, validate_frame
from critmin.quality.validation import load_suite, validate

SUITES = sorted(p.stem for p in (REPO / "expectations").glob("*.json") if p.stem != "gacc_export_rows")


def _kwargs(expectation) -> dict:
    return dict(expectation.configuration.kwargs)


def _fits(value, rules) -> bool:
    for kwargs in rules:
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        if low is not None and (value < low or (kwargs.get("strict_min") and value == low)):
            return False
        if high is not None and (value > high or (kwargs.get("strict_max") and value == high)):
            return False
    return True


def _clean_column(kinds: dict[str, list[dict]], rows: int, decimal: bool) -> list:
    """``rows`` values of a column that pass every rule the suite has on it."""
    if "expect_column_values_to_be_null" in kinds:
        return [None] * rows
    if "expect_column_values_to_match_regex" in kinds:
        return ["".join(code) for code in itertools.product(string.ascii_uppercase, repeat=3)][:rows]
    if "expect_column_values_to_be_in_set" in kinds:
        (kwargs,) = kinds["expect_column_values_to_be_in_set"]
        return [kwargs["value_set"][0]] * rows
    if "expect_column_values_to_be_unique" in kinds:
        return [f"id-{row}" for row in range(rows)]
    between = kinds.get("expect_column_values_to_be_between", [])
    value = next(v for v in (0, 0.0005, 1, -1, 0.5) if _fits(v, between))
    return [Decimal(str(value)) if decimal else float(value)] * rows


def _break(column: list, row: int, kind: str, kwargs: dict, decimal: bool) -> None:
    """Make ``column[row]`` break ``kind``."""
    if kind == "expect_column_values_to_be_between":
        high, low = kwargs.get("max_value"), kwargs.get("min_value")
        bound = Decimal(str(high if high is not None else low))
        bad = bound * 10 + 1 if high is not None else bound - 1  # as GACC prints it: no exponent
        # DuckDB reads a column of Decimals at one scale: -1 beside 0.0005 shows as -1.0000.
        column[row] = bad.quantize(column[0]) if decimal else float(bad)
    elif kind == "expect_column_values_to_not_be_null":
        column[row] = None
    elif kind == "expect_column_values_to_be_null":
        column[row] = "a problem"
    elif kind == "expect_column_values_to_be_in_set":
        column[row] = "not in the set" if not isinstance(kwargs["value_set"][0], bool) else False
    elif kind == "expect_column_values_to_be_unique":
        column[row] = column[0]
    elif kind == "expect_column_values_to_match_regex":
        column[row] = column[row].lower()
    else:
        raise AssertionError(f"no breaking case for {kind}")


def _frames(dataset: str):
    """(name, frame) the two engines must judge alike: clean; each column rule broken in a row of
    its own; nulls where the range rules skip them; empty (the row-count rule)."""
    suite = load_suite(REPO / "expectations" / f"{dataset}.json")
    by_column: dict[str, dict[str, list[dict]]] = {}
    for expectation in suite.expectations:
        kwargs = _kwargs(expectation)
        if "column" in kwargs:
            by_column.setdefault(kwargs["column"], {}).setdefault(expectation.expectation_type, []).append(
                kwargs
            )
    ranged = [name for name, kinds in by_column.items() if "expect_column_values_to_be_between" in kinds]
    rows = len(suite.expectations) + 1
    for decimal in (False, True) if ranged else (False,):
        numbers = "decimal" if decimal else "float"
        columns = {"source_file": [f"{dataset}.csv"] * rows, "source_line": list(range(2, rows + 2))}
        columns |= {name: _clean_column(kinds, rows, decimal) for name, kinds in by_column.items()}
        if not decimal:
            yield "clean-float", pd.DataFrame(columns)
        broken = {name: list(values) for name, values in columns.items()}
        for row, expectation in enumerate(suite.expectations, start=1):
            kwargs = _kwargs(expectation)
            if "column" in kwargs:
                _break(broken[kwargs["column"]], row, expectation.expectation_type, kwargs, decimal)
        yield f"broken-{numbers}", pd.DataFrame(broken)
        if ranged and not decimal:
            yield (
                "nulls-float",
                pd.DataFrame(columns | {name: [None, *columns[name][1:]] for name in ranged}),
            )
    yield "empty", pd.DataFrame(columns).iloc[0:0]


def test_every_suite_uses_only_expectations_computed_in_sql():
    for dataset in [*SUITES, "gacc_export_rows"]:
        suite = load_suite(REPO / "expectations" / f"{dataset}.json")
        assert {e.expectation_type for e in suite.expectations} <= SQL_EXPECTATIONS, dataset


@pytest.mark.parametrize("dataset", SUITES)
def test_each_suite_in_sql_gives_gx_s_pandas_results(dataset, tmp_path):
    suite_path = REPO / "expectations" / f"{dataset}.json"
    for name, frame in _frames(dataset):
        options = {
            "dataset": dataset,
            "batch": name,
            "index_columns": ("source_file", "source_line"),
            "render_docs": False,
        }
        expected = validate(frame, suite_path, docs_dir=tmp_path / "pandas" / "docs" / "quality", **options)
        got = validate_frame(frame, suite_path, docs_dir=tmp_path / "sql" / "docs" / "quality", **options)
        assert got == expected, name
        if name.startswith("clean"):
            assert all(r.success for r in got), name
        if name.startswith("broken"):
            rules = {r.rule: r for r in got}
            for expectation in load_suite(suite_path).expectations:
                if "column" in expectation.configuration.kwargs:
                    assert not rules[expectation.meta["rule"]].success, (
                        f"{name} breaks {expectation.meta['rule']}"
                    )
                    duplicated = expectation.expectation_type == "expect_column_values_to_be_unique"
                    assert rules[expectation.meta["rule"]].unexpected_count == (2 if duplicated else 1)
    assert stored_results(tmp_path / "sql" / "gx") == stored_results(tmp_path / "pandas" / "gx")


def test_a_gate_validates_its_frame_in_sql_and_keeps_the_result_for_the_data_docs(settings):
    from critmin.quality import gate

    frame = pd.DataFrame({"source_file": ["a.xls", "b.xls"], "refused_rule": [None, "not_a_table"]})
    frame["sha256"], frame["data_rows"], frame["refused_because"] = "0" * 64, 3, None
    results = gate.run_suite(
        settings, frame, "gacc_table_files", batch="2025-09", run_name="test", index_columns=("source_file",)
    )
    refused = {r.rule: r for r in results if not r.success}
    assert [row["source_file"] for row in refused["tables_readable"].offending_rows] == ["b.xls"]
    (stored,) = (settings.paths.gx_state / "validations").rglob("*.json")
    assert "validated in SQL" in json.loads(stored.read_text())["meta"]["batch_spec"]["batch_data"]
