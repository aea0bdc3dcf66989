"""Bolt app factory: wires listeners to services; nothing happens at import."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack.ack import keep_ack
from bot.slack.context import Services
from bot.slack.errors import handle_error
from bot.slack.listeners import actions, admin, audit, commands, home, lifecycle, views

ACK_WAIT_SECONDS = 30  # how long a request thread waits for its listener's ack on a busy process
EXTENSIONS: list[Any] = []  # modules with register(app, services), added by optional features


def create_app(*, signing_secret: str, client: WebClient, services: Services, executor: Executor,
               verify_token: bool = True, guard: Callable[..., Any] | None = None) -> App:
    """Build the Bolt app; `executor` runs the work after each ack (shut it down to drain).

    `guard` (installation_guard) runs first on every request, after Bolt's own signature check."""
    app = App(
        signing_secret=signing_secret,
        # Socket Mode has no signing secret: events come over the app token's WebSocket, and the HTTP edge
        # (WebApp) refuses every request when no secret is set. Over HTTP the secret is required (Settings).
        request_verification_enabled=bool(signing_secret),
        client=client,
        token_verification_enabled=verify_token,
        process_before_response=False,
        listener_executor=executor,
        logger=logging.getLogger("bot.slack.bolt"),
    )
    if guard is not None:
        app.use(guard)
    app.use(keep_ack(executor))
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    lifecycle.register(app, services)
    audit.register(app, services)
    admin.register(app, services)
    home.register(app, services)
    for extension in EXTENSIONS:
        extension.register(app, services)
    actions.register_fallback(app, services)
    views.register_fallback(app, services)
    wait_for_late_acks(app)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        handle_error(error, body, client)

    return app


def wait_for_late_acks(app: App) -> None:
    """Bolt 1.x gives a listener running in the executor `ack_timeout` (3 s) to ack; after that it logs
    "didn't call ack()" and offers the request to the next matching listener, the unknown-button fallback,
    while the first listener still runs. On a busy process a listener can start late, so the request thread
    waits longer: the late ack is still the answer, and nothing is handled twice. (Slack itself stops
    waiting after 3 s and shows the person an error; the work is done all the same.)"""
    for listener in app._listeners:  # noqa: SLF001 - Bolt has no public setting for this on actions
        listener.ack_timeout = ACK_WAIT_SECONDS
