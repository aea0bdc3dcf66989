"""`/pam audit` for admins: recent events with their details, filters, and a More button that pages on."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tests.e2e.helpers import blocks_of, wait_for
from tests.e2e.lifecycle_helpers import command, grant_session
from tests.fixtures_bot import ADMIN, OUTSIDER, REQUESTER, Bot


def answer_of(bot: Bot, before: int) -> dict[str, Any]:
    """The private answer posted after the first `before` ones (a More click answers through response_url)."""
    wait_for(lambda: len(bot.slack.calls_to("response_url")) > before, "an answer")
    return bot.slack.calls_to("response_url")[before].args


def targets(message: dict[str, Any]) -> list[str]:
    texts = [b["text"]["text"] for b in blocks_of(message) if b["type"] == "section"][1:]
    return [text.split("`")[3] for text in texts]  # `actor` first, then the target in back-quotes


def test_admins_see_recent_events_with_their_details(bot: Bot) -> None:
    bot.add_account()
    session = grant_session(bot)
    text = command(bot, ADMIN, "audit action=session.granted")
    assert "session.granted" in text and session.role_session_name in text
    link = f"AttributeValue={quote(session.role_session_name, safe='')}"
    assert "CloudTrail events>" in text and link in text and "cloudtrail/home" in text
    assert "request.create" not in text  # filtered
    assert "<!date^" in text

    everything = command(bot, ADMIN, f"audit user=<@{REQUESTER}|alice>")
    assert "request.create" in everything and "session.granted" not in everything  # pam-bot granted it


def test_refusals_can_be_filtered_and_people_who_are_not_admins_are_refused(bot: Bot) -> None:
    assert "Only pam-bot admins can read the audit trail" in command(bot, OUTSIDER, "audit")
    text = command(bot, ADMIN, "audit outcome=refused")
    assert "audit.view" in text and f"<@{OUTSIDER}>" in text and "not_allowed" in text
    assert "I can't filter by" in command(bot, ADMIN, "audit colour=blue")


def test_more_pages_through_older_events_without_repeating_any(bot: Bot) -> None:
    record = bot.container.services.access.record
    for index in range(40):
        record("pam-bot", "test.event", f"T{index:02d}")
    before = len(bot.slack.calls_to("response_url"))
    first = json.loads(command(bot, ADMIN, "audit action=test.event"))
    assert targets(first) == [f"T{index:02d}" for index in range(39, 24, -1)]
    (more,) = [e for b in blocks_of(first) if b["type"] == "actions" for e in b["elements"]]
    assert more["action_id"] == "pam_audit_more" and json.loads(more["value"])["f"] == {"action": "test.event"}

    message = {"type": "message", "ts": "1700000000.000100", "text": first["text"], "blocks": first["blocks"]}
    bot.driver.click(ADMIN, "pam_audit_more", more["value"], channel_id="C0GENERAL",
                     message_ts=message["ts"], message=message)
    second = answer_of(bot, before + 1)
    assert targets(second) == [f"T{index:02d}" for index in range(24, 9, -1)]
    assert "page 2" in json.dumps(second)

    third = json.loads(command(bot, ADMIN, "audit action=test.event page=3"))
    assert targets(third) == [f"T{index:02d}" for index in range(9, -1, -1)]
    assert not [b for b in blocks_of(third) if b["type"] == "actions"]  # nothing older: no More button

    forged = json.dumps({"f": {"action": "test.event"}, "b": 10**9, "p": 2})
    bot.driver.click(OUTSIDER, "pam_audit_more", forged, channel_id="C0GENERAL", message_ts=message["ts"],
                     message=message)
    wait_for(lambda: "Only pam-bot admins" in json.dumps([c.args for c in bot.slack.calls_to("response_url")]),
             "the refusal of a forged More click")
