"""Typed text over HTTP: Slack's escaping undone once on the way in, escaped and quoted on the way out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.audit import AuditEntry
from sandbox.slack_payloads import as_slack_sends
from storage.repositories import AuditRepository
from tests.e2e.helpers import wait_for
from tests.e2e.lifecycle_helpers import ask, card_of, grant_session
from tests.fixtures_bot import ADMIN, GROUP, REQUESTER, Bot

PEOPLE = {"alice": REQUESTER, "dana": ADMIN}


def reply(bot: Bot, user: str, text: str) -> dict[str, Any]:
    """The private answer to `/pam <text>` (text exactly as Slack sends it): its `text` and blocks."""
    response = bot.driver.command(user, text)
    assert response.status == 200, response.body
    wait_for(lambda: bool(bot.slack.responses_to(str(response.response_url))), f"the answer to /pam {text}")
    (call,) = bot.slack.responses_to(str(response.response_url))
    assert call.ok, call.describe()
    return call.args


def shown(message: dict[str, Any]) -> str:
    return message["text"] + json.dumps(message.get("blocks") or [], ensure_ascii=False)


@pytest.mark.parametrize("escape", [True, False])
def test_unknown_account_echoes_typed_markup_escaped_and_quoted(bot: Bot, escape: bool) -> None:
    bot.add_account()
    typed = "access <https://evil.example/login|prod-aws>/readonly`<!channel>` 30m now"
    message = reply(bot, REQUESTER, as_slack_sends(typed, escape=escape))
    text = shown(message)
    assert "There is no account `&lt;https://evil.example/login|prod-aws&gt;/readonlyˋ&lt;!channel&gt;ˋ`" in text
    assert "<https://evil" not in text and "<!channel>" not in text and "&amp;lt;" not in text
    assert not bot.requests()
    assert bot.audit("request.create")[-1].outcome == "refused"


def test_mentions_as_slack_sends_them_with_escaping(bot: Bot) -> None:
    bot.add_account()
    grant_session(bot)
    for text in (as_slack_sends("sessions @alice", people=PEOPLE), "sessions <@UREQUESTER>"):
        listed = shown(reply(bot, ADMIN, text))
        assert f"Active sessions of <@{REQUESTER}>" in listed and "prod-aws/readonly" in listed
    page = shown(reply(bot, ADMIN, as_slack_sends("audit user=@alice action=request.create", people=PEOPLE)))
    assert "request.create" in page and "No events match" not in page


@pytest.mark.parametrize("text", ["sessions @alice", "audit user=@alice"])
def test_a_bare_at_name_is_told_to_mention_not_silently_empty(bot: Bot, text: str) -> None:
    bot.add_account()
    grant_session(bot)
    message = shown(reply(bot, ADMIN, as_slack_sends(text, escape=False)))
    assert "`@alice` as plain text, not as a mention" in message and "pick the person" in message
    assert "No events match" not in message


@pytest.mark.parametrize("text", [f"sessions <!subteam^{GROUP}|@approvers>", "sessions <!subteam^SABC>",
                                  "sessions <#CAPPROVALS|approvals>", "audit user=<#CAPPROVALS>"])
def test_a_group_or_channel_where_a_person_belongs_is_refused_clearly(bot: Bot, text: str) -> None:
    assert "Mention one person, not a group or a channel." in shown(reply(bot, ADMIN, text))


def test_target_filter_takes_a_channel_or_group_mention_as_its_id(bot: Bot) -> None:
    bot.add_account()
    with bot.db.begin() as session:  # an event about a channel, as admin changes record them
        AuditRepository(session).append(AuditEntry(ADMIN, "settings.channel", "CAPPROVALS"), bot.clock())
    page = shown(reply(bot, ADMIN, "audit target=<#CAPPROVALS|approvals>"))
    assert "settings.channel" in page and "(target=`CAPPROVALS`)" in page


def test_escaped_command_text_is_unescaped_once_and_shown_escaped_once(bot: Bot) -> None:
    bot.add_account()
    request = ask(bot, as_slack_sends("access prod-aws readonly 30m R&D fix, a<b & &lt;not an entity&gt;"))
    assert request.reason == "R&D fix, a<b & &lt;not an entity&gt;"
    card = json.dumps(card_of(bot, request.ref), ensure_ascii=False)
    assert "R&amp;D fix, a&lt;b &amp; &amp;lt;not an entity&amp;gt;" in card
    assert "&amp;amp;D" not in card


def test_audit_filters_are_echoed_quoted_and_escaped_once(bot: Bot) -> None:
    page = shown(reply(bot, ADMIN, as_slack_sends("audit target=<https://evil.example|x>&co")))
    assert "(target=`&lt;https://evil.example|x&gt;&amp;co`)" in page
    assert "<https://evil" not in page and "&amp;lt;" not in page
