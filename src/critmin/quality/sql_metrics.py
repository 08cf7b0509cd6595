"""The metrics of a suite's expectations, computed in SQL over a DuckDB table (``SqlMetrics``):
what Great Expectations' engines compute for a batch (the domain's row count, its null count, the
unexpected count, the first unexpected values and rows in the table's order), under the metric
names GX's expectation classes read in ``_validate``. ``sql_validation`` hands them to GX.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from critmin.quality.results import MAX_OFFENDING_ROWS, plain

if TYPE_CHECKING:
    from collections.abc import Sequence

    import duckdb

#: How many unexpected values and rows GX keeps per expectation (in results and in Data Docs).
PARTIAL_UNEXPECTED_COUNT = 20
_OPERATORS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


class SqlMetrics:
    """The SQL behind each expectation's metrics, over one table."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, table: str, index: list[str]) -> None:
        self.connection = connection
        self.table = table
        self.index = index

    def _scalar(self, sql: str, parameters: dict[str, Any] | None = None) -> int:
        (value,) = self.connection.execute(sql, parameters or {}).fetchone() or (0,)
        return int(value or 0)

    def metrics(self, expectation: Any) -> dict[str, Any]:
        kind = expectation.expectation_type
        kwargs = expectation.configuration.kwargs
        domain = _condition_sql(kwargs.get("row_condition"))
        count = f"select count(*) from {self.table} where {domain}"
        metrics: dict[str, Any] = {"table.row_count": self._scalar(count)}
        if kind == "expect_table_row_count_to_be_between":
            return metrics
        if kind == "expect_column_pair_values_to_be_equal":
            first, second = _quoted(kwargs["column_A"]), _quoted(kwargs["column_B"])
            kept = _pair_kept_sql(first, second, kwargs.get("ignore_row_if") or "both_values_are_missing")
            prefix = "column_pair_values.equal"
            metrics[f"{prefix}.filtered_row_count"] = self._scalar(f"{count} and {kept}")
            unexpected = f"{domain} and {kept} and {first} is distinct from {second}"
            self._unexpected(metrics, prefix, unexpected, [kwargs["column_A"], kwargs["column_B"]], {})
            return metrics
        column = kwargs["column"]
        quoted = _quoted(column)
        prefix = expectation.map_metric
        if kind in ("expect_column_values_to_not_be_null", "expect_column_values_to_be_null"):
            unexpected = "is null" if kind == "expect_column_values_to_not_be_null" else "is not null"
            self._unexpected(metrics, prefix, f"{domain} and {quoted} {unexpected}", [column], {})
            return metrics
        metrics["column_values.nonnull.unexpected_count"] = self._scalar(f"{count} and {quoted} is null")
        condition, parameters = _unexpected_sql(kind, quoted, kwargs, self.table, domain)
        self._unexpected(
            metrics, prefix, f"{domain} and {quoted} is not null and {condition}", [column], parameters
        )
        return metrics

    def _unexpected(
        self, metrics: dict[str, Any], prefix: str, where: str, columns: list[str], parameters: dict[str, Any]
    ) -> None:
        """The unexpected count, and the first values and rows (value, then index columns)."""
        metrics[f"{prefix}.unexpected_count"] = self._scalar(
            f"select count(*) from {self.table} where {where}", parameters
        )
        shown = [*columns, *(c for c in self.index if c not in columns)]
        selected = ", ".join(map(_quoted, shown))
        rows = self.connection.execute(
            f"select {selected} from {self.table} where {where} order by rowid limit $limit",
            {**parameters, "limit": PARTIAL_UNEXPECTED_COUNT},
        ).fetchall()
        if len(columns) == 1:
            metrics[f"{prefix}.unexpected_values"] = [row[0] for row in rows]
        else:
            metrics[f"{prefix}.unexpected_values"] = [tuple(row[: len(columns)]) for row in rows]
        metrics[f"{prefix}.unexpected_index_list"] = [dict(zip(shown, row, strict=True)) for row in rows]

    def rows(self, reported: Sequence[Any]) -> tuple[dict, ...]:
        """The whole rows GX reported (by their index columns), at most ``MAX_OFFENDING_ROWS``."""
        if not self.index or not reported:
            return ()
        keys = [tuple(entry.get(c) for c in self.index) for entry in reported if isinstance(entry, dict)]
        keys = list(dict.fromkeys(keys))[:MAX_OFFENDING_ROWS]
        found: list[dict] = []
        for key in keys:
            match = " and ".join(f"{_quoted(c)} is not distinct from $k{i}" for i, c in enumerate(self.index))
            cursor = self.connection.execute(
                f"select * from {self.table} where {match} order by rowid",
                {f"k{i}": value for i, value in enumerate(key)},
            )
            names = [d[0] for d in cursor.description or ()]
            found.extend({n: plain(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall())
        return tuple(found[:MAX_OFFENDING_ROWS])


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _condition_sql(condition: Any) -> str:
    """A GX row condition (a comparison of a column with a value) as SQL; ``true`` when none."""
    if not condition:
        return "true"
    if hasattr(condition, "model_dump"):
        condition = condition.model_dump()
    if not isinstance(condition, dict) or condition.get("type") != "comparison":
        raise ValueError(
            f"row_condition {condition!r}: only a comparison of a column with a value is supported"
        )
    operator = _OPERATORS[condition["operator"]]
    value = json.dumps(condition["parameter"]) if not isinstance(condition["parameter"], str) else None
    literal = value if value is not None else "'" + condition["parameter"].replace("'", "''") + "'"
    return f"({_quoted(condition['column']['name'])} {operator} {literal})"


def _pair_kept_sql(first: str, second: str, ignore_row_if: str) -> str:
    if ignore_row_if == "either_value_is_missing":
        return f"({first} is not null and {second} is not null)"
    if ignore_row_if == "both_values_are_missing":
        return f"({first} is not null or {second} is not null)"
    return "true"


def _unexpected_sql(
    kind: str, column: str, kwargs: dict, table: str, domain: str
) -> tuple[str, dict[str, Any]]:
    """When a non-null value breaks the expectation, as SQL with its parameters."""
    if kind in ("expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex"):
        # GX's pandas engine searches (str.contains) with Python's re; RE2 writes \uXXXX as \x{XXXX}.
        pattern = _UNICODE_ESCAPE.sub(lambda m: "\\x{" + m[1] + "}", kwargs["regex"])
        found = f"regexp_matches(cast({column} as varchar), $pattern)"
        negated = kind == "expect_column_values_to_match_regex"
        return (f"not {found}" if negated else found), {"pattern": pattern}
    if kind == "expect_column_values_to_be_between":
        parts = []
        if kwargs.get("min_value") is not None:
            parts.append(f"{column} {'<=' if kwargs.get('strict_min') else '<'} $min")
        if kwargs.get("max_value") is not None:
            parts.append(f"{column} {'>=' if kwargs.get('strict_max') else '>'} $max")
        parameters = {
            name: kwargs[f"{name}_value"]
            for name in ("min", "max")
            if kwargs.get(f"{name}_value") is not None
        }
        return f"({' or '.join(parts) or 'false'})", parameters
    if kind in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
        found = f"list_contains($values, {column})"
        return (f"not {found}" if kind.endswith("to_be_in_set") and "not_be" not in kind else found), {
            "values": list(kwargs["value_set"])
        }
    if kind == "expect_column_values_to_be_unique":
        duplicated = (
            f"select {column} from {table} where {domain} and {column} is not null "
            f"group by {column} having count(*) > 1"
        )
        return f"{column} in ({duplicated})", {}
    raise ValueError(f"{kind} cannot be validated in SQL")
