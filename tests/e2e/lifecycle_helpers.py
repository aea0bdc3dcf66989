"""Helpers for the lifecycle tests: grant a real session over HTTP, move the clock, count what Slack got."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

from bot.clock import ManualClock
from bot.config import Settings
from bot.runtime.container import Container, build
from sandbox.slack_calls import RecordedCall
from bot.services.sweeps import TickReport
from storage.models import AccessRequest, AccessSession
from tests.e2e.helpers import wait_ephemeral, wait_for
from tests.fixtures_bot import ADMIN, APPROVER, CHANNEL, EXTERNAL_ID, REQUESTER, Bot, bot_env

SECOND = timedelta(seconds=1)


def ask(bot: Bot, text: str = "access prod-aws readonly 30m checking INC-42", user: str = REQUESTER) -> AccessRequest:
    """Run /pam access and return the pending request it created, once the outbox has tried its card."""
    before = len(bot.requests())
    assert bot.driver.command(user, text).status == 200
    wait_for(lambda: len(bot.requests()) > before, "the request row")
    request = bot.requests()[-1]
    wait_ephemeral(bot.slack, f"Request {request.ref}")
    bot.settle_outbox()
    return request


def card_of(bot: Bot, ref: str) -> dict[str, Any]:
    """The approval card of one request as it looks once the outbox delivered (thread replies are not cards)."""
    bot.settle_outbox()
    wait_for(lambda: bool(request_row(bot, ref).cards), f"the card of {ref}")
    (card,) = request_row(bot, ref).cards
    message = bot.slack.message(card["channel"], card["ts"])
    assert message is not None
    return message


def approve(bot: Bot, ref: str, user: str = APPROVER) -> None:
    card = card_of(bot, ref)
    assert bot.driver.click(user, "pam_approve", ref, channel_id=CHANNEL, message_ts=card["ts"]).status == 200


def grant_session(bot: Bot, text: str = "access prod-aws readonly 30m checking INC-42",
                  user: str = REQUESTER) -> AccessSession:
    """Ask, approve, wait for the real role chain and the DM; return the new session."""
    request = ask(bot, text, user)
    approve(bot, request.ref)
    wait_for(lambda: any(s.request_id == request.id for s in bot.sessions()), f"a session for {request.ref}")
    session = next(s for s in bot.sessions() if s.request_id == request.id)
    # The grant ends with the link DM and then the card update: wait for both, so that no test's planned
    # Slack fault is spent on them.
    wait_for(lambda: bool(dms(bot, user, session.ref, "Open AWS Console")), f"the link DM of {session.ref}")
    wait_for(lambda: "Granted" in card_text(bot, request.ref), f"the card of {request.ref} to say granted")
    return session


def revocable_resource(bot: Bot, resource: str = "prod-aws") -> str:
    """Register a resource whose role may change the target roles' inline policies (for revocation)."""
    arn = bot.aws.sandbox.create_resource_role(f"pam-resource-rv-{time.time_ns() % 10**10}", bot.aws.bot_arn,
                                               EXTERNAL_ID, allow_revocation=True)
    bot.container.services.admin.save_resource(actor=ADMIN, name=resource, role_arn=arn)
    bot.accounts[resource] = arn
    return arn


def tick(bot: Bot | Container) -> TickReport:
    """One scheduler tick, then wait for the outbox to deliver what it queued."""
    container = bot.container if isinstance(bot, Bot) else bot
    report = container.services.sweeps.tick()
    settle_outbox(container)
    return report


def settle_outbox(container: Container, timeout: float = 10.0) -> None:
    """Deliver every due row of the outbox (in this thread too, should no worker run)."""
    deadline = time.monotonic() + timeout
    while not container.outbox.idle():
        container.deliverer.drain()
        assert time.monotonic() < deadline, "the outbox did not deliver its due rows"
        time.sleep(0.02)


def at(bot: Bot, moment: datetime) -> None:
    bot.clock.set(moment)


def dms(bot: Bot, user: str, *needles: str) -> list[RecordedCall]:
    """Successful DMs to `user` whose JSON contains every needle."""
    return [c for c in bot.slack.dms_to(user) if all(n in json.dumps(c.args) for n in needles)]


def thread_replies(bot: Bot, needle: str) -> list[RecordedCall]:
    """Successful posts in a thread of the approval channel containing `needle`."""
    return [c for c in bot.slack.calls_to("chat.postMessage")
            if c.ok and c.args.get("channel") == CHANNEL and c.args.get("thread_ts") and needle in json.dumps(c.args)]


def card_text(bot: Bot, ref: str) -> str:
    return json.dumps(card_of(bot, ref))


def second_container(bot: Bot, clock: ManualClock) -> Container:
    """Another process's worth of bot on the same database, Slack and AWS (as after a restart)."""
    env = bot_env(database_url=bot.container.settings.database_url, slack=bot.slack, aws=bot.aws)
    return build(Settings.from_env(env), clock=clock, aws_env=env)


def request_row(bot: Bot, ref: str) -> AccessRequest:
    return next(r for r in bot.requests() if r.ref == ref)


def session_row(bot: Bot, ref: str) -> AccessSession:
    return next(s for s in bot.sessions() if s.ref == ref)


def command(bot: Bot, user: str, text: str) -> str:
    """Run `/pam <text>` as `user`; return the private answer it got (as JSON text)."""
    before = len(bot.slack.calls_to("response_url"))
    assert bot.driver.command(user, text).status == 200
    wait_for(lambda: len(bot.slack.calls_to("response_url")) > before, f"the answer to /pam {text}")
    return json.dumps(bot.slack.calls_to("response_url")[before].args)
