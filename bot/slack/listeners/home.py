"""App Home: publish the person's Home tab whenever they open it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.slack.context import Services


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)


def home_opened(event: dict[str, Any], services: Services) -> None:
    if event.get("tab") == "home" and event.get("user"):
        services.home.publish(str(event["user"]))
