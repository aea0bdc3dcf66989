"""The driver's requests are signed like Slack's and shaped like Slack's payloads."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from sandbox.slack_api import SlackApiStandIn
from sandbox.slack_payloads import as_slack_sends
from sandbox.slack_driver import SlackDriver, checkboxes, conversations_select, users_select
from tests.fixtures_slack import SLACK_SIGNING_SECRET

pytest_plugins = ["tests.fixtures_slack"]

CARD = [{"type": "section", "block_id": "card", "text": {"type": "mrkdwn", "text": "alice wants prod"},
         "accessory": {"type": "button", "action_id": "deny", "value": "req-1", "style": "danger",
                       "text": {"type": "plain_text", "text": "Deny"}}}]


class Capture:
    """A WSGI app that keeps every request and answers 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {"content-type": environ.get("CONTENT_TYPE", ""),
                   "x-slack-request-timestamp": environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""),
                   "x-slack-signature": environ.get("HTTP_X_SLACK_SIGNATURE", "")}
        self.requests.append((headers, body))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"received": true}']

    def last_form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.requests[-1][1].decode()).items()}

    def last_payload(self) -> dict[str, Any]:
        return json.loads(self.last_form()["payload"])


@pytest.fixture
def capture() -> Capture:
    return Capture()


@pytest.fixture
def driver(capture: Capture, serve_wsgi_app: Callable[..., str], slack_api: SlackApiStandIn,
           slack_driver_for: Callable[..., SlackDriver]) -> SlackDriver:
    slack_api.add_user("U1", name="alice")
    slack_api.add_channel("C1")
    return slack_driver_for(serve_wsgi_app(capture))


def test_requests_are_signed_now_with_the_signing_secret(driver: SlackDriver, capture: Capture) -> None:
    answer = driver.command("U1", "help")
    headers, body = capture.requests[-1]
    assert answer.status == 200 and answer.json == {"received": True} and answer.elapsed > 0
    assert abs(int(headers["x-slack-request-timestamp"]) - time.time()) < 5
    assert headers["x-slack-signature"].startswith("v0=")
    assert SignatureVerifier(SLACK_SIGNING_SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)


def test_slash_command_form(driver: SlackDriver, capture: Capture, slack_api: SlackApiStandIn,
                            slack_web_client: WebClient) -> None:
    answer = driver.command("U1", "access prod-aws readonly", channel_id="C1")
    form = capture.last_form()
    assert capture.requests[-1][0]["content-type"] == "application/x-www-form-urlencoded"
    assert {k: form[k] for k in ("command", "text", "user_id", "user_name", "channel_id", "team_id")} == {
        "command": "/pam", "text": "access prod-aws readonly", "user_id": "U1", "user_name": "alice",
        "channel_id": "C1", "team_id": "T0PAM"}
    assert (form["trigger_id"], form["response_url"]) == (answer.trigger_id, answer.response_url)
    assert form["response_url"].startswith(slack_api.root_url)
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "pam"}, "blocks": []}
    assert slack_web_client.views_open(trigger_id=form["trigger_id"], view=modal)["ok"]


def test_click_carries_the_stored_message(driver: SlackDriver, capture: Capture,
                                          slack_web_client: WebClient) -> None:
    ts = slack_web_client.chat_postMessage(channel="C1", text="alice wants prod", blocks=CARD)["ts"]
    answer = driver.click("U2", "deny", "req-1", channel_id="C1", message_ts=ts)
    payload = capture.last_payload()
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U2"
    assert payload["container"] == {"type": "message", "message_ts": ts, "channel_id": "C1", "is_ephemeral": False}
    assert payload["channel"]["id"] == "C1" and payload["message"]["blocks"] == CARD
    assert payload["message"]["ts"] == ts and "channel" not in payload["message"]
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "deny", "card", "req-1", "button")
    assert action["text"]["text"] == "Deny" and action["style"] == "danger"
    assert (payload["trigger_id"], payload["response_url"]) == (answer.trigger_id, answer.response_url)


def test_message_click_needs_channel_and_ts(driver: SlackDriver) -> None:
    with pytest.raises(ValueError):
        driver.click("U1", "deny", "req-1")


def test_submission_echoes_the_opened_view(driver: SlackDriver, capture: Capture, slack_api: SlackApiStandIn,
                                           slack_web_client: WebClient) -> None:
    modal = {"type": "modal", "callback_id": "grant", "private_metadata": "req-9",
             "title": {"type": "plain_text", "text": "Grant"}, "blocks": [{"type": "divider"}]}
    view = slack_web_client.views_open(trigger_id=slack_api.issue_trigger_id(), view=modal)["view"]
    values = {"who": {"users": users_select(["U1", "U2"])}, "where": {"c": conversations_select("C1")},
              "flags": {"f": checkboxes(["revocable"])}}
    driver.submit_view("U1", "grant", values, view_id=view["id"])
    sent = capture.last_payload()["view"]
    assert (sent["id"], sent["hash"], sent["private_metadata"], sent["blocks"]) == (
        view["id"], view["hash"], "req-9", [{"type": "divider"}])
    assert sent["state"]["values"]["who"]["users"] == {"type": "multi_users_select", "selected_users": ["U1", "U2"]}
    assert sent["state"]["values"]["flags"]["f"]["selected_options"][0]["value"] == "revocable"
    driver.submit_view("U1", "grant", {}, view_id=view["id"], private_metadata="other")
    assert capture.last_payload()["view"]["private_metadata"] == "other"


def test_submission_of_an_unknown_view(driver: SlackDriver, capture: Capture) -> None:
    driver.submit_view("U1", "setup", {"b": {"a": users_select("U1")}})
    payload = capture.last_payload()
    assert payload["type"] == "view_submission" and payload["view"]["callback_id"] == "setup"
    assert payload["view"]["type"] == "modal" and payload["view"]["private_metadata"] == ""
    assert payload["view"]["state"]["values"] == {"b": {"a": {"type": "users_select", "selected_user": "U1"}}}


def test_app_home_opened_event(driver: SlackDriver, capture: Capture, slack_api: SlackApiStandIn,
                               slack_web_client: WebClient) -> None:
    driver.app_home_opened("U1")
    headers, body = capture.requests[-1]
    envelope = json.loads(body)
    assert headers["content-type"] == "application/json" and envelope["type"] == "event_callback"
    assert envelope["event"] == {**envelope["event"], "type": "app_home_opened", "user": "U1", "tab": "home"}
    assert "view" not in envelope["event"]
    assert envelope["authorizations"][0]["user_id"] == slack_api.bot_user_id
    slack_web_client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    driver.app_home_opened("U1")
    assert json.loads(capture.requests[-1][1])["event"]["view"]["type"] == "home"


@pytest.mark.parametrize(("typed", "escape", "sent"), [
    ("sessions @alice", True, "sessions <@UALICE|alice>"),
    ("sessions @alice", False, "sessions @alice"),
    ("access R&D ro <b> @alicex @bob", True, "access R&amp;D ro &lt;b&gt; @alicex @bob"),
    ("a &amp; b", True, "a &amp;amp; b"),
])
def test_command_text_as_slack_sends_it(typed: str, escape: bool, sent: str) -> None:
    assert as_slack_sends(typed, people={"alice": "UALICE"}, escape=escape) == sent
