"""An egress proxy for tests of pam-bot's own HTTP calls: named by the environment, answering every call itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from sandbox.http import serve_wsgi


@contextmanager
def egress_proxy(monkeypatch: pytest.MonkeyPatch, answer: bytes) -> Iterator[list[str]]:
    """`http_proxy` names a proxy that answers every call with the JSON `answer` (and NO_PROXY names nothing);
    yields the URLs it was sent, in order (a proxy is sent the whole URL)."""
    relayed: list[str] = []

    def proxy(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        relayed.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "application/json")])
        return [answer]

    url, stop = serve_wsgi(proxy)
    try:
        monkeypatch.setenv("http_proxy", url)
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        yield relayed
    finally:
        stop()
