"""A revocation AWS refuses is not marked done: the session stays `revoking`, the scheduler retries with backoff
(once across replicas), and after the last try the approvers and admins hear that AWS still accepts it."""

from __future__ import annotations

import threading
from datetime import timedelta

from bot.clock import ManualClock
from bot.services.revocations import MAX_ATTEMPTS, RETRY_DELAYS
from tests.e2e.lifecycle_helpers import SECOND, at, command, dms, grant_session, revocable_resource, \
    second_container, session_row, thread_replies, tick
from tests.e2e.revoke_helpers import aws_time, hop2_keys
from tests.fixtures_bot import ADMIN, REQUESTER, Bot

DENIED = ("AccessDenied", "User is not authorized to perform: iam:PutRolePolicy")


def test_a_refused_revocation_stays_revoking_and_the_scheduler_retries_it(bot: Bot) -> None:
    revocable_resource(bot)
    target = bot.add_account(revocation_enabled=True)
    session = grant_session(bot)
    (key,) = hop2_keys(bot, target)
    aws_time(bot)
    bot.aws.sandbox.fail_next("PutRolePolicy", *DENIED, status=403, times=2)
    answer = command(bot, REQUESTER, f"revoke {session.ref}")
    assert "still being cut off in AWS" in answer and "not cut yet" in answer and "AccessDenied" in answer
    assert session_row(bot, session.ref).status == "revoking"
    assert not bot.aws.sandbox.denies(key)

    again = command(bot, REQUESTER, f"revoke {session.ref}")  # tries again at once, not "already revoked"
    assert "already" not in again and "not cut yet" in again
    row = session_row(bot, session.ref)
    assert (row.status, row.revoke_attempts, row.revoke_error) == ("revoking", 2, "AccessDenied")
    assert [e.outcome for e in bot.audit("session.revoke_in_aws")] == ["failed", "failed"]

    at(bot, row.revoke_due_at - SECOND)
    assert tick(bot).revocations == 0  # not due yet
    at(bot, row.revoke_due_at)
    assert tick(bot).revocations == 1
    row = session_row(bot, session.ref)
    assert row.status == "revoked" and row.revocation_applied and row.revoke_due_at is None
    assert bot.aws.sandbox.denies(key)
    assert "already revoked" in command(bot, REQUESTER, f"revoke {session.ref}")


def test_after_the_last_try_approvers_and_admins_hear_that_aws_still_accepts_the_session(bot: Bot) -> None:
    revocable_resource(bot)
    target = bot.add_account(revocation_enabled=True)
    session = grant_session(bot)
    (key,) = hop2_keys(bot, target)
    aws_time(bot)
    bot.aws.sandbox.fail_next("PutRolePolicy", *DENIED, status=403, times=MAX_ATTEMPTS)
    command(bot, ADMIN, f"revoke {session.ref}")
    for delay in RETRY_DELAYS:
        bot.clock.advance(delay)
        assert tick(bot).revocations == 1
    row = session_row(bot, session.ref)
    assert (row.status, row.revoke_attempts) == ("revoking", MAX_ATTEMPTS)
    assert not bot.aws.sandbox.denies(key)
    (alert,) = thread_replies(bot, "AWS still accepts it")
    assert session.ref in str(alert.args) and "iam:PutRolePolicy" in str(alert.args)
    assert f"/pam revoke {session.ref}" in str(alert.args)
    assert dms(bot, ADMIN, "AWS still accepts it", session.ref)
    (gave_up,) = [e for e in bot.audit("session.revoke_in_aws") if e.details.get("gave_up")]
    assert gave_up.details["attempt"] == MAX_ATTEMPTS and gave_up.details["aws_code"] == "AccessDenied"

    bot.clock.advance(timedelta(minutes=5))
    assert tick(bot).revocations == 0  # no more tries on its own
    at(bot, session.expires_at)
    assert tick(bot).revocations == 1
    assert session_row(bot, session.ref).status == "ended"  # the credentials died; AWS never accepted a deny
    assert bot.audit("session.revoke_in_aws")[-1].outcome == "expired"


def test_two_replicas_retry_a_due_revocation_exactly_once(bot: Bot) -> None:
    revocable_resource(bot)
    target = bot.add_account(revocation_enabled=True)
    sessions = [grant_session(bot) for _ in range(3)]
    keys = hop2_keys(bot, target)
    aws_time(bot)
    bot.aws.sandbox.fail_next("PutRolePolicy", *DENIED, status=403, times=3)
    for session in sessions:
        command(bot, REQUESTER, f"revoke {session.ref}")
    puts_before = len(bot.aws.sandbox.calls("PutRolePolicy"))
    due = bot.clock() + RETRY_DELAYS[0] + SECOND
    at(bot, due)
    other = second_container(bot, ManualClock(due))
    try:
        totals: list[int] = []
        threads = [threading.Thread(target=lambda c=c: totals.append(tick(c).revocations))
                   for c in (bot.container, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other.close()
    assert sum(totals) == 3
    puts = bot.aws.sandbox.calls("PutRolePolicy")[puts_before:]
    assert len(puts) == 3 and all(call.ok for call in puts)
    assert all(session_row(bot, s.ref).status == "revoked" for s in sessions)
    assert all(bot.aws.sandbox.denies(key) for key in keys)
    assert len([e for e in bot.audit("session.revoke_in_aws") if e.outcome == "ok"]) == 3
