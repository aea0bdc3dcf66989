"""The worker's and the outbox's threads wait without costing: one thread polls, and a row wakes one thread."""

from __future__ import annotations

import time
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import ManualClock
from bot.runtime.deliverer import Deliverer
from bot.runtime.worker import Worker
from bot.services.outbox import Job, Outbox
from bot.slack.outbox_sender import SlackSender
from sandbox.slack_api import SlackApiStandIn
from tests.e2e.helpers import wait_for
from tests.e2e.test_worker_wakeups import CountingInbox

POLL = 0.05
WATCHED = 1.0  # seconds an idle pool is watched: about 20 poll periods


class CountingOutbox(Outbox):
    """A real outbox that counts the claims made on it."""

    claims = 0

    def claim_and_look(self, limit: int = 1) -> tuple[list[Job], bool]:
        self.claims += 1
        return super().claim_and_look(limit)


def claims_while_idle(count: Any, seconds: float = WATCHED) -> int:
    before = count()
    time.sleep(seconds)
    return int(count() - before)


def test_an_idle_worker_polls_with_one_thread_not_all_eight(db: sessionmaker[Session], clock: ManualClock) -> None:
    # Each of the eight threads used to poll on its own: 16 claims a second for an empty inbox, which cost an idle
    # `pam-bot work` a tenth of a core on a two-core host shared with the web.
    inbox = CountingInbox(db=db, clock=clock)
    worker = Worker(inbox, lambda job: None, threads=8, poll_seconds=POLL).start()
    try:
        wait_for(lambda: inbox.claims >= 8, "each thread's first look for work")
        polls = claims_while_idle(lambda: inbox.claims)
        assert 0 < polls <= WATCHED / POLL + 5, f"{polls} claims in {WATCHED} s, polling every {POLL} s"
        inbox.record("command", {"command": "/pam", "text": "help"})
        wait_for(lambda: inbox.depth()[0] == 0, "a job recorded meanwhile to be handled")
    finally:
        worker.stop()


def outbox_pool(db: sessionmaker[Session], clock: ManualClock, client: WebClient,
                poll_seconds: float) -> tuple[CountingOutbox, Deliverer]:
    outbox = CountingOutbox(db=db, clock=clock)
    deliverer = Deliverer(outbox, SlackSender(client), render=lambda job: None, poll_seconds=poll_seconds)
    return outbox, deliverer.start()


def test_an_idle_outbox_polls_with_one_thread(db: sessionmaker[Session], clock: ManualClock,
                                              slack_web_client: WebClient) -> None:
    outbox, deliverer = outbox_pool(db, clock, slack_web_client, POLL)
    try:
        wait_for(lambda: outbox.claims >= 2, "each thread's first look for work")
        polls = claims_while_idle(lambda: outbox.claims)
        assert 0 < polls <= WATCHED / POLL + 5, f"{polls} claims in {WATCHED} s, polling every {POLL} s"
    finally:
        deliverer.stop()


def test_a_queued_message_wakes_one_outbox_thread_which_claims_once(
        db: sessionmaker[Session], clock: ManualClock, slack_api: SlackApiStandIn,
        slack_web_client: WebClient) -> None:
    # Both threads used to wake for each commit that queued a row, and the one that delivered it claimed again:
    # three claim transactions per message, two of them empty.
    slack_api.add_user("U0PEER", name="peer")
    outbox, deliverer = outbox_pool(db, clock, slack_web_client, poll_seconds=120.0)
    try:
        wait_for(lambda: outbox.claims >= 2, "each thread's first look for work")
        time.sleep(0.2)
        for n in range(3):
            before = outbox.claims
            outbox.queue("dm", "U0PEER", {"text": f"hello {n}"})
            wait_for(lambda n=n: len(slack_api.dms_to("U0PEER")) == n + 1, "the message to land")
            wait_for(outbox.idle, "the row to be settled")
            time.sleep(0.2)  # a second thread woken by the same commit has claimed by now
            assert outbox.claims - before == 1, "a queued message woke more than one claim"
    finally:
        deliverer.stop()
