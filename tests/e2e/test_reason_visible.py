"""A reason must show something: whitespace, zero-width and format characters alone are no reason."""

from __future__ import annotations

import json

import pytest

from sandbox.slack_payloads import plain_text_value, static_select
from tests.e2e.helpers import wait_ephemeral
from tests.fixtures_bot import REQUESTER, Bot

INVISIBLE = ["\u200b", "\u200b \u2060\u00ad", "\t\n\u3000\u2028", "\u0301\u0301", "\ufeff\u200d", "\u3164\u2800"]


@pytest.mark.parametrize("reason", INVISIBLE)
def test_an_invisible_reason_is_no_reason_on_the_slash_command(bot: Bot, reason: str) -> None:
    bot.add_account(require_reason=True)
    assert bot.driver.command(REQUESTER, f"access prod-aws readonly 30m {reason}").status == 200
    opened = bot.slack.wait_for("views.open")
    assert "needs a reason" in json.dumps(opened.args) and not bot.requests()


@pytest.mark.parametrize(("reason", "accepted"), [(r, False) for r in INVISIBLE] + [("ok\u200b", True)])
def test_an_invisible_reason_is_a_field_error_in_the_request_modal(bot: Bot, reason: str, accepted: bool) -> None:
    bot.add_account(require_reason=True)
    response = bot.driver.submit_view(REQUESTER, "pam_request_modal", {
        "account": {"value": static_select("prod-aws/readonly")}, "duration": {"value": plain_text_value("30m")},
        "reason": {"value": plain_text_value(reason)}})
    assert response.status == 200
    if accepted:
        assert not response.body.strip()
        bot.slack.wait_for("chat.postMessage", lambda c: "is waiting for approval" in json.dumps(c.args))
        return
    assert response.json is not None and set(response.json["errors"]) == {"reason"}
    assert "needs a reason" in response.json["errors"]["reason"] and not bot.requests()
    assert bot.audit("request.create") == []  # a modal check writes nothing; the person fixes the field


def test_a_nul_character_in_typed_text_is_dropped_not_a_database_error(bot: Bot) -> None:
    """PostgreSQL text cannot hold NUL: the reason is stored without it instead of failing the request."""
    bot.add_account()
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m INC\x00-42")
    wait_ephemeral(bot.slack, "is waiting for approval")
    assert bot.requests()[-1].reason == "INC-42"
