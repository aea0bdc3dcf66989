"""Whatever people type or submit, over the real HTTP path: never a 500, never a stack trace, always what is allowed.

Property-based (hypothesis) with modest example counts, since every example is a signed request to the bot.
"""

from __future__ import annotations

import itertools
import json
import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.domain.names import is_valid_session_name
from sandbox.slack_payloads import plain_text_value, static_select
from sandbox.slack_signed import Response
from tests.e2e.helpers import wait_for
from tests.e2e.test_access_flow import click, wait_status
from storage.models import Account, Resource
from tests.fixtures_bot import APPROVER, CHANNEL, Bot

HTTP = settings(max_examples=50, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FAILURES = ("Something went wrong", "Traceback", "Exception", "Error:", "internal_error")
ALLOWED = ("How to use /pam", "/pam help", "Usage:", "There is no account", "15m to 1h", "at most",
           "is waiting for approval", "already have request", "you can ask for", "You have no request",
           "Only pam-bot admins", "no active sessions", "There is no session", "sessions")
# What Slack can carry: any text without lone surrogates (they cannot be encoded as UTF-8).
typed = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)
words = st.sampled_from(["access", "prod-aws", "readonly", "prod-aws/readonly", "list", "help", "cancel", "revoke",
                         "sessions", "audit", "all", "30m", "2h", "-5m", "15", "1h", "0m", "R-ZZZZZZ", "S-ZZZZZZ",
                         "<@UREQUESTER>", "user=", "page=0", "*bold*", "<!channel>", "&amp;", "\u202e", "\x00"])
command_text = st.one_of(typed, st.lists(st.one_of(words, typed.map(lambda s: s[:8])), max_size=7).map(" ".join))
_people = itertools.count()


def person(bot: Bot, email: str | None = None) -> str:
    """A new person in the workspace (a fresh one per example keeps examples independent)."""
    user_id = f"UFUZZ{next(_people):06d}"
    bot.slack.add_user(user_id, name=user_id.lower(), email=email)
    return user_id


def answer(bot: Bot, response: Response, timeout: float = 10.0) -> str:
    """The private answer to one command (its response_url post), or the modal it opened."""
    assert response.status == 200, response.body
    assert not response.body.strip() or response.json is not None
    calls = wait_for(lambda: bot.slack.responses_to(str(response.response_url)) or [
        c for c in bot.slack.calls_to("views.open") if c.args.get("trigger_id") == response.trigger_id],
        "the bot's answer", timeout)
    assert calls[0].ok, calls[0].describe()
    return json.dumps(calls[0].args, ensure_ascii=False)


def assert_helpful(text: str) -> None:
    said = re.sub(r"`[^`]*`", "``", text)  # what the person typed comes back quoted; it may say anything
    assert not any(bad in said for bad in FAILURES), text
    assert any(good in text for good in ALLOWED), text


@HTTP
@given(text=command_text)
def test_any_command_text_gets_a_helpful_private_answer(bot: Bot, text: str) -> None:
    if not bot.accounts:
        bot.add_account()
    assert_helpful(answer(bot, bot.driver.command(person(bot, "fuzz@example.com"), text)))


duration_like = st.one_of(st.from_regex(r"[+-]?\d{1,5}(\.\d{1,2})?(s|m|h|d|w|min|mins|hours?|secs?)?", fullmatch=True),
                          st.from_regex(r"\d{1,2}h\d{1,2}m|\d{1,2}:\d{2}(:\d{2})?", fullmatch=True), typed)


@HTTP
@given(duration=duration_like)
def test_any_duration_is_granted_within_the_range_or_refused_with_it(bot: Bot, duration: str) -> None:
    if not bot.accounts:
        bot.add_account(duration="45m")
    user_id = person(bot)
    text = answer(bot, bot.driver.command(user_id, f"access prod-aws readonly {duration} fuzzing"))
    assert_helpful(text)
    mine = [r for r in bot.requests() if r.requester_id == user_id]
    if "is waiting for approval" in text:
        assert len(mine) == 1 and 900 <= mine[0].duration_seconds <= 2700
    else:
        assert not mine and ("15m to 1h" in text or "at most 45m" in text)


@settings(HTTP, max_examples=15)
@given(email=st.one_of(st.none(), st.emails(), typed, st.text("@.+=_-,aé漢 ", min_size=60, max_size=200)))
def test_any_email_becomes_a_valid_role_session_name_on_both_hops(bot: Bot, email: str | None) -> None:
    if not bot.accounts:
        bot.add_account()
    user_id = person(bot, email)
    bot.driver.command(user_id, "access prod-aws readonly 30m fuzzing names")
    card = bot.slack.wait_for("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL
                              and f"<@{user_id}>" in str(c.args.get("text")))
    ref = str(card.args["text"]).split()[2].rstrip(":")
    click(bot, APPROVER, "pam_approve", ref)
    wait_status(bot, ref, "granted")
    session = next(s for s in bot.sessions() if s.requester_id == user_id)
    assert is_valid_session_name(session.role_session_name)
    hops = [c for c in bot.aws.sandbox.assume_role_calls() if c.session_name == session.role_session_name]
    assert [h.outcome for h in hops][-2:] == ["ok", "ok"]


@HTTP
@given(account=st.one_of(st.none(), st.sampled_from(["prod-aws/readonly", "prod-aws/nope", "/", ""]), typed),
       duration=st.one_of(st.none(), duration_like), reason=st.one_of(st.none(), typed))
@example(account="\x00", duration=None, reason=None)  # PostgreSQL refuses a NUL in a statement's text
def test_any_request_modal_submission_is_answered_with_what_is_allowed(bot: Bot, account: str | None,
                                                                      duration: str | None,
                                                                      reason: str | None) -> None:
    if not bot.accounts:
        bot.add_account(require_reason=True)
    user_id = person(bot)
    response = bot.driver.submit_view(user_id, "pam_request_modal", {
        "account": {"value": static_select(account)}, "duration": {"value": plain_text_value(duration)},
        "reason": {"value": plain_text_value(reason)}})
    assert response.status == 200, response.body
    mine = [r for r in bot.requests() if r.requester_id == user_id]
    if response.json and response.json.get("response_action") == "errors":
        messages = " ".join(response.json["errors"].values())
        assert_helpful(messages + " Usage:")  # field errors need no usage line; they must not be failures
        assert set(response.json["errors"]) <= {"account", "duration", "reason"}
        assert not mine
    else:
        assert not response.body.strip()
        told = bot.slack.wait_for("chat.postMessage", lambda c: c.args.get("channel") in (f"D{user_id}", user_id))
        assert "is waiting for approval" in json.dumps(told.args)
        mine = [r for r in bot.requests() if r.requester_id == user_id]  # created after the ack, before the DM
        assert len(mine) == 1 and mine[0].reason.strip()


def test_oversized_inputs_stay_within_block_kit_limits(bot: Bot) -> None:
    """A 10,000-character reason and 1,000 accounts: every message, modal and Home tab is one Slack accepts
    (the stand-in refuses anything over Block Kit's limits with `invalid_blocks`, as Slack does)."""
    target = bot.add_account()
    with bot.db.begin() as session:
        resource = session.scalars(select(Resource)).one()
        now = bot.clock()
        session.add_all(Account(resource_id=resource.id, name=f"team-{i:04d}", role_arn=target,
                                description="d" * 500, default_duration_seconds=3600, approver_ids=[APPROVER],
                                approval_channel=CHANNEL, requesters_everyone=True, created_by="seed",
                                created_at=now, updated_at=now)
                        for i in range(1000))
    requester = person(bot, "long.reason@example.com")

    listed = answer(bot, bot.driver.command(requester, "list"))
    assert "1001 accounts" in listed and "more" in listed
    reason = "<!channel> *INC-42* " + "because the database is on fire and " * 280
    assert len(reason) > 10_000
    assert "is waiting for approval" in answer(bot, bot.driver.command(requester, f"access prod-aws readonly 30m {reason}"))
    ref = bot.requests()[-1].ref
    click(bot, APPROVER, "pam_approve", ref)
    wait_status(bot, ref, "granted")

    assert bot.driver.app_home_opened(requester).status == 200
    home = bot.slack.wait_for("views.publish", lambda c: c.args.get("user_id") == requester)
    assert bot.driver.click(requester, "pam_open_request", "", view=home.response["view"]).status == 200
    modal = bot.slack.wait_for("views.open", lambda c: "Showing 100 of 1001" in json.dumps(c.args))
    assert modal.ok, modal.describe()

    refused = [c.describe() for c in bot.slack.calls if not c.ok]
    assert refused == []  # cards, their updates, the DM, the modal and the Home tab were all within the limits
    card = json.dumps(bot.card())
    assert "<!channel>" not in card and "INC-42" in card  # escaped, and cut to fit rather than dropped
