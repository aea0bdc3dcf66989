"""The App Home view fits Slack's limits whatever the numbers, and shows what each person needs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sandbox.slack_blocks import check_view
from bot.services.home import ConfigSummary, HomeData, RequestItem, SessionItem
from bot.slack.home_blocks import home_view

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def sessions(n: int) -> tuple[SessionItem, ...]:
    return tuple(SessionItem(f"S-{i:06d}", "prod-aws", f"acct-{i}", NOW + timedelta(minutes=i), "alice@example.com")
                 for i in range(n))


def requests(n: int, requester: str = "UREQUESTER", reason: str = "INC-42") -> tuple[RequestItem, ...]:
    return tuple(RequestItem(f"R-{i:06d}", "prod-aws", f"acct-{i}", requester, 1800, reason, NOW, 1, 2)
                 for i in range(n))


def action_ids(view: dict) -> list[str]:
    ids = []
    for block in view["blocks"]:
        if block.get("accessory"):
            ids.append(block["accessory"]["action_id"])
        ids += [e["action_id"] for e in block.get("elements", []) if "action_id" in e]
    return ids


def test_empty_home_for_a_newcomer() -> None:
    view = home_view(HomeData(user_id="UREQUESTER"))
    check_view(view)
    text = json.dumps(view, ensure_ascii=False)
    assert "No active sessions" in text and "No requests waiting" in text
    assert action_ids(view) == ["pam_open_request"]
    assert "Waiting for your decision" not in text and "Configuration" not in text


def test_everything_at_once_still_fits() -> None:
    long_reason = "<!channel> & " + "x" * 5000
    data = HomeData(user_id="UADMIN01", sessions=sessions(10), sessions_total=200,
                    pending=requests(10, "UADMIN01", long_reason), pending_total=200,
                    to_approve=requests(10, reason=long_reason), to_approve_total=200,
                    config=ConfigSummary(resources=300, accounts=900, admins=4,
                                         resource_names=tuple(f"res-{i}" for i in range(20))))
    view = home_view(data)
    check_view(view)
    assert len(view["blocks"]) <= 100
    text = json.dumps(view, ensure_ascii=False)
    assert "…and 190 more" in text and text.count("…and 190 more") == 3
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp;" in text
    ids = action_ids(view)
    assert ids.count("pam_cancel") == 10 and ids.count("pam_approve") == 10 and ids.count("pam_deny") == 10
    assert "pam_open_admin" in ids and "<!date^" in text


def test_session_end_uses_slack_dates() -> None:
    view = home_view(HomeData(user_id="U1", sessions=sessions(1), sessions_total=1))
    (line,) = [b["text"]["text"] for b in view["blocks"] if "S-000000" in json.dumps(b)]
    assert f"<!date^{int(NOW.timestamp())}^" in line and "prod-aws/acct-0" in line


def test_oversized_lists_are_cut_not_refused() -> None:
    data = HomeData(user_id="U1", sessions=sessions(200), sessions_total=200, pending=requests(200),
                    pending_total=200, to_approve=requests(200), to_approve_total=200)
    view = home_view(data)
    check_view(view)
    assert len(view["blocks"]) == 100
    assert "There is more than fits here" in json.dumps(view["blocks"][-1], ensure_ascii=False)
