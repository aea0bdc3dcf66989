"""Thin Bolt listeners: ack, pull primitives from the payload, call one service, render.

Every listener is a top-level function; each module's `register(app)` lists what it answers, and
`register(app)` here registers the worker's listeners in their matching order (bot/slack/front.py: the web path's).
Listeners take `services` (and on the web path `inbox`) by name, like `ack` or `body`: bot/slack/app.py puts
them in Bolt's context."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import actions, admin, audit, commands, home, lifecycle, views


def register(app: App) -> None:
    commands.register(app)
    actions.register(app)
    views.register(app)
    lifecycle.register(app)
    audit.register(app)
    admin.register(app)
    home.register(app)
    actions.register_fallback(app)  # last: they take any id the others did not
    views.register_fallback(app)
