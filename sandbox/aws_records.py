"""What the AWS sandbox saw (every STS/IAM call) and the faults it was told to inject."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime


class Refusal(Exception):
    """An AWS-style error the sandbox answers with instead of passing the call to moto."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ApiCall:
    """One STS or IAM request: who signed it, what it asked, how it ended (`ok` or the error code)."""

    service: str
    action: str
    caller_arn: str | None  # None when the access key is unknown to the sandbox
    caller_key_id: str
    params: Mapping[str, str]
    outcome: str
    status: int
    issued_key_id: str | None = None  # AssumeRole: the access key id of the credentials handed out
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    duration: float = 0.0  # seconds the sandbox spent answering (moto included)
    request_id: str | None = None  # the RequestId the answer carried, as CloudTrail would record it

    @property
    def role_arn(self) -> str | None:
        return self.params.get("RoleArn")

    @property
    def external_id(self) -> str | None:
        return self.params.get("ExternalId")

    @property
    def session_name(self) -> str | None:
        return self.params.get("RoleSessionName")

    @property
    def duration_seconds(self) -> int | None:
        raw = self.params.get("DurationSeconds")
        return int(raw) if raw is not None and raw.isdigit() else None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


class CallLog:
    """Thread-safe, append-only list of calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[ApiCall] = []

    def add(self, call: ApiCall) -> None:
        with self._lock:
            self._calls.append(call)

    def snapshot(self, action: str | None = None) -> list[ApiCall]:
        with self._lock:
            return [call for call in self._calls if action is None or call.action == action]


@dataclass
class Fault:
    """Answer the next `times` calls of `action` with this error."""

    action: str
    code: str
    message: str
    status: int
    times: int
    role_arn: str | None = None  # only calls naming this RoleArn (None: any)


class Faults:
    """Injected errors, consumed in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._pending.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def take(self, action: str, role_arn: str | None = None) -> Refusal | None:
        """The refusal due for this call, if any (and one use less of it)."""
        with self._lock:
            for fault in self._pending:
                if fault.action == action and fault.role_arn in (None, role_arn):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._pending.remove(fault)
                    return Refusal(fault.status, fault.code, fault.message or f"Injected {fault.code}")
        return None
