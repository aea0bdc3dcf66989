"""What one scheduler tick costs, counted (never timed): its SQL does not grow with the number of rows due."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from bot.services.audit import AuditService
from storage.models import AccessRequest, AccessSession
from tests.e2e.lifecycle_helpers import settle_outbox
from tests.e2e.test_grant_cost import statements_of_this_thread
from tests.fixtures_bot import APPROVER, OUTSIDER, REQUESTER, Bot

ROLE = "arn:aws:iam::123456789012:role/pam-target-tick"
PEOPLE = (REQUESTER, APPROVER, OUTSIDER)


def insert_due(bot: Bot, now: datetime, prefix: str, count: int) -> tuple[list[str], list[str]]:
    """`count` sessions past their end and `count` inside the warning window, straight into the tables."""
    ending = [f"S-{prefix}E{index:03d}" for index in range(count)]
    warning = [f"S-{prefix}W{index:03d}" for index in range(count)]
    with bot.db.begin() as session:
        for index, ref in enumerate(ending + warning):
            owner, over = PEOPLE[index % len(PEOPLE)], ref in ending
            request = AccessRequest(
                ref=f"R-{ref[2:]}", requester_id=owner, team_id="T0PAM", account_id=None, resource_name="prod-aws",
                account_name="readonly", resource_role_arn=ROLE, target_role_arn=ROLE, duration_seconds=1800,
                reason="", status="granted", created_at=now - timedelta(minutes=40),
                updated_at=now - timedelta(minutes=40), cards=[])
            session.add(request)
            session.flush()
            session.add(AccessSession(
                ref=ref, request_id=request.id, requester_id=owner, account_id=None, resource_name="prod-aws",
                account_name="readonly", resource_role_arn=ROLE, target_role_arn=ROLE,
                role_session_name=f"{prefix}-{index}", assumed_role_arn=f"{ROLE}/{prefix}-{index}",
                status="active", started_at=now - timedelta(minutes=30),
                expires_at=now - timedelta(minutes=1) if over else now + timedelta(minutes=2),
                warned_at=now - timedelta(minutes=6) if over else None,
                link_channel=f"D{owner}", link_ts=f"1700000000.{index:06d}"))  # its link DM landed
    return ending, warning


def tick_statements(bot: Bot, *, ended: int, warned: int) -> list[str]:
    """The SQL one whole tick sends (every sweep), checking it handled what was due."""
    with statements_of_this_thread(bot) as seen:
        report = bot.container.services.sweeps.tick()
    assert (report.ended, report.warned) == (ended, warned)
    return seen


def test_a_tick_sends_the_same_sql_for_forty_due_sessions_as_for_two(bot: Bot) -> None:
    bot.container.worker.stop()  # and its outbox threads: every statement counted below is the tick's
    now = bot.clock()
    tick_statements(bot, ended=0, warned=0)  # warm: the first tick may read settings once
    few_ending, few_warning = insert_due(bot, now, "A", 1)
    few = tick_statements(bot, ended=1, warned=1)
    many_ending, many_warning = insert_due(bot, now, "B", 20)
    many = tick_statements(bot, ended=20, warned=20)
    shown = "\n".join(" ".join(s.split())[:120] for s in many)
    assert len(many) == len(few), shown
    if bot.engine.dialect.name == "postgresql":  # word for word: no statement's text grows with the batch either
        assert many == few, shown

    settle_outbox(bot.container)  # delivered here, in this thread
    texts = [str(call.args.get("text")) for call in bot.slack.calls_to("chat.postMessage") if call.ok]
    for ref in few_ending + many_ending:
        assert sum(f"session {ref} on" in text and "has ended" in text for text in texts) == 1, ref
    for ref in few_warning + many_warning:
        assert sum(f"session {ref} ends" in text for text in texts) == 1, ref
    audited = Counter((e.action, e.target) for e in bot.audit() if e.action in ("session.ended", "session.warned"))
    assert audited == Counter([("session.ended", ref) for ref in few_ending + many_ending]
                              + [("session.warned", ref) for ref in few_warning + many_warning])
    report = AuditService(db=bot.db, clock=bot.clock).verify()
    assert report.broken_at is None and report.checked == len(bot.audit())
