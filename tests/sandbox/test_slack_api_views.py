"""Views on the stand-in: trigger ids are single use for 3 s, modals and Home tabs respect Block Kit limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_api import SlackApiStandIn
from tests.fixtures_slack import SLACK_BOT_TOKEN

pytest_plugins = ["tests.fixtures_slack"]


class ManualClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def modal(title: str = "Request access", blocks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "callback_id": "request", "title": {"type": "plain_text", "text": title},
            "blocks": blocks or [], **extra}


def divider_blocks(count: int) -> list[dict[str, Any]]:
    return [{"type": "divider"}] * count


def error_of(call: Callable[[], Any]) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return str(caught.value.response["error"])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def api(clock: ManualClock) -> Iterator[SlackApiStandIn]:
    with SlackApiStandIn(SLACK_BOT_TOKEN, clock=clock) as stand_in:
        stand_in.add_user("U1", name="alice")
        yield stand_in


@pytest.fixture
def client(api: SlackApiStandIn) -> WebClient:
    return WebClient(token=SLACK_BOT_TOKEN, base_url=api.base_url)


def test_trigger_id_opens_one_modal(api: SlackApiStandIn, client: WebClient) -> None:
    trigger = api.issue_trigger_id()
    view = client.views_open(trigger_id=trigger, view=modal(private_metadata="req-1"))["view"]
    assert view["id"] in api.views and view["private_metadata"] == "req-1" and view["hash"]
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=modal())) == "invalid_trigger_id"


def test_unknown_trigger_id(client: WebClient) -> None:
    assert error_of(lambda: client.views_open(trigger_id="123.456.forged", view=modal())) == "invalid_trigger_id"


def test_trigger_id_expires_after_three_seconds(api: SlackApiStandIn, client: WebClient, clock: ManualClock) -> None:
    fresh, stale = api.issue_trigger_id(), api.issue_trigger_id()
    clock.now += 2.9
    assert client.views_open(trigger_id=fresh, view=modal())["ok"] is True
    clock.now += 0.2
    assert error_of(lambda: client.views_open(trigger_id=stale, view=modal())) == "expired_trigger_id"


def test_push_consumes_a_trigger_too(api: SlackApiStandIn, client: WebClient) -> None:
    trigger = api.issue_trigger_id()
    assert client.views_push(trigger_id=trigger, view=modal("Details"))["ok"] is True
    assert error_of(lambda: client.views_push(trigger_id=trigger, view=modal())) == "invalid_trigger_id"


def test_invalid_view_keeps_the_trigger_unused(api: SlackApiStandIn, client: WebClient) -> None:
    trigger = api.issue_trigger_id()
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=modal("t" * 25))) == "invalid_blocks"
    assert client.views_open(trigger_id=trigger, view=modal("t" * 24))["ok"] is True


@pytest.mark.parametrize(("view", "pointer"), [
    (modal("t" * 25), "/view/title/text"),
    (modal(blocks=divider_blocks(101)), "/view/blocks]"),
    (modal(blocks=[{"type": "input", "label": {"type": "plain_text", "text": "Reason"},
                    "element": {"type": "plain_text_input", "action_id": "reason"}}]), "/view/submit"),
    (modal(submit={"type": "plain_text", "text": "s" * 25}), "/view/submit/text"),
    (modal(private_metadata="m" * 3001), "/view/private_metadata"),
    (modal(callback_id="c" * 256), "/view/callback_id"),
])
def test_modal_limits(api: SlackApiStandIn, client: WebClient, view: dict[str, Any], pointer: str) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.views_open(trigger_id=api.issue_trigger_id(), view=view)
    assert caught.value.response["error"] == "invalid_blocks"
    assert pointer in caught.value.response["errors"][0]


def test_modal_of_one_hundred_blocks_fits(api: SlackApiStandIn, client: WebClient) -> None:
    assert client.views_open(trigger_id=api.issue_trigger_id(), view=modal(blocks=divider_blocks(100)))["ok"]


def test_update_checks_hash_and_keeps_the_id(api: SlackApiStandIn, client: WebClient) -> None:
    opened = client.views_open(trigger_id=api.issue_trigger_id(), view=modal())["view"]
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Done"))["view"]
    assert updated["id"] == opened["id"] and api.views[opened["id"]]["title"]["text"] == "Done"
    stale = lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal())  # noqa: E731
    assert error_of(stale) == "hash_conflict"
    assert error_of(lambda: client.views_update(view_id="V404", view=modal())) == "not_found"


def test_publish_home_per_user(api: SlackApiStandIn, client: WebClient) -> None:
    home = {"type": "home", "blocks": divider_blocks(100)}
    first = client.views_publish(user_id="U1", view=home)["view"]
    again = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["view"]
    assert first["id"] == again["id"] and api.published_views["U1"]["blocks"] == []
    too_big = {"type": "home", "blocks": divider_blocks(101)}
    assert error_of(lambda: client.views_publish(user_id="U1", view=too_big)) == "invalid_blocks"
    assert error_of(lambda: client.views_publish(user_id="U404", view=home)) == "user_not_found"
    assert error_of(lambda: client.views_publish(user_id="U1", view=modal())) == "invalid_arguments"
