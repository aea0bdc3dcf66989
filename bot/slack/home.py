"""The HomePublisher port over the outbox: render HomeData now, queue its views.publish as the tab's latest state."""

from __future__ import annotations

from bot.services.home import HomeData
from bot.services.outbox import Outbox
from bot.slack.home_blocks import home_view


class SlackHomePublisher:
    """Queues one person's Home tab; a newer one replaces a queued one (only the latest state goes out)."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def publish(self, data: HomeData) -> None:
        self.outbox.queue("publish", data.user_id, {"view": home_view(data)}, dedupe_key=f"home:{data.user_id}")
