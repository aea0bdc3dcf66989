"""Which requests the web path only records (the worker checks their sender) and which the front acts on first."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.ids import Action, View
from bot.slack.listeners import actions, admin
from bot.slack.recording import FORMS_CHECKED_FIRST, WORKING_FIRST, records_only


def command(text: str, name: str = "/pam") -> dict[str, Any]:
    return {"command": name, "text": text, "user_id": "U1", "team_id": "T1"}


def click(action: Action | str) -> dict[str, Any]:
    value = action.value if isinstance(action, Action) else action
    return {"type": "block_actions", "actions": [{"action_id": value, "value": "R-1"}]}


def submission(view: View | str) -> dict[str, Any]:
    return {"type": "view_submission", "view": {"callback_id": view.value if isinstance(view, View) else view}}


@pytest.mark.parametrize("body", [
    command("access prod-aws readonly 30m INC-42 is on fire"), command("break-glass prod-aws admin 15m outage"),
    command("help"), command("list"), command("sessions"), command("revoke S-HJ955A"), command("cancel R-HJ955A"),
    command("anything", name="/other"), click(Action.APPROVE), click("pam_made_up"),
    submission("pam_made_up"), {"type": "event_callback", "event": {"type": "app_home_opened"}},
])
def test_requests_the_front_only_records(body: dict[str, Any]) -> None:
    assert records_only(body)


@pytest.mark.parametrize("body", [
    command("admin"), command("setup"), command("access prod-aws readonly"),  # a form may open: reason wanted
    command("frobnicate"),  # the front's own answer: not a command
    *[click(a) for a in (*actions.front_clicks(), *admin.front_clicks(), *WORKING_FIRST)],
    *[submission(v) for v in (*FORMS_CHECKED_FIRST, *admin.front_views())],
    {"type": "url_verification", "challenge": "x"}, {"ssl_check": "1"}, {},
])
def test_requests_the_front_acts_on_before_its_ack(body: dict[str, Any]) -> None:
    """These have their sender checked at the edge, before a modal opens or a form is answered."""
    assert not records_only(body)


def test_the_front_acts_on_the_request_form_and_the_admin_confirmations() -> None:
    assert {View.REQUEST, View.RESOURCE, View.ACCOUNT, View.CONFIRM_REMOVE, View.ADMINS} <= {
        *FORMS_CHECKED_FIRST, *admin.front_views()}
    assert {Action.DENY, Action.OPEN_REQUEST, Action.OPEN_ADMIN} <= {*actions.front_clicks(), *admin.front_clicks()}
