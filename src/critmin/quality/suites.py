"""Suites: versioned Great Expectations suites, one JSON file per dataset under ``expectations/``.

Every expectation carries ``meta.rule`` (a stable snake_case name), ``meta.severity`` (``critical``
or ``warning``) and ``meta.description`` (one sentence). ``load_suite`` refuses a suite that lacks
any of these instead of letting GX drop an expectation silently.

Great Expectations is imported inside functions only: importing it takes seconds.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from critmin.errors import ConfigurationError

if TYPE_CHECKING:
    import great_expectations as gx

SEVERITIES = ("critical", "warning")
REQUIRED_META = ("rule", "severity", "description")
_RULE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def load_suite(path: Path) -> gx.ExpectationSuite:
    """Read a suite JSON file (``name``, ``meta``, ``expectations``) into a GX ExpectationSuite.

    Raises ``ConfigurationError`` (a ``ValueError``), naming the file and the expectation, when an
    expectation lacks ``meta.rule``/``meta.severity``/``meta.description``, has a severity other
    than critical or warning, repeats a rule name, or is not a valid GX expectation. (GX's own
    ExpectationSuite constructor only logs and drops an invalid expectation; here it is an error.)
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot read suite: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigurationError(f"{path}: a suite file is a JSON object")
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"{path}: the suite has no 'name'")
    specs = document.get("expectations")
    if not isinstance(specs, list) or not specs:
        raise ConfigurationError(f"{path}: the suite has no 'expectations' list")
    suite_meta = document.get("meta") or {}
    if not isinstance(suite_meta, dict):
        raise ConfigurationError(f"{path}: the suite's 'meta' is not an object")

    quiet_gx_logging()
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    expectations = []
    rules: set[str] = set()
    for number, spec in enumerate(specs, start=1):
        label = _describe_spec(number, spec)
        if not isinstance(spec, dict):
            raise ConfigurationError(f"{path}: {label} is not a JSON object")
        unknown = set(spec) - {"type", "kwargs", "meta", "notes"}
        if unknown:
            raise ConfigurationError(f"{path}: {label} has unknown keys {sorted(unknown)}")
        meta = spec.get("meta")
        if not isinstance(meta, dict):
            raise ConfigurationError(f"{path}: {label} has no 'meta' object (rule, severity, description)")
        for key in REQUIRED_META:
            value = meta.get(key)
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(f"{path}: {label} has no meta.{key}")
        if not _RULE_NAME.match(meta["rule"]):
            raise ConfigurationError(f"{path}: {label}: meta.rule must be snake_case")
        if meta["severity"] not in SEVERITIES:
            raise ConfigurationError(
                f"{path}: {label}: meta.severity is {meta['severity']!r}, "
                f"expected one of {', '.join(SEVERITIES)}"
            )
        if meta["rule"] in rules:
            raise ConfigurationError(f"{path}: {label}: rule {meta['rule']!r} appears twice")
        rules.add(meta["rule"])
        kwargs = spec.get("kwargs", {})
        if not isinstance(spec.get("type"), str) or not isinstance(kwargs, dict):
            raise ConfigurationError(f"{path}: {label} needs a 'type' string and a 'kwargs' object")
        try:
            expectation = ExpectationConfiguration(
                type=spec["type"],
                kwargs=dict(kwargs),
                meta=dict(meta),
                # GX's own severity field mirrors meta.severity; notes show up in Data Docs.
                severity=meta["severity"],
                notes=spec.get("notes") or f"{meta['rule']} ({meta['severity']}): {meta['description']}",
            ).to_domain_obj()
        except Exception as exc:  # GX raises several exception types for a bad configuration
            raise ConfigurationError(f"{path}: {label} is not a valid expectation: {exc}") from exc
        expectations.append(expectation)

    return gx.ExpectationSuite(name=name, expectations=expectations, meta=dict(suite_meta))


def quiet_gx_logging() -> None:
    """GX logs ~200 'Skipping registering function' INFO lines on import: keep WARNING and up."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def _describe_spec(number: int, spec: Any) -> str:
    if not isinstance(spec, dict):
        return f"expectation #{number}"
    kind = spec.get("type", "?")
    meta = spec.get("meta")
    rule = meta.get("rule") if isinstance(meta, dict) else None
    return f"expectation #{number} ({kind}{f', rule {rule!r}' if rule else ''})"
