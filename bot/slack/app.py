"""Bolt app factories: the web path's (record and ack) and the worker's (the listeners); nothing at import."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient

from bot.services.inbox import Inbox, Job
from bot.slack import front
from bot.slack.context import Services
from bot.slack.errors import handle_error
from bot.slack import listeners
from bot.slack.payload import ACKED_AT, REPLAYED

# Named: without a name Bolt takes its caller's file name from inspect.stack(), which reads the source of every
# frame on the stack (slow under a deep caller such as a test runner). Bolt names its listener logger after it.
APP_NAME = "pam-bot"


def create_app(*, signing_secret: str, client: WebClient, services: Services, verify_token: bool = True,
               guard: Callable[..., Any] | None = None) -> App:
    """The worker's app: runs the listeners on requests the web path verified, recorded and acknowledged.

    Its ack goes nowhere (Slack has had its answer); listeners run in the calling worker thread. `guard`
    (installation_guard) checks the sender of each request first, the members the edge left to it included."""
    app = App(name=APP_NAME, signing_secret=signing_secret, client=client, token_verification_enabled=verify_token,
              request_verification_enabled=False,  # verified at the edge before the row was written
              process_before_response=True, logger=logging.getLogger("bot.slack.bolt"))
    # `client` replaces the one Bolt builds for each request, which would not keep its connections open.
    app.use(provide(services=services, client=client, then=guard))
    listeners.register(app)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        handle_error(error, body, client)

    return app


def create_front_app(*, signing_secret: str, client: WebClient, services: Services, inbox: Inbox,
                     verify_token: bool = True, guard: Callable[..., Any] | None = None) -> App:
    """The web path's app: `guard` (installation_guard) before any listener, then record-and-ack
    (bot/slack/front.py)."""
    app = App(name=APP_NAME, signing_secret=signing_secret, client=client, token_verification_enabled=verify_token,
              process_before_response=True,  # the listeners here are the ack; nothing runs after it
              logger=logging.getLogger("bot.slack.bolt"))
    # One middleware: each costs Bolt an argument build. `client` replaces the one Bolt builds for each request,
    # which would not keep its connections open.
    app.use(provide(services=services, inbox=inbox, client=client, then=guard))
    front.register(app)

    @app.error
    def on_error(error: Exception, body: dict[str, Any], response: BoltResponse | None) -> None:
        handle_error(error, body, client)  # said to the person; Slack gets a plain 200, never a 500
        if response is not None:
            response.status, response.body = 200, ""

    return app


def provide(*, then: Callable[..., Any] | None = None, **values: Any) -> Callable[..., Any]:
    """Middleware putting `values` in each request's context, where Bolt hands them to listeners by name; then
    `then(context, body, next)` (the installation guard) decides whether the request goes on."""
    def middleware(context: BoltContext, body: dict[str, Any], next_: Callable[[], Any]) -> Any:
        context.update(values)
        return next_() if then is None else then(context, body, next_)
    return middleware


def run_job(app: App, job: Job) -> None:
    """Hand one recorded request to the worker's app, as Slack sent it (a replay says so in its body)."""
    replayed = {REPLAYED: job.attempts - 1, ACKED_AT: job.created_at.isoformat()} if job.attempts > 1 else {}
    body = {**job.body, **replayed}
    app.dispatch(BoltRequest(body=json.dumps(body), headers={"content-type": ["application/json"]}))
