"""Doctor's findings: one check (subject, ok, detail, fix, time taken) and the report they make."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Check:
    """One doctor finding: a subject, whether it works, what happened and how to fix it."""

    subject: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False  # works, but deserves a look (doctor still exits 0)
    seconds: float = 0.0  # how long the check took


class Timed:
    """Collects checks, stamping each with the time it took and handing it on as soon as it is known."""

    def __init__(self, on_check: Callable[[Check], None] | None) -> None:
        self.items: list[Check] = []
        self.on_check = on_check
        self.started = time.perf_counter()

    def append(self, check: Check) -> None:
        now = time.perf_counter()
        check = replace(check, seconds=round(now - self.started, 3))
        self.items.append(check)
        if self.on_check is not None:
            self.on_check(check)
        self.started = time.perf_counter()


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def problems(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.ok)
