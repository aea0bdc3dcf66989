"""Two web and two worker processes on one PostgreSQL; a worker is SIGKILLed at random moments during 200 requests.

Every acknowledged request ends in one final state, every grant happens once (one session, one AssumeRole chain
that reached a person), every grant's requester gets its link or — when a kill cut the link off — one offer of a
new link, no console link is sent twice and no approval card is posted twice.
Run it alone: PAM_RUN_SLOW=1 pytest tests/e2e/test_exactly_once.py (it waits out leases and the stuck-grant sweep).
"""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from storage.models import AccessRequest, Delivery, Interaction
from tests.e2e.fleet import NEW_LINK_OFFER, Fleet, Launch, approval_cards, cards_posted, link_dms
from tests.fixtures_bot import APPROVER, CHANNEL, Bot

SEED = 20261130
ASKS = {"auto": 66, "manual": 67}  # + one approval click per manual ask: 200 requests
KILLS = 6
FINAL = {"granted", "denied", "failed", "cancelled", "expired"}
DRAIN_SECONDS = 300  # a job held by a killed worker waits out its 30 s lease; a cut-off grant, the 2 min sweep


def people(bot: Bot) -> dict[str, str]:
    """Slack users who ask, by id, with their email (the person part of their role session names)."""
    users = {f"UFLEET{n:04d}": f"fleet{n}@example.com" for n in range(max(ASKS.values()))}
    for n, (user, email) in enumerate(users.items()):
        bot.slack.add_user(user, name=f"fleet{n}", email=email)
    return users


def drive(fleet: Fleet, users: list[str], rng: random.Random) -> tuple[set[tuple[str, str]], set[str]]:
    """Send the asks and, as their cards appear, the approvals; kill a worker at seeded-random moments."""
    asks = [(user, account) for account, count in ASKS.items() for user in users[:count]]
    rng.shuffle(asks)
    total = len(asks) + ASKS["manual"]
    kill_at = set(rng.sample(range(10, total - 10), KILLS))
    acked_asks: set[tuple[str, str]] = set()
    acked_clicks: set[str] = set()
    sent, deadline = 0, time.monotonic() + 180
    while sent < total and time.monotonic() < deadline:
        cards = {ref: card for ref, card in approval_cards(fleet.bot.slack).items() if ref not in acked_clicks}
        if cards and (not asks or rng.random() < 0.4):
            ref = rng.choice(sorted(cards))
            response = fleet.driver(sent).click(APPROVER, "pam_approve", ref, channel_id=CHANNEL,
                                                message_ts=cards[ref]["ts"])
            if response.status == 200:
                acked_clicks.add(ref)
        elif asks:
            user, account = asks.pop()
            response = fleet.driver(sent).command(user, f"access prod-aws {account} 30m fleet test")
            if response.status == 200:
                acked_asks.add((user, account))
        else:
            time.sleep(0.1)  # every ask is sent: wait for the cards still to come
            continue
        sent += 1
        if sent in kill_at:
            fleet.kill_worker(rng.randrange(len(fleet.workers)))
        time.sleep(rng.uniform(0, 0.05))
    return acked_asks, acked_clicks


def drained(bot: Bot) -> bool:
    with bot.db.begin() as session:
        queued = session.scalar(select(func.count()).select_from(Interaction)) or 0
        open_rows = session.scalar(select(func.count()).select_from(AccessRequest).where(
            AccessRequest.status.not_in(FINAL))) or 0
        undelivered = session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.state == "queued")) or 0
    return queued == 0 and open_rows == 0 and undelivered == 0


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_web_two_workers_and_sigkills_grant_everything_exactly_once(
        bot: Bot, database_url: str, launch: Launch) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several processes on one database need PostgreSQL")
    bot.container.worker.stop()  # the test process only watches: the fleet does the work
    bot.add_account(name="auto", auto_approve=True)
    bot.add_account(name="manual")
    users = people(bot)
    fleet = Fleet(bot, launch)
    for _ in range(2):
        fleet.start_web()
        fleet.start_worker()

    acked_asks, acked_clicks = drive(fleet, list(users), random.Random(SEED))  # noqa: S311 - a seeded schedule of kills, not a secret
    deadline = time.monotonic() + DRAIN_SECONDS
    while not drained(bot) and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(1)  # a DM still on its way after the last commit

    requests = {(r.requester_id, r.account_name): r for r in bot.requests()}
    assert len(requests) == len(bot.requests()) and set(requests) == acked_asks  # one request per acknowledged ask
    stuck = {f"{r.ref} {user}/{account}": (r.status, bool(r.cards)) for (user, account), r in requests.items()
             if r.status not in FINAL}
    assert not stuck, f"requests that never reached a final state (status, card recorded): {stuck}"
    assert fleet.kills == KILLS
    assert len(acked_asks) + len(acked_clicks) == sum(ASKS.values()) + ASKS["manual"], "not every request was acked"
    assert {r.ref for r in requests.values() if r.account_name == "manual"} == acked_clicks

    sessions = Counter(s.request_id for s in bot.sessions())
    granted = {r.id for r in requests.values() if r.status == "granted"}
    assert set(sessions) == granted and set(sessions.values()) <= {1}, "a request granted twice"
    names = [s.role_session_name for s in bot.sessions()]
    assert len(set(names)) == len(names)
    calls = [call for call in bot.aws.sandbox.assume_role_calls() if call.ok]
    chains = Counter(call.session_name for call in calls)
    assert all(chains[name] == 2 for name in names), "a granted session's chain is not exactly two hops"
    # A kill between AssumeRole and the commit leaves a chain whose credentials died with the worker; the retry
    # makes a new one. Each chain must be one claimed attempt (the claim is what keeps grants to one at a time).
    targets = {r.target_role_arn for r in requests.values()}
    per_request = Counter((str(call.session_name).rpartition("+")[0], call.role_arn) for call in calls
                          if call.role_arn in targets and "+" in str(call.session_name))  # not the set-up checks
    attempts = {(users[r.requester_id], r.target_role_arn): r.grant_attempts
                for r in requests.values()}
    assert set(per_request) <= set(attempts)
    over = {key: (n, attempts[key]) for key, n in per_request.items() if n > attempts[key]}
    assert not over, f"more AssumeRole chains than grant claims (chains, claims): {over}"

    links = link_dms(bot.slack)
    delivered = {(r.requester_id, f"prod-aws/{r.account_name}") for r in requests.values() if r.status == "granted"}
    assert set(links) <= delivered, "a console link without a grant"
    # A kill between the grant's commit and its DM: the link died with the worker; the replayed job offers a new one.
    offers = link_dms(bot.slack, NEW_LINK_OFFER)
    assert set(offers) <= delivered - set(links), "a new link offered for a link that landed, or without a grant"
    unlinked = delivered - set(links) - set(offers)
    assert not unlinked, f"granted, but neither the link nor a new-link offer reached the requester: {unlinked}"
    twice_links = {key: n for key, n in links.items() if n > 1}
    twice_cards = {ref: n for ref, n in cards_posted(bot.slack).items() if n > 1}
    undelivered = sum(n for name, n in chains.items() if name not in set(names)) // 2
    print(f"kills={fleet.kills} granted={len(granted)} statuses={Counter(r.status for r in requests.values())} "
          f"undelivered_chains={undelivered} new_link_offers={len(offers)} links_twice={twice_links} "
          f"cards_twice={twice_cards}")
    assert not twice_links, f"console links sent twice: {twice_links}"
    assert set(offers.values()) <= {1}, f"a new link offered twice: {offers}"
    assert not twice_cards, f"approval cards posted twice: {twice_cards}"
