"""Ending a session early: who may, what it does in pam-bot and in AWS, and the clean-up an hour later."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.aws.revocation import POLICY_NAME
from tests.e2e.helpers import blocks_of, button_urls, wait_ephemeral
from tests.e2e.lifecycle_helpers import SECOND, at, card_text, command, dms, grant_session, revocable_resource, \
    session_row, tick, wait_for
from tests.fixtures_bot import ADMIN, APPROVER, OUTSIDER, REQUESTER, Bot


def test_admin_revocation_puts_a_deny_on_the_target_role_and_it_is_pruned_after_expiry(bot: Bot) -> None:
    revocable_resource(bot)
    target = bot.add_account(revocation_enabled=True)
    session = grant_session(bot)
    revoked_at = bot.clock()
    answer = command(bot, ADMIN, f"revoke {session.ref}")
    assert "is revoked in pam-bot" in answer
    assert "denies every request made with this session's credentials" in answer and "other people" in answer

    row = session_row(bot, session.ref)
    assert row.status == "revoked" and row.revoked_by == ADMIN and row.revocation_applied
    assert row.aws_user_id and row.aws_user_id.endswith(f":{session.role_session_name}")
    policy = bot.aws.sandbox.role_policy(target, POLICY_NAME)
    assert policy is not None
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"StringLike": {"aws:userid": [row.aws_user_id]}}

    bot.settle_outbox()  # the owner's DM and the card update go out through the outbox
    (told,) = dms(bot, REQUESTER, session.ref, "revoked")
    request = next(r for r in bot.requests() if r.id == session.request_id)
    wait_for(lambda: "Session revoked" in card_text(bot, request.ref), "the card to say revoked")
    (event,) = [e for e in bot.audit("session.revoke") if e.outcome == "ok"]
    assert event.actor == ADMIN and event.details["aws"] == "applied"
    assert event.details["role_session_name"] == session.role_session_name
    (cut,) = bot.audit("session.revoke_in_aws")
    assert cut.outcome == "ok" and cut.details["aws_user_id"] == row.aws_user_id

    at(bot, session.expires_at + timedelta(minutes=14))
    assert tick(bot).pruned == 0
    assert bot.aws.sandbox.role_policy(target, POLICY_NAME) is not None
    at(bot, session.expires_at + timedelta(minutes=16) + timedelta(minutes=10))
    assert tick(bot).pruned == 1
    assert bot.aws.sandbox.role_policy(target, POLICY_NAME) is None
    assert not session_row(bot, session.ref).revocation_applied
    at(bot, revoked_at + timedelta(hours=2))
    assert tick(bot).pruned == 0
    # A revoked session gets neither a warning nor an end notice.
    assert not dms(bot, REQUESTER, session.ref, "has ended")
    assert not dms(bot, REQUESTER, f"session {session.ref} ends")


def test_someone_else_cannot_revoke_a_session(bot: Bot) -> None:
    bot.add_account()
    session = grant_session(bot)
    for user in (OUTSIDER, APPROVER):
        assert "Only the session's owner or a pam-bot admin" in command(bot, user, f"revoke {session.ref}")
    assert session_row(bot, session.ref).status == "active"
    refusals = bot.audit("session.revoke")
    assert [(e.actor, e.outcome, e.details["code"]) for e in refusals] == [
        (OUTSIDER, "refused", "not_allowed"), (APPROVER, "refused", "not_allowed")]
    assert not dms(bot, REQUESTER, session.ref, "revoked")


def test_im_done_on_the_grant_dm_revokes_and_says_aws_was_not_told(bot: Bot) -> None:
    target = bot.add_account()
    session = grant_session(bot)
    (grant_dm,) = dms(bot, REQUESTER, session.ref, "Open AWS Console")
    (done,) = [e for b in blocks_of(grant_dm.args) if b["type"] == "actions" for e in b["elements"]
               if e["action_id"] == "pam_done"]
    response = bot.driver.click(REQUESTER, "pam_done", done["value"], channel_id=f"D{REQUESTER}",
                                message_ts=grant_dm.response["ts"])
    assert response.status == 200
    answer = wait_ephemeral(bot.slack, "is revoked in pam-bot")
    assert "does not have revocation enabled" in answer and "keep working until" in answer
    assert session_row(bot, session.ref).status == "revoked"
    assert bot.aws.sandbox.role_policy(target, POLICY_NAME) is None
    assert not dms(bot, REQUESTER, session.ref, "was revoked")  # the owner acted: no DM about it
    request = next(r for r in bot.requests() if r.id == session.request_id)
    assert "Session revoked" in card_text(bot, request.ref)
    assert "already revoked" in command(bot, REQUESTER, f"revoke {session.ref}")
    bot.slack.wait_for("chat.update", lambda c: c.args.get("ts") == grant_dm.response["ts"])
    closed = bot.slack.message(grant_dm.response["channel"], grant_dm.response["ts"])  # the DM as it stands now
    assert closed is not None
    assert "you said you were done" in closed["text"] and session.ref in closed["text"]
    assert not button_urls(closed) and "pam_done" not in json.dumps(closed)  # no link, no buttons left


def test_sessions_lists_ones_own_and_admins_see_everyone(bot: Bot) -> None:
    bot.add_account()
    mine = grant_session(bot)
    own = command(bot, REQUESTER, "sessions")
    assert "Your active sessions" in own and mine.ref in own and mine.role_session_name in own and "/pam revoke" in own

    assert "You have no active sessions" in command(bot, OUTSIDER, "sessions")
    assert "Only pam-bot admins" in command(bot, OUTSIDER, "sessions all")
    assert [e.outcome for e in bot.audit("session.list")] == ["refused"]

    everyone = command(bot, ADMIN, "sessions all")
    assert "Active sessions* (1)" in everyone and mine.ref in everyone and f"<@{REQUESTER}>" in everyone
    theirs = command(bot, ADMIN, f"sessions <@{REQUESTER}|alice>")
    assert f"Active sessions of <@{REQUESTER}>" in theirs and mine.ref in theirs

    at(bot, mine.expires_at + SECOND)  # over, even before a tick marks it ended
    assert "You have no active sessions" in command(bot, REQUESTER, "sessions")
