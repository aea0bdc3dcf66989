"""The baseline: a bare Bolt app on the same server whose listeners only ack (what Slack's 3 s budget costs at least),
and one that opens a prebuilt modal (bench/modal_open.py's baseline).

By default each listener runs on Bolt's listener executor (`process_before_response=False`, Bolt's default for HTTP
apps) while the request's thread polls every 10 ms for its ack, so no ack comes sooner than about 10 ms. This is the
baseline the durable-work issue measured and set its targets against. `sync=True` acks in the request's thread
instead (`process_before_response=True`, as pam-bot's own Bolt apps run): Bolt's fastest ack, with nothing recorded
and nothing to wait for (`bench/ack_latency.py --baseline sync`). `durable=True` (PostgreSQL's DATABASE_URL) acks in
the request's thread too, after one INSERT of the request's body in autocommit on a connection of the thread's own:
the least an app that loses nothing it acknowledged does before its ack, with none of pam-bot's code
(`--baseline insert`).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any

import psycopg
from psycopg.types.json import Json
from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient


def create_wsgi_app(sync: bool = False, durable: bool = False) -> Callable[..., Iterable[bytes]]:
    """Bolt checking the signature and the token as pam-bot's web path does; no work at all. `sync`: the listener
    runs, and acks, in the request's thread (no executor, no ack poll). `durable`: as `sync`, and each request's
    body is inserted, committed, before its ack."""
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"], timeout=10)
    app = App(signing_secret=os.environ["SLACK_SIGNING_SECRET"], client=client, process_before_response=sync or durable,
              listener_executor=ThreadPoolExecutor(max_workers=16))
    keep = Recorder(os.environ["DATABASE_URL"]) if durable else (lambda body: None)

    @app.command("/pam")
    def command(ack: Ack, body: dict[str, Any]) -> None:
        keep(body)
        ack()

    @app.action("pam_open_request")
    def open_modal(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """A modal of as many prebuilt options as the click's value says, like pam-bot's request modal."""
        ack()
        count = int(body["actions"][0].get("value") or 0)
        client.views_open(trigger_id=body["trigger_id"], view=modal(count))

    @app.action(re.compile(".*"))
    def action(ack: Ack, body: dict[str, Any]) -> None:
        keep(body)
        ack()

    @app.view(re.compile(".*"))
    def view(ack: Ack, body: dict[str, Any]) -> None:
        keep(body)
        ack()

    slack = SlackRequestHandler(app)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"status": "ok"}).encode()]
        return slack(environ, start_response)

    return wsgi


class Recorder:
    """One INSERT of a request's body in autocommit (durable when it returns), on a psycopg connection of the
    calling thread's own, into a table of the bench's schema created on first use."""

    TABLE = "CREATE TABLE IF NOT EXISTS bare_acks (id bigserial PRIMARY KEY, body jsonb NOT NULL, at timestamptz " \
            "NOT NULL DEFAULT now())"

    def __init__(self, url: str) -> None:
        if not url.startswith("postgresql"):
            raise SystemExit("the durable baseline records into PostgreSQL (DATABASE_URL postgresql://…)")
        self.conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self._local = threading.local()
        # Another process of the server may create it meanwhile.
        with psycopg.connect(self.conninfo, autocommit=True) as connection, suppress(psycopg.errors.UniqueViolation):
            connection.execute(self.TABLE)

    def __call__(self, body: dict[str, Any]) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = psycopg.connect(self.conninfo, autocommit=True)
        connection.execute("INSERT INTO bare_acks (body) VALUES (%s)", [Json(body)])


def modal(count: int) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": f"bench / team-{i:04d} (up to 1h)"},
                "value": f"bench/team-{i:04d}"} for i in range(count)]
    return {"type": "modal", "callback_id": "bare_modal", "title": {"type": "plain_text", "text": "Request access"},
            "submit": {"type": "plain_text", "text": "Request"}, "blocks": [
                {"type": "input", "block_id": "account", "label": {"type": "plain_text", "text": "Account"},
                 "element": {"type": "static_select", "action_id": "value", "options": options}},
                {"type": "input", "block_id": "reason", "optional": True,
                 "label": {"type": "plain_text", "text": "Reason"},
                 "element": {"type": "plain_text_input", "action_id": "value", "multiline": True}}]}
