"""The web path only records and acks; a worker does the rest, also after a crash, and says when it was late."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from bot.runtime.container import build
from storage.models import AccessRequest, Decision, Interaction
from tests.e2e.helpers import wait_dm, wait_ephemeral, wait_for
from tests.e2e.test_access_flow import ask, click, wait_status
from tests.fixtures_bot import APPROVER, REQUESTER, Bot, bot_env

WORK_CALLS = ("chat.postMessage", "chat.postEphemeral", "chat.update", "response_url", "views.publish")


def interactions(bot: Bot) -> list[Interaction]:
    with bot.db.begin() as session:
        return list(session.scalars(select(Interaction).order_by(Interaction.id)))


def test_an_acknowledged_request_survives_the_process_that_acknowledged_it(bot: Bot) -> None:
    bot.add_account()
    bot.container.worker.stop()  # a web process whose worker is gone (or a web-only process)
    before = len(bot.slack.calls)
    response = bot.driver.command(REQUESTER, "access prod-aws readonly 30m checking INC-42")
    assert response.status == 200
    rows = interactions(bot)
    assert [row.kind for row in rows] == ["slash_command"] and rows[0].body["text"].startswith("access prod-aws")
    assert "token" not in rows[0].body  # Slack's verification token is never stored
    assert bot.requests() == []  # the ack did nothing else: no request, no card, no answer yet
    assert not [c for c in bot.slack.calls[before:] if c.method in WORK_CALLS]
    bot.container.close()  # the process goes away with the request still undone

    env = bot_env(database_url=bot.container.settings.database_url, slack=bot.slack, aws=bot.aws)
    other = build(bot.container.settings, clock=bot.clock, aws_env=env, poll_seconds=0.05)
    try:
        other.worker.start()  # another process's worker picks it up from the database
        wait_ephemeral(bot.slack, "is waiting for approval")
        wait_for(lambda: other.inbox.depth()[0] == 0, "the other worker to drain the inbox", 5)
        wait_for(lambda: bot.slack.messages("CAPPROVALS"), "its outbox to post the card", 5)
    finally:
        other.close()
    assert [r.status for r in bot.requests()] == ["pending"]
    assert len(bot.slack.messages("CAPPROVALS")) == 1


def test_an_approval_whose_worker_died_is_granted_after_its_lease_and_the_requester_is_told(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    bot.container.worker.stop()
    click(bot, APPROVER, "pam_approve", ref)
    # A worker claims the click, records the approval, then dies before the grant.
    (job,) = bot.container.inbox.claim()
    assert job.kind == "block_actions" and job.attempts == 1
    with bot.db.begin() as session:
        request = session.scalars(select(AccessRequest).where(AccessRequest.ref == ref)).one()
        session.add(Decision(request_id=request.id, approver_id=APPROVER, team_id="T0PAM", verdict="approve",
                             reason="", created_at=bot.clock()))
        request.status = "approved"

    bot.container.worker.start()
    time.sleep(0.5)
    assert bot.sessions() == [] and len(interactions(bot)) == 1  # leased: the living worker leaves it alone

    bot.clock.advance(timedelta(seconds=31))  # the dead worker's lease runs out
    wait_dm(bot.slack, REQUESTER, "pam-bot stopped while creating the console session")
    wait_dm(bot.slack, REQUESTER, "Open AWS Console")
    wait_status(bot, ref, "granted")
    bot.settle()
    assert len(bot.sessions()) == 1
    assert [e.target for e in bot.audit("request.resumed")] == [ref]
    assert [e.target for e in bot.audit("session.granted")] == [ref]
