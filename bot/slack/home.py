"""The HomePublisher port on Slack: render HomeData and publish it with views.publish."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.services.home import HomeData
from bot.slack.home_blocks import home_view
from bot.slack.notifier import slack_call


class SlackHomePublisher:
    """Publishes one person's Home tab; Slack's refusals come out as NotifyFailed."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def publish(self, data: HomeData) -> None:
        view = home_view(data)
        slack_call(lambda: self.client.views_publish(user_id=data.user_id, view=view))
