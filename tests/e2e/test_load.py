"""Load and soak: many people asking and being approved at once, against one server on PostgreSQL.

The target is 10,000 requests (5,000 `/pam access` and 5,000 Approve clicks) from 50 concurrent clients:
`PAM_LOAD_REQUESTS=10000 PAM_RUN_SLOW=1 pytest tests/e2e/test_load.py`. CI runs the default, 2,000, which fits
its time budget on two cores; the checks are the same at any size.
"""

from __future__ import annotations

import json
import os
import queue
import re
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest

from sandbox.slack_calls import RecordedCall
from tests.fixtures_bot import APPROVER, APPROVER_2, CHANNEL, Bot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800),
              pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)]
REQUESTS = int(os.environ.get("PAM_LOAD_REQUESTS", "2000"))
CLIENTS = 50
Job = Callable[[], int]


def card_of(call: RecordedCall) -> tuple[str, str] | None:
    """(ref, ts) of a new approval card, or None for any other post."""
    if call.method != "chat.postMessage" or not call.ok or call.args.get("channel") != CHANNEL \
            or call.args.get("thread_ts"):
        return None
    for block in call.args.get("blocks") or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == "pam_approve":
                return str(element["value"]), str(call.response["ts"])
    return None


def run(jobs: queue.Queue[Job | None], statuses: list[int]) -> None:
    while (job := jobs.get()) is not None:
        try:
            statuses.append(job())
        except OSError:  # no answer at all (refused, reset, timed out): counted, never silently lost
            statuses.append(-1)


def feed_approvals(bot: Bot, jobs: queue.Queue[Job | None], flows: int, deadline: float,
                   statuses: list[int]) -> None:
    """As cards appear, queue an Approve click for each (alternating approvers), until every flow has one.

    Fails when the bot made no Slack call at all for a minute: work acknowledged early is done first, so
    a late card may wait behind many grants, but something always moves."""
    seen, clicks, moved = 0, 0, time.monotonic()
    while clicks < flows:
        assert time.monotonic() < deadline and time.monotonic() - moved < 60, \
            f"only {clicks} of {flows} approval cards appeared; answers: {answers(bot)}; " \
            f"HTTP statuses (-1: no answer): {Counter(statuses)}"
        calls = bot.slack.calls
        if len(calls) > seen:
            moved = time.monotonic()
        for call in calls[seen:]:
            found = card_of(call)
            if found is not None:
                ref, ts = found
                approver = (APPROVER, APPROVER_2)[clicks % 2]
                jobs.put(lambda a=approver, r=ref, t=ts: bot.driver.click(
                    a, "pam_approve", r, channel_id=CHANNEL, message_ts=t).status)
                clicks += 1
        seen = len(calls)
        time.sleep(0.2)


def test_thousands_of_requests_each_end_once(bot: Bot) -> None:
    flows = REQUESTS // 2
    bot.add_account()
    users = [f"ULOAD{i:06d}" for i in range(flows)]
    for user_id in users:
        bot.slack.add_user(user_id, name=user_id.lower(), email=f"{user_id.lower()}@example.com")
    jobs: queue.Queue[Job | None] = queue.Queue()
    for user_id in users:
        jobs.put(lambda u=user_id: bot.driver.command(u, "access prod-aws readonly 30m load test").status)
    statuses: list[int] = []
    clients = [threading.Thread(target=run, args=(jobs, statuses)) for _ in range(CLIENTS)]
    started = time.monotonic()
    for client in clients:
        client.start()
    feed_approvals(bot, jobs, flows, started + 1200, statuses)
    for _ in clients:
        jobs.put(None)
    for client in clients:
        client.join()
    wait_for_grants(bot, flows, statuses)

    assert len(statuses) == REQUESTS and Counter(statuses) == {200: REQUESTS}  # no 5xx, nothing refused
    requests = bot.requests()
    assert sorted(r.requester_id for r in requests) == users  # one request per person: none lost, none twice
    assert Counter(r.status for r in requests) == {"granted": flows}
    assert Counter(s.request_id for s in bot.sessions()) == Counter({r.id: 1 for r in requests})
    links = Counter(c.response["channel"] for c in bot.slack.calls_to("chat.postMessage")  # where each landed
                    if c.ok and "Open AWS Console" in json.dumps(c.args))
    assert links == Counter({f"D{user_id}": 1 for user_id in users})
    assert len(bot.audit("session.granted")) == flows


def wait_for_grants(bot: Bot, flows: int, statuses: list[int], stall: float = 60.0) -> None:
    """Until every flow is granted; fails when nothing moved for `stall` seconds."""
    done, moved = -1, time.monotonic()
    while (now := sum(r.status == "granted" for r in bot.requests())) < flows:
        if now != done:
            done, moved = now, time.monotonic()
        assert time.monotonic() - moved < stall, f"{done} of {flows} requests granted; answers: {answers(bot)}; " \
            f"HTTP statuses (-1: no answer): {Counter(statuses)}"
        time.sleep(0.5)
    time.sleep(1)  # late duplicates, if any, would land now


def answers(bot: Bot) -> Counter[str]:
    """What people were told privately and the requests' states, by kind (refs left out), for failure messages."""
    told = Counter(re.sub(r"\b[RS]-[A-Z0-9]{6}\b", "R-…", str(c.args.get("text", "")))[:90] for c in bot.slack.calls
                   if c.method in ("response_url", "chat.postEphemeral"))
    return told + Counter(f"status {r.status}" for r in bot.requests())
