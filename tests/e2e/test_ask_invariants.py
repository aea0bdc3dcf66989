"""Limits the database keeps under concurrency: one open request per person and account, and the daily
auto-approval limit, with 20 asks at once over HTTP (PostgreSQL: several connections; SQLite: one writer)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.e2e.helpers import wait_for
from tests.fixtures_bot import REQUESTER, Bot

ASKS = 20


def ask_at_once(bot: Bot, text: str) -> None:
    with ThreadPoolExecutor(max_workers=ASKS) as pool:
        statuses = list(pool.map(lambda _: bot.driver.command(REQUESTER, text).status, range(ASKS)))
    assert statuses == [200] * ASKS
    # every ask is answered (created, granted or refused) before counting
    wait_for(lambda: len(bot.slack.calls_to("response_url")) >= ASKS, f"answers to all {ASKS} asks", 30)
    assert len(bot.slack.calls_to("response_url")) == ASKS


def test_twenty_asks_at_once_make_one_open_request(bot: Bot) -> None:
    bot.add_account()
    ask_at_once(bot, "access prod-aws readonly 30m INC-1")
    assert [r.status for r in bot.requests()] == ["pending"]
    refused = [e for e in bot.audit("request.create") if e.outcome == "refused"]
    assert len(refused) == ASKS - 1 and {e.details["code"] for e in refused} == {"conflict"}


def test_twenty_auto_approved_asks_at_once_keep_the_daily_limit(bot: Bot) -> None:
    bot.add_account(auto_approve=True, auto_approve_daily_limit=1)
    ask_at_once(bot, "access prod-aws readonly 15m INC-2")
    wait_for(lambda: not any(r.status == "approved" for r in bot.requests()), "the approved asks to be granted", 30)
    assert len(bot.sessions()) == 1
    auto = [r for r in bot.requests() if r.auto_approved]
    assert len(auto) == 1 and auto[0].status == "granted"
    assert sum(r.status in ("pending", "approved") for r in bot.requests()) <= 1
