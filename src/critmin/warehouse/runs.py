"""Which DAG run does something to the warehouse: the name the lease, the record of loads and every
message use for it."""

from __future__ import annotations

from dataclasses import dataclass

#: What a registers run loads (a customs run loads a data month, ``YYYY-MM``).
REGISTERS = "registers"


@dataclass(frozen=True)
class RunRef:
    """Which DAG run, and what it loads: a data month ``YYYY-MM`` or ``registers``."""

    dag_id: str
    run_id: str
    what: str

    def __str__(self) -> str:
        return f"{self.dag_id} {self.what} (run {self.run_id})"
