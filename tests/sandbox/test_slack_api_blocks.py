"""The stand-in refuses messages without top-level text and Block Kit payloads beyond Slack's limits."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_api import SlackApiStandIn

pytest_plugins = ["tests.fixtures_slack"]
sdk_warns_about_text = pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")


def section(text: str = "x", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(text: str = "Approve", action_id: str = "approve") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id, "value": "1"}


def select(option_text: str) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", "placeholder": {"type": "plain_text", "text": "Pick"},
            "options": [{"text": {"type": "plain_text", "text": option_text}, "value": "v"}]}


def header(text: str, kind: str = "plain_text") -> dict[str, Any]:
    return {"type": "header", "text": {"type": kind, "text": text}}


# (name, blocks at the limit, blocks one past it, json-pointer the refusal names)
LIMITS = [
    ("50 blocks per message", [section()] * 50, [section()] * 51, "/blocks]"),
    ("section text 3000", [section("a" * 3000)], [section("a" * 3001)], "/blocks/0/text/text"),
    ("header 150", [header("h" * 150)], [header("h" * 151)], "/blocks/0/text/text"),
    ("button text 75", [section(accessory=button("b" * 75))], [section(accessory=button("b" * 76))],
     "/blocks/0/accessory/text/text"),
    ("action_id 255", [{"type": "actions", "elements": [button(action_id="a" * 255)]}],
     [{"type": "actions", "elements": [button(action_id="a" * 256)]}], "/blocks/0/elements/0/action_id"),
    ("block_id 255", [section(block_id="b" * 255)], [section(block_id="b" * 256)], "/blocks/0/block_id"),
    ("option text 75", [section(accessory=select("o" * 75))], [section(accessory=select("o" * 76))],
     "/blocks/0/accessory/options/0/text/text"),
    ("header is plain_text", [header("ok")], [header("ok", kind="mrkdwn")], "/blocks/0/text/type"),
    ("text is not empty", [section("x")], [section("")], "/blocks/0/text/text"),
    ("block ids are unique", [section(block_id="a"), section(block_id="b")],
     [section(block_id="a"), section(block_id="a")], "/blocks/1/block_id"),
    ("action ids are unique in a block", [{"type": "actions", "elements": [button(), button(action_id="deny")]}],
     [{"type": "actions", "elements": [button(), button()]}], "/blocks/0/elements/1/action_id"),
    ("known block types", [{"type": "divider"}], [{"type": "sektion"}], "/blocks/0/type"),
    ("button url 3000", [{"type": "actions", "elements": [{**button(), "url": "https://x/" + "u" * 2990}]}],
     [{"type": "actions", "elements": [{**button(), "url": "https://x/" + "u" * 2991}]}],
     "/blocks/0/elements/0/url"),
    ("button style", [{"type": "actions", "elements": [{**button(), "style": "danger"}]}],
     [{"type": "actions", "elements": [{**button(), "style": "red"}]}], "/blocks/0/elements/0/style"),
]


@pytest.fixture
def channel(slack_api: SlackApiStandIn) -> str:
    slack_api.add_channel("C1")
    return "C1"


@pytest.mark.parametrize(("name", "fits", "too_much", "pointer"), LIMITS, ids=[row[0] for row in LIMITS])
def test_block_kit_limit(slack_web_client: WebClient, channel: str, name: str, fits: list[dict[str, Any]],
                         too_much: list[dict[str, Any]], pointer: str) -> None:
    assert slack_web_client.chat_postMessage(channel=channel, text="t", blocks=fits)["ok"] is True
    with pytest.raises(SlackApiError) as caught:
        slack_web_client.chat_postMessage(channel=channel, text="t", blocks=too_much)
    assert caught.value.response["error"] == "invalid_blocks"
    assert pointer in caught.value.response["errors"][0], caught.value.response["errors"]


def test_limits_apply_to_updates_too(slack_api: SlackApiStandIn, slack_web_client: WebClient, channel: str) -> None:
    ts = slack_web_client.chat_postMessage(channel=channel, text="t", blocks=[section()])["ts"]
    with pytest.raises(SlackApiError) as caught:
        slack_web_client.chat_update(channel=channel, ts=ts, text="t", blocks=[section("a" * 3001)])
    assert caught.value.response["error"] == "invalid_blocks"
    assert slack_api.messages(channel)[0]["blocks"] == [section()]


@sdk_warns_about_text
@pytest.mark.parametrize("text", [None, "", "   "])
def test_messages_need_top_level_text(slack_api: SlackApiStandIn, slack_web_client: WebClient, channel: str,
                                      text: str | None) -> None:
    with pytest.raises(SlackApiError) as caught:
        slack_web_client.chat_postMessage(channel=channel, text=text, blocks=[section()])
    assert caught.value.response["error"] == "no_text"
    assert slack_api.messages() == []


@sdk_warns_about_text
def test_updates_and_ephemerals_need_text(slack_api: SlackApiStandIn, slack_web_client: WebClient,
                                          channel: str) -> None:
    slack_api.add_user("U1", name="alice")
    ts = slack_web_client.chat_postMessage(channel=channel, text="t")["ts"]
    for call in (lambda: slack_web_client.chat_update(channel=channel, ts=ts, blocks=[section()]),
                 lambda: slack_web_client.chat_postEphemeral(channel=channel, user="U1", blocks=[section()])):
        with pytest.raises(SlackApiError) as caught:
            call()
        assert caught.value.response["error"] == "no_text"
