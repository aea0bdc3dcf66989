"""The baseline: a bare Bolt app on the same server whose listeners only ack (what Slack's 3 s budget costs at least),
and one that opens a prebuilt modal (bench/modal_open.py's baseline).

By default each listener runs on Bolt's listener executor (`process_before_response=False`, Bolt's default for HTTP
apps) while the request's thread polls every 10 ms for its ack, so no ack comes sooner than about 10 ms. This is the
baseline the durable-work issue measured and set its targets against. `sync=True` acks in the request's thread
instead (`process_before_response=True`, as pam-bot's own Bolt apps run): Bolt's fastest ack, with nothing recorded
and nothing to wait for (`bench/ack_latency.py --baseline sync`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient


def create_wsgi_app(sync: bool = False) -> Callable[..., Iterable[bytes]]:
    """Bolt checking the signature and the token as pam-bot's web path does; no work at all. `sync`: the listener
    runs, and acks, in the request's thread (no executor, no ack poll)."""
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"], timeout=10)
    app = App(signing_secret=os.environ["SLACK_SIGNING_SECRET"], client=client, process_before_response=sync,
              listener_executor=ThreadPoolExecutor(max_workers=16))

    @app.command("/pam")
    def command(ack: Ack) -> None:
        ack()

    @app.action("pam_open_request")
    def open_modal(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """A modal of as many prebuilt options as the click's value says, like pam-bot's request modal."""
        ack()
        count = int(body["actions"][0].get("value") or 0)
        client.views_open(trigger_id=body["trigger_id"], view=modal(count))

    @app.action(re.compile(".*"))
    def action(ack: Ack) -> None:
        ack()

    @app.view(re.compile(".*"))
    def view(ack: Ack) -> None:
        ack()

    slack = SlackRequestHandler(app)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"status": "ok"}).encode()]
        return slack(environ, start_response)

    return wsgi


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
