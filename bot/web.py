"""WSGI entry: POST /slack/events to Bolt, GET /healthz for load balancers, GET /metrics for Prometheus."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.metrics import CONTENT_TYPE, Metrics

StartResponse = Callable[..., Any]


class WebApp:
    """A tiny router in front of Bolt's WSGI adapter; unknown paths get 404, never a stack trace."""

    def __init__(self, app: App, *, healthy: Callable[[], bool], metrics: Metrics | None = None) -> None:
        self.slack = SlackRequestHandler(app)
        self.healthy = healthy
        self.metrics = metrics

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and method == "POST":
            return self.slack(environ, start_response)
        if path == "/healthz" and method in ("GET", "HEAD"):
            ok = self.healthy()
            return _json(start_response, 200 if ok else 503, {"status": "ok" if ok else "unavailable",
                                                              "database": "up" if ok else "down"})
        if path == "/metrics" and method == "GET" and self.metrics is not None:
            payload = self.metrics.render().encode()
            start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(payload)))])
            return [payload]
        return _json(start_response, 404, {"error": "not found"})


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode()
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(payload)))])
    return [payload]
