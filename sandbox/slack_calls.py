"""Thread-safe log of the Web API calls the Slack stand-in answered."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Predicate = Callable[["RecordedCall"], bool]


@dataclass(frozen=True)
class RecordedCall:
    """One request as the stand-in saw it: method, decoded arguments, arrival time and the answer."""

    method: str
    args: dict[str, Any]
    at: float
    http_status: int
    response: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    duration: float = 0.0  # seconds the stand-in spent answering (planned delays included)

    @property
    def ok(self) -> bool:
        return self.http_status == 200 and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return None if self.ok else self.response.get("error")

    def describe(self) -> str:
        """Short one-line summary used in timeout messages."""
        outcome = "ok" if self.ok else f"{self.http_status} {self.error}"
        keys = ("channel", "user", "users", "user_id", "ts", "trigger_id", "view_id", "email", "usergroup", "text")
        shown = {k: _shorten(self.args[k]) for k in keys if k in self.args}
        return f"{self.method}({', '.join(f'{k}={v!r}' for k, v in shown.items())}) -> {outcome}"


def _shorten(value: Any, limit: int = 60) -> Any:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CallLog:
    """Append-only, thread-safe list of calls with a blocking `wait_for`."""

    def __init__(self) -> None:
        self._calls: list[RecordedCall] = []
        self._changed = threading.Condition()

    def append(self, call: RecordedCall) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def clear(self) -> None:
        with self._changed:
            self._calls.clear()

    def snapshot(self) -> list[RecordedCall]:
        with self._changed:
            return list(self._calls)

    def wait_for(self, method: str, predicate: Predicate | None = None, timeout: float = 5.0) -> RecordedCall:
        """Return the first call to `method` matching `predicate`, waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = _first(self._calls, method, predicate)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(_timeout_message(method, predicate, timeout, self._calls))
                self._changed.wait(remaining)


def _first(calls: list[RecordedCall], method: str, predicate: Predicate | None) -> RecordedCall | None:
    for call in calls:
        if call.method == method and _matches(call, predicate):
            return call
    return None


def _matches(call: RecordedCall, predicate: Predicate | None) -> bool:
    # A predicate written for the call it waits for (`c.args["text"]`) may not fit earlier calls: no match.
    try:
        return predicate is None or bool(predicate(call))
    except (KeyError, IndexError, TypeError, AttributeError):
        return False


def _timeout_message(method: str, predicate: Predicate | None, timeout: float, calls: list[RecordedCall]) -> str:
    wanted = f"{method} call" + (" matching the predicate" if predicate is not None else "")
    seen = "\n".join(f"  {i}. {call.describe()}" for i, call in enumerate(calls, 1)) or "  (no calls at all)"
    return f"no {wanted} within {timeout:g} s; the Slack stand-in saw:\n{seen}"
