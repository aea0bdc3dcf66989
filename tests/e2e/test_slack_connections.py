"""Every Slack call pam-bot makes travels on kept-open connections: the web path's modals (through the client
Bolt hands a listener), the worker's cards, DMs and answers through a response_url, the outbox's deliveries.
Against slack.com each new connection is a TCP connection and a TLS handshake, on the path from a click to its
answer."""

from __future__ import annotations

import json

from tests.e2e.test_access_flow import ask, click
from tests.fixtures_bot import ADMIN, APPROVER, REQUESTER, Bot


def test_the_calls_of_modals_asks_and_grants_share_a_few_connections(bot: Bot) -> None:
    bot.add_account()
    opened_before = len(bot.slack.calls_to("views.open"))
    connections, calls = bot.slack.connections, len(bot.slack.calls)
    for _ in range(3):
        assert bot.driver.command(ADMIN, "admin").status == 200  # a modal, opened in the ack
    assert len(bot.slack.calls_to("views.open")) == opened_before + 3
    for _ in range(3):
        click(bot, APPROVER, "pam_approve", ask(bot))
        bot.settle()
    assert sum("Open AWS Console" in json.dumps(call.args) for call in bot.slack.dms_to(REQUESTER)) == 3
    made = len(bot.slack.calls) - calls
    assert made >= 15  # modals, cards, DMs, card updates
    # Calls from different threads at the same moment each take a connection of their own; one after another
    # they take the one returned last.
    assert bot.slack.connections - connections <= 2, (bot.slack.connections - connections, made)
