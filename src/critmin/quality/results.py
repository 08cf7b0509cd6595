"""The outcome of a validation: one ``CheckResult`` per expectation, in words a person reads.

GX's raw results are turned into an observed value ("2 of 6 rows (33.3%) unexpected: -406000")
and up to five offending rows of the batch, as plain JSON-able values.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas

MAX_OFFENDING_ROWS = 5
MAX_VALUES_SHOWN = 5


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one expectation (one rule) on one batch."""

    dataset: str
    batch: str
    rule: str
    expectation: str
    severity: str
    description: str
    success: bool
    observed_value: str
    unexpected_count: int | None
    offending_rows: tuple[dict, ...]

    @property
    def is_critical_failure(self) -> bool:
        return not self.success and self.severity == "critical"

    @property
    def is_warning(self) -> bool:
        return not self.success and self.severity == "warning"


def as_dicts(results: Sequence[CheckResult]) -> list[dict[str, Any]]:
    """JSON-safe dicts (for XCom, reports and the results table)."""
    return json.loads(json.dumps([asdict(r) for r in results], default=str, ensure_ascii=False))


def check_results(
    suite: Any,
    results_by_id: Mapping[Any, Any],
    dataset: str,
    batch: str,
    find_rows: Callable[[Sequence[Any]], tuple[dict, ...]],
) -> list[CheckResult]:
    """One ``CheckResult`` per expectation of ``suite``, from GX's results keyed by expectation id;
    ``find_rows`` gives the whole offending rows of a result's ``partial_unexpected_index_list``."""
    checks = []
    for expectation in suite.expectations:
        result = results_by_id[expectation.id]
        meta = expectation.meta or {}
        info = dict(result.result or {})
        error = exception_message(result.exception_info)
        unexpected = info.get("unexpected_count")
        offending: tuple[dict, ...] = ()
        if error is None and unexpected:
            offending = find_rows(info.get("partial_unexpected_index_list") or ())
        checks.append(
            CheckResult(
                dataset=dataset,
                batch=batch,
                rule=meta["rule"],
                expectation=expectation.expectation_type,
                severity=meta["severity"],
                description=meta["description"],
                success=bool(result.success) and error is None,
                observed_value=observed(expectation, info, error),
                unexpected_count=None if error is not None or unexpected is None else int(unexpected),
                offending_rows=offending,
            )
        )
    return checks


def exception_message(exception_info: Any) -> str | None:
    """GX's exception_info is either one {raised_exception, exception_message, ...} dict or a dict
    of those keyed by metric; None when nothing was raised."""
    if not isinstance(exception_info, Mapping):
        return None
    candidates = [exception_info] if "raised_exception" in exception_info else exception_info.values()
    for info in candidates:
        if isinstance(info, Mapping) and info.get("raised_exception"):
            message = str(info.get("exception_message") or "exception").strip()
            return message.splitlines()[0][:200] if message else "exception"
    return None


def observed(expectation: Any, info: Mapping, error: str | None) -> str:
    if error is not None:
        return f"error: {error}"
    if info.get("unexpected_count") is not None and info.get("element_count") is not None:
        unexpected = int(info["unexpected_count"])
        total = int(info["element_count"])
        rows = f"{total} rows"
        condition = _condition_text(getattr(expectation, "row_condition", None))
        if condition:
            rows += f" where {condition}"
        if not unexpected:
            return f"0 of {rows} unexpected"
        share = 100 * unexpected / total if total else 0.0
        percent = f"{share:.1f}" if share >= 0.1 else f"{share:.2g}"
        text = f"{unexpected} of {rows} ({percent}%) unexpected"
        values = _values_text(info.get("partial_unexpected_counts") or [])
        return f"{text}: {values}" if values else text
    if "observed_value" in info:
        value = _short(info["observed_value"])
        if expectation.expectation_type.startswith("expect_table_row_count"):
            return f"row count {value}"
        if expectation.expectation_type.startswith("expect_table_column_count"):
            return f"column count {value}"
        return f"observed {value}"
    return "no observed value"


def _condition_text(condition: Any) -> str | None:
    if not condition:
        return None
    if isinstance(condition, str):
        return condition
    if hasattr(condition, "pass_through_filter"):
        return str(condition.pass_through_filter)
    return repr(condition)


def _values_text(counts: Sequence[Mapping]) -> str:
    """The distinct unexpected values, most frequent first. GX counts them within the partial
    list only (``partial_unexpected_count`` rows), so the counts themselves are not shown."""
    parts = [_short(entry.get("value")) for entry in counts[:MAX_VALUES_SHOWN]]
    if len(counts) > MAX_VALUES_SHOWN:
        parts.append("...")
    return ", ".join(parts)


def _short(value: Any) -> str:
    value = plain(value)
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        text = str(int(value))
    elif isinstance(value, (tuple, list)):
        text = " vs ".join(_short(item) for item in value)
    elif isinstance(value, str):
        text = repr(value)
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def plain(value: Any) -> Any:
    """A plain JSON-able Python value: numpy scalars unwrapped, NaN/NA/NaT as None."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (tuple, list)):
        return type(value)(plain(item) for item in value)
    import pandas as pd

    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # array-likes
        pass
    if hasattr(value, "item") and not isinstance(value, (bytes, bytearray)):
        try:
            return plain(value.item())
        except (TypeError, ValueError):
            pass
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


class RowFinder:
    """Finds the frame rows GX reported as unexpected and returns them as plain dicts."""

    def __init__(self, frame: pandas.DataFrame, index_columns: Sequence[str]) -> None:
        self._frame = frame
        self._columns = list(index_columns)
        self._positions: dict[tuple, list[int]] | None = None

    def rows(self, reported: Sequence[Any]) -> tuple[dict, ...]:
        positions: list[int] = []
        for entry in reported:
            for position in self._locate(entry):
                if position not in positions:
                    positions.append(position)
            if len(positions) >= MAX_OFFENDING_ROWS:
                break
        records = self._frame.iloc[positions[:MAX_OFFENDING_ROWS]].to_dict(orient="records")
        return tuple({str(k): plain(v) for k, v in record.items()} for record in records)

    def _locate(self, entry: Any) -> list[int]:
        if not self._columns:  # entries are index labels, which are positions (reset_index)
            return [int(entry)] if isinstance(entry, (int,)) or hasattr(entry, "item") else []
        if not isinstance(entry, Mapping):
            return []
        if self._positions is None:
            keys = zip(*(self._frame[column].tolist() for column in self._columns), strict=True)
            self._positions = {}
            for position, key in enumerate(keys):
                self._positions.setdefault(tuple(plain(v) for v in key), []).append(position)
        key = tuple(plain(entry.get(column)) for column in self._columns)
        return self._positions.get(key, [])
