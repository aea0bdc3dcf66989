"""WSGI entry: POST /slack/events to Bolt, GET /healthz for load balancers, GET /metrics for Prometheus."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from bot.runtime.edge import MAX_BODY_BYTES, Refusal, SignatureCheck, read_body
from bot.runtime.metrics import CONTENT_TYPE, Metrics

StartResponse = Callable[..., Any]
log = logging.getLogger(__name__)
# What Bolt's body parsing raises on a body it cannot read (bad JSON, a JSON array, a form without a payload).
_UNPARSABLE = (ValueError, TypeError, AttributeError, KeyError, IndexError)


class WebApp:
    """A tiny router in front of Bolt; unknown paths get 404, never a stack trace.

    /slack/events reads at most MAX_BODY_BYTES and checks Slack's signature before anything is parsed. A request
    the web only records is recorded and answered by `record`; Bolt dispatches the rest and verifies the
    signature again on its own.
    """

    def __init__(self, app: App, *, healthy: Callable[[], bool], metrics: Metrics | None = None,
                 signing_secret: str, max_body_bytes: int = MAX_BODY_BYTES,
                 record: Callable[[BoltRequest], BoltResponse | None] = lambda request: None) -> None:
        self.app = app
        self.record = record  # answers the requests it only records (bot/slack/recording.py RecordDirectly), else None
        self.healthy = healthy
        self.metrics = metrics
        self.signature = SignatureCheck(signing_secret)
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and method == "POST":
            return self.slack_events(environ, start_response)
        head = method == "HEAD"  # load balancers probe with HEAD: same status and headers, no body
        if path == "/healthz" and method in ("GET", "HEAD"):
            ok = self.healthy()
            return _json(start_response, 200 if ok else 503, {"status": "ok" if ok else "unavailable",
                                                              "database": "up" if ok else "down"}, head=head)
        if path == "/" and method in ("GET", "HEAD"):
            return _json(start_response, 200, {"service": "pam-bot", "health": "/healthz"}, head=head)
        if path == "/metrics" and method == "GET" and self.metrics is not None:
            payload = self.metrics.render()
            start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(payload)))])
            return [payload]
        return _json(start_response, 404, {"error": "not found"})

    def slack_events(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = read_body(environ, self.max_body_bytes)
        if isinstance(body, Refusal):
            return _plain(start_response, body)
        refused = self.signature.refusal(body, environ)
        if refused is not None:
            return _plain(start_response, refused)
        wsgi = WsgiHttpRequest(environ)
        try:
            request = BoltRequest(body=body.decode("utf-8"), query=wsgi.query_string, headers=wsgi.get_headers())
        except _UNPARSABLE as error:  # signed, yet not a body Slack sends
            log.warning("refused a signed request to /slack/events: its body cannot be read (%s)",
                        type(error).__name__)
            return _plain(start_response, Refusal(400, "Bad Request"))
        if not isinstance(request.body, dict):
            return _plain(start_response, Refusal(400, "Bad Request"))
        answer = self.record(request) or self.app.dispatch(request)
        response = WsgiHttpResponse(status=answer.status, headers=answer.headers, body=answer.body)
        start_response(response.status, response.get_headers())
        return response.get_body()


def _plain(start_response: StartResponse, refusal: Refusal) -> list[bytes]:
    payload = refusal.reason.encode()
    start_response(f"{refusal.status} {refusal.reason}", [("Content-Type", "text/plain; charset=utf-8"),
                                                          ("Content-Length", str(len(payload)))])
    return [payload]


def _json(start_response: StartResponse, status: int, body: dict[str, Any], *, head: bool = False) -> list[bytes]:
    payload = json.dumps(body).encode()
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(payload)))])
    return [] if head else [payload]
