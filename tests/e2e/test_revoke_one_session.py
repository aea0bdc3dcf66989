"""Revoking cuts exactly the one session in AWS, whatever pam-bot's clock says, and survives the account."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.e2e.helpers import button_urls
from tests.e2e.lifecycle_helpers import command, dms, grant_session, revocable_resource, session_row
from tests.e2e.revoke_helpers import aws_time, hop2_keys
from tests.fixtures_bot import ADMIN, REQUESTER, Bot


def test_revoking_one_session_leaves_the_persons_other_session_working(bot: Bot) -> None:
    revocable_resource(bot)
    target = bot.add_account(revocation_enabled=True)
    first = grant_session(bot)
    second = grant_session(bot)  # "Request again" while the first still runs
    old, new = hop2_keys(bot, target)

    aws_time(bot, -timedelta(seconds=5))  # pam-bot's host runs 5 s behind AWS
    answer = command(bot, REQUESTER, f"revoke {first.ref}")
    assert "revoked in pam-bot" in answer
    assert bot.aws.sandbox.denies(old), "the revoked session's credentials still work"
    assert not bot.aws.sandbox.denies(new), "the person's other session was cut too"
    assert session_row(bot, first.ref).status == "revoked"
    assert session_row(bot, second.ref).status == "active"
    assert second.ref in command(bot, REQUESTER, "sessions")
    # Each grant has a name of its own, carrying the email for CloudTrail, the same on both hops.
    assert first.role_session_name == f"alice@example.com+{first.ref}"
    assert second.role_session_name == f"alice@example.com+{second.ref}"
    hop_names = [(c.role_arn, c.session_name) for c in bot.aws.sandbox.assume_role_calls() if c.ok]
    assert hop_names.count((first.resource_role_arn, first.role_session_name)) == 1  # the same name on hop 1
    assert hop_names.count((target, first.role_session_name)) == 1


def test_revoke_after_the_account_is_gone_still_cuts_and_replaces_the_link_dm(bot: Bot) -> None:
    revocable_resource(bot)
    target = bot.add_account(revocation_enabled=True)
    session = grant_session(bot)
    (grant_dm,) = dms(bot, REQUESTER, session.ref, "Open AWS Console")
    (key,) = hop2_keys(bot, target)
    bot.container.services.admin.remove_account(actor=ADMIN, resource="prod-aws", name="readonly", trusted=True)

    aws_time(bot)
    answer = command(bot, ADMIN, f"revoke {session.ref}")
    assert "does not have revocation enabled" not in answer
    assert bot.aws.sandbox.denies(key)
    row = session_row(bot, session.ref)
    assert row.status == "revoked" and row.revocation_applied
    bot.slack.wait_for("chat.update", lambda c: c.args.get("ts") == grant_dm.response["ts"])
    closed = bot.slack.message(grant_dm.response["channel"], grant_dm.response["ts"])
    assert closed is not None
    assert f"<@{ADMIN}> revoked it" in closed["text"] and session.ref in closed["text"]
    assert not button_urls(closed) and "pam_done" not in json.dumps(closed)
