"""What the federation stub records of each request, and how it reads one (query string or form body)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

MAX_FORM_BYTES = 64 * 1024


@dataclass(frozen=True)
class FederationCall:
    """One request to the endpoint; never holds credentials or sign-in tokens."""

    action: str
    status: int
    method: str = "GET"
    secrets_in_query: bool = False  # the Session (credentials) came in the URL, where proxies and logs see it
    role_arn: str | None = None  # the role whose session the credentials (or the token) belong to
    session_arn: str | None = None
    access_key_id: str | None = None
    session_duration_sent: bool = False
    issuer: str | None = None
    destination: str | None = None
    duration: float = 0.0  # seconds the stub spent answering


def fields_of(encoded: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(encoded, keep_blank_values=True).items()}


def form_body(environ: dict[str, Any]) -> str:
    length = str(environ.get("CONTENT_LENGTH") or "0")
    size = min(int(length), MAX_FORM_BYTES) if length.isdigit() else 0
    return bytes(environ["wsgi.input"].read(size)).decode("utf-8", errors="replace")
