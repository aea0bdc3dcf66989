"""Over HTTP: requests from another team or organisation, and Slack Connect strangers, are refused and audited."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlencode

import pytest

from bot.domain.errors import ConfigError
from sandbox.slack_driver import SlackDriver
from tests.e2e.helpers import wait_ephemeral
from tests.e2e.test_access_flow import ask
from tests.fixtures_bot import APPROVER, CHANNEL, REQUESTER, Bot
from tests.fixtures_slack import SLACK_SIGNING_SECRET

ASK = "access prod-aws readonly 30m checking INC-42"


def other_team(bot: Bot, team_id: str = "T0OTHER") -> SlackDriver:
    """Slack itself signing requests of a workspace this installation does not belong to."""
    return SlackDriver(bot.driver.bot_url, SLACK_SIGNING_SECRET, api=bot.slack, team_id=team_id)


def refusals(bot: Bot) -> list[tuple[str, str, str]]:
    return [(e.actor, e.outcome, e.details.get("code", "")) for e in bot.audit("slack.request")]


def nothing_happened(bot: Bot) -> bool:
    return bot.requests() == [] and not [c for c in bot.slack.calls_to("chat.postMessage")
                                         if c.args.get("channel") == CHANNEL]


def test_a_command_from_another_team_is_refused_with_an_ephemeral_answer(bot: Bot) -> None:
    bot.add_account()
    answer = other_team(bot).command(REQUESTER, ASK)
    assert answer.status == 200 and answer.json is not None
    assert answer.json["response_type"] == "ephemeral" and "workspace it is installed in" in answer.json["text"]
    assert refusals(bot) == [(REQUESTER, "refused", "foreign_team")]
    assert nothing_happened(bot)


def test_a_command_from_another_enterprise_is_refused(bot: Bot) -> None:
    bot.add_account()
    fields = {"team_id": bot.slack.team_id, "enterprise_id": "E0ELSEWHERE", "user_id": REQUESTER, "command": "/pam",
              "text": ASK, "channel_id": "C0GENERAL", "response_url": bot.slack.response_url_for("grid")}
    answer = bot.driver.post_raw(urlencode(fields).encode(), "application/x-www-form-urlencoded")
    assert answer.status == 200 and answer.json is not None and "organisation" in answer.json["text"]
    assert refusals(bot) == [(REQUESTER, "refused", "foreign_enterprise")]
    assert nothing_happened(bot)


def test_an_approval_click_from_another_team_changes_nothing(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    card = bot.card()
    answer = other_team(bot).click(APPROVER, "pam_approve", ref, channel_id=CHANNEL, message_ts=card["ts"])
    assert answer.status == 200
    assert "workspace it is installed in" in wait_ephemeral(bot.slack, "installed in")
    assert [r.status for r in bot.requests()] == ["pending"]
    assert refusals(bot) == [(APPROVER, "refused", "foreign_team")]


def test_a_slack_connect_stranger_is_refused_and_audited(bot: Bot) -> None:
    bot.add_account()
    bot.slack.add_user("USTRANGER1", name="sam", email="sam@partner.example", is_stranger=True, team_id="T0PARTNER")
    answer = bot.driver.command("USTRANGER1", ASK)  # in a shared channel of this workspace
    assert answer.status == 200  # recorded and acknowledged; the worker checks who asked before anything else
    assert "other organisations" in wait_ephemeral(bot.slack, "other organisations")
    assert refusals(bot) == [("USTRANGER1", "refused", "stranger")]
    assert nothing_happened(bot)


def test_a_stranger_opening_a_modal_is_refused_in_the_ack(bot: Bot) -> None:
    """What the front does before its ack (here the request form, which lists accounts) is for members only."""
    bot.add_account(require_reason=True)
    bot.slack.add_user("USTRANGER3", name="sue", is_stranger=True, team_id="T0PARTNER")
    answer = bot.driver.command("USTRANGER3", "access prod-aws readonly")  # no reason: the front would open a form
    assert answer.json is not None and "other organisations" in answer.json["text"]
    assert bot.slack.calls_to("views.open") == []
    assert refusals(bot) == [("USTRANGER3", "refused", "stranger")]


def test_the_ack_of_a_newcomers_request_does_not_wait_for_slack_to_say_who_they_are(bot: Bot) -> None:
    """users.info is the worker's: while Slack holds its answer the ask is already acknowledged, and it goes on
    once Slack answers; the person is looked up once, for the edge's check and the ask's together."""
    bot.add_account()
    bot.slack.add_user("UNEWCOMER2", name="nico", email="nico@example.com")
    bot.slack.delay_next("users.info", 2.0)
    answer = bot.driver.command("UNEWCOMER2", ASK)
    assert answer.status == 200
    assert [c for c in bot.slack.calls_to("users.info") if c.args.get("user") == "UNEWCOMER2"] == []  # unanswered
    bot.slack.wait_for("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL
                       and "<@UNEWCOMER2>" in json.dumps(c.args), timeout=15)
    assert len([c for c in bot.slack.calls_to("users.info") if c.args.get("user") == "UNEWCOMER2"]) == 1
    assert refusals(bot) == []


def test_a_stranger_cannot_approve(bot: Bot) -> None:
    bot.add_account()
    bot.slack.add_user("USTRANGER2", name="sid", is_stranger=True, team_id="T0PARTNER")
    ref = ask(bot)
    bot.driver.click("USTRANGER2", "pam_approve", ref, channel_id=CHANNEL, message_ts=bot.card()["ts"])
    wait_ephemeral(bot.slack, "other organisations")
    assert [r.status for r in bot.requests()] == ["pending"]
    assert ("USTRANGER2", "refused", "stranger") in refusals(bot)


def test_when_slack_cannot_say_who_asks_the_request_is_refused(bot: Bot) -> None:
    bot.add_account()
    bot.slack.add_user("UNEWCOMER1", name="nora", email="nora@example.com")
    bot.slack.fail_next("users.info", error="fatal_error")
    assert bot.driver.command("UNEWCOMER1", ASK).status == 200
    wait_ephemeral(bot.slack, "could not check")
    assert refusals(bot) == [("UNEWCOMER1", "refused", "member_check_failed")]
    assert bot.requests() == []


def test_members_of_this_workspace_still_get_through(bot: Bot) -> None:
    bot.add_account()
    ask(bot)
    assert refusals(bot) == []
    assert json.dumps(bot.card()).count(f"<@{REQUESTER}>") >= 1


def test_without_auth_test_at_start_the_bot_does_not_start(make_bot: Callable[..., Bot], slack_api) -> None:
    slack_api.fail_next("auth.test", error="invalid_auth")
    with pytest.raises(ConfigError) as caught:
        make_bot()
    assert "auth.test" in caught.value.user_message and "SLACK_BOT_TOKEN" in caught.value.user_message
