"""Bolt app factory: wires listeners to services; nothing happens at import."""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack.ack import keep_ack
from bot.slack.context import Services
from bot.slack.errors import handle_error
from bot.slack.listeners import actions, admin, audit, commands, home, lifecycle, views

EXTENSIONS: list[Any] = []  # modules with register(app, services), added by optional features


def create_app(*, signing_secret: str, client: WebClient, services: Services, executor: Executor,
               verify_token: bool = True) -> App:
    """Build the Bolt app; `executor` runs the work after each ack (shut it down to drain)."""
    app = App(
        signing_secret=signing_secret,
        client=client,
        token=client.token,
        token_verification_enabled=verify_token,
        process_before_response=False,
        listener_executor=executor,
        logger=logging.getLogger("bot.slack.bolt"),
    )
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

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        handle_error(error, body, client)

    return app
