"""One request to the Slack stand-in, start to finish: decode, apply faults, authenticate, run, record."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from sandbox import slack_chat, slack_directory, slack_views
from sandbox.slack_calls import CallLog, RecordedCall
from sandbox.slack_faults import FaultPlan
from sandbox.slack_workspace import SlackError, Workspace

API_PREFIX = "/api/"
RESPONSE_PREFIX = "/response/"
RESPONSE_URL = "response_url"
RESPONSE_URL_USES = 5
METHODS = {**slack_directory.METHODS, **slack_chat.METHODS, **slack_views.METHODS}
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Dispatcher:
    """Holds the stand-in's moving parts; `handle` is called from the HTTP server's threads."""

    bot_token: str
    workspace: Workspace
    log: CallLog = field(default_factory=CallLog)
    failures: FaultPlan = field(default_factory=FaultPlan)
    delays: FaultPlan = field(default_factory=FaultPlan)
    stopping: threading.Event = field(default_factory=threading.Event)
    response_url_uses: dict[str, int] = field(default_factory=dict)

    def handle(self, path: str, query: str, headers: dict[str, str], body: bytes) -> HttpAnswer:
        arrived, started = self.workspace.clock(), time.perf_counter()
        if path.startswith(RESPONSE_PREFIX):
            method = RESPONSE_URL
        elif path.startswith(API_PREFIX):
            method = path[len(API_PREFIX):]
        else:
            return HttpAnswer(404, b'{"ok": false, "error": "not_found"}')
        args: dict[str, Any] = {}
        token: str | None = None
        extra_headers: dict[str, str] = {}
        answer: dict[str, Any] | None = None
        status = 200
        try:
            args, token = decode_args(query, headers, body)
        except SlackError as exc:
            answer = exc.body()
        delay = self.delays.take(method)
        if delay is not None:
            self.stopping.wait(delay.delay)
        failure = self.failures.take(method)
        if failure is not None:
            status, extra_headers, answer = failure.answer()
        elif answer is None:
            status, answer = self._run(method, path, args, token)
        payload = json.dumps(answer).encode()
        self.log.append(RecordedCall(method, args, arrived, status, json.loads(payload), path,
                                     time.perf_counter() - started))
        return HttpAnswer(status, payload, extra_headers)

    def _run(self, method: str, path: str, args: dict[str, Any], token: str | None) -> tuple[int, dict[str, Any]]:
        with self.workspace.lock:
            try:
                if method == RESPONSE_URL:
                    return self._respond(path[len(RESPONSE_PREFIX):], args)
                if method not in METHODS:
                    raise SlackError("unknown_method")
                if not token:
                    raise SlackError("not_authed")
                if token != self.bot_token:
                    raise SlackError("invalid_auth")
                return 200, METHODS[method](self.workspace, args)
            except SlackError as exc:
                return 200, exc.body()

    def _respond(self, key: str, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A POST to a response_url: at most 5 uses; the same message rules as chat.postMessage."""
        uses = self.response_url_uses.get(key, 0) + 1
        self.response_url_uses[key] = uses
        if uses > RESPONSE_URL_USES:
            return 404, {"ok": False, "error": "used_url"}
        if not args.get("delete_original"):
            try:
                slack_chat.check_message_content(args)
            except SlackError as exc:
                return 400, exc.body()
        return 200, {"ok": True}


def decode_args(query: str, headers: dict[str, str], body: bytes) -> tuple[dict[str, Any], str | None]:
    """Arguments from the query string and a form or JSON body, plus the token (header first, then `token`)."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if body and content_type == "application/json":
        try:
            parsed = json.loads(body)
        except ValueError as exc:
            raise SlackError("invalid_json") from exc
        if not isinstance(parsed, dict):
            raise SlackError("invalid_json")
        args.update(parsed)
    elif body and content_type in ("", "application/x-www-form-urlencoded"):
        args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif body:
        raise SlackError("invalid_form_data")
    token = args.pop("token", None)
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[len("bearer "):].strip()
    for key in _JSON_FIELDS:
        if isinstance(args.get(key), str) and args[key][:1] in ("[", "{"):
            try:
                args[key] = json.loads(args[key])
            except ValueError as exc:
                raise SlackError("invalid_blocks_format" if key == "blocks" else "invalid_arguments") from exc
    return args, token
