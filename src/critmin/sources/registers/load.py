"""Load the registers: every ``raw.register_*`` table replaced with the files' contents, in one
transaction (the warehouse module owns the tables). Amounts stay as stated: an undisclosed amount
is NULL, never zero.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from critmin import warehouse
from critmin.sources.registers.read import Registers, as_date

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from critmin.months import Month
    from critmin.settings import Settings
    from critmin.warehouse import RunRef

log = logging.getLogger(__name__)


def _rows(registers: Registers) -> dict[str, list[dict[str, Any]]]:
    """The register tables' rows (table -> column dicts), in the files' order."""
    rows: dict[str, list[dict[str, Any]]] = {table: [] for table in warehouse.REGISTER_TABLES}
    for a in registers.agreements:
        agreement_id = a["id"]
        rows["raw.register_agreements"].append(
            {
                "agreement_id": agreement_id,
                "title": a.get("title"),
                "announced_on": as_date(a.get("announced_on")),
                "is_binding": bool(a.get("is_binding")),
                "is_conditional": bool(a.get("is_conditional", False)),
                "status": a.get("status"),
                "summary": a.get("summary"),
                "source_file": a["_file"],
                "file_sha256": a["_sha256"],
            }
        )
        for order, party in enumerate(a.get("parties") or [], start=1):
            rows["raw.register_agreement_parties"].append(
                {
                    "agreement_id": agreement_id,
                    "party_order": order,
                    "party_name": party.get("name"),
                    "party_kind": party.get("kind"),
                    "country_iso2": party.get("country"),
                }
            )
        for order, m in enumerate(a.get("amounts") or [], start=1):
            rows["raw.register_agreement_amounts"].append(
                {
                    "agreement_id": agreement_id,
                    "amount_order": order,
                    "amount": m.get("amount"),
                    "currency": m.get("currency"),
                    "qualifier": m.get("qualifier"),
                    "purpose": m.get("purpose"),
                    "is_headline": bool(m.get("headline")),
                    "as_stated": m.get("as_stated"),
                }
            )
        for key, table, column in (
            ("instruments", "raw.register_agreement_instruments", "instrument"),
            ("terms", "raw.register_agreement_terms", "term"),
            ("minerals", "raw.register_agreement_minerals", "mineral"),
            ("sources", "raw.register_agreement_sources", "source_url"),
        ):
            for value in a.get(key) or []:
                rows[table].append({"agreement_id": agreement_id, column: str(value)})
    for e in registers.policy_events:
        rows["raw.register_policy_events"].append(
            {
                "event_id": e["id"],
                "event_on": as_date(e.get("event_on")),
                "authority": e.get("authority"),
                "reference": e.get("reference"),
                "event_type": e.get("event_type"),
                "summary": e.get("summary"),
                "in_force_until": as_date(e.get("in_force_until")),
                "source_urls": " ".join(e.get("sources") or []),
                "source_file": e["_file"],
            }
        )
    for r in registers.fx_rates:
        rows["raw.register_fx_rates"].append(
            {
                "currency": r.get("currency"),
                "usd_per_unit": r.get("usd_per_unit"),
                "valid_from": as_date(r.get("valid_from")),
                "source": r.get("source"),
            }
        )
    return rows


def load_registers(
    settings: Settings,
    registers: Registers,
    month: Month,
    quality_results: Iterable[Mapping[str, Any]] = (),
    run: RunRef | None = None,
) -> int:
    """Replace every register table with the files' contents, in one transaction; the gate's
    results are recorded under ``month`` (the run's). Returns the number of agreements."""
    warehouse.replace_registers(settings.paths.warehouse_db, _rows(registers), month, quality_results, run)
    log.info(
        "registers loaded: %d agreements, %d policy events, %d USD rates",
        len(registers.agreements),
        len(registers.policy_events),
        len(registers.fx_rates),
    )
    return len(registers.agreements)
