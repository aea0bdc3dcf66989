"""A busy process: the listener for a click starts after Bolt's 3 s. Its ack still answers; the click is
handled once, by its own listener, never also by the unknown-button fallback."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest

from bot.slack.ids import Action, View, other_than
from tests.e2e.helpers import ephemeral_texts, wait_dm
from tests.e2e.test_access_flow import ask, click, wait_status
from tests.fixtures_bot import APPROVER, REQUESTER, Bot

LATE = 3.5  # seconds before the listener starts: past Bolt's own ack_timeout of 3 s


def test_a_late_listener_still_answers_and_nothing_falls_through(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    bot.add_account()
    ref = ask(bot)
    pool = bot.container.executor
    submit = pool.submit

    def late(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return submit(lambda: (time.sleep(LATE), fn(*args, **kwargs))[1])

    monkeypatch.setattr(pool, "submit", late)
    started = time.monotonic()
    click(bot, APPROVER, "pam_approve", ref)  # asserts HTTP 200: the late ack, not Bolt's "unhandled" 404
    assert time.monotonic() - started >= LATE

    wait_dm(bot.slack, REQUESTER, "Open AWS Console")
    wait_status(bot, ref, "granted")
    assert [e.target for e in bot.audit("request.approve")] == [ref]
    assert bot.audit("slack.unknown_action") == []
    assert not any("not one pam-bot knows" in text for text in ephemeral_texts(bot.slack))


@pytest.mark.parametrize("known", [Action, View])
def test_fallbacks_match_only_ids_nobody_else_handles(known: type[Action] | type[View]) -> None:
    pattern = other_than(known)
    assert not any(pattern.search(item.value) for item in known)
    assert all(pattern.search(other) for other in ("pam_approve_v0", "x", "", f"old_{next(iter(known)).value}"))
