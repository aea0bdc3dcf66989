"""The driver's signed requests reach a real Bolt app served over HTTP; forged or stale ones get 401."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from sandbox.slack_api import SlackApiStandIn
from sandbox.slack_driver import SlackDriver, plain_text_value, static_select
from tests.fixtures_slack import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET

pytest_plugins = ["tests.fixtures_slack"]

CARD = [{"type": "section", "block_id": "card", "text": {"type": "mrkdwn", "text": "alice wants prod"},
         "accessory": {"type": "button", "action_id": "approve", "value": "req-1",
                       "text": {"type": "plain_text", "text": "Approve"}, "style": "primary"}}]
PICKER = {"type": "modal", "callback_id": "reason", "title": {"type": "plain_text", "text": "Why?"},
          "submit": {"type": "plain_text", "text": "Send"}, "private_metadata": "req-1",
          "blocks": [{"type": "actions", "block_id": "more", "elements": [
              {"type": "button", "action_id": "more", "value": "1", "text": {"type": "plain_text", "text": "More"}}]}]}


def build_app(api: SlackApiStandIn, seen: list[dict[str, Any]]) -> App:
    """A small Bolt app whose listeners leave traces on the stand-in (or in `seen`, before acking)."""
    app = App(signing_secret=SLACK_SIGNING_SECRET, client=WebClient(token=SLACK_BOT_TOKEN, base_url=api.base_url))

    @app.command("/pam")
    def on_pam(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack(f"working on: {command['text']}")
        respond(f"done: {command['text']}")

    @app.action("approve")
    def on_approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=PICKER)

    @app.action("more")
    def on_more(ack: Ack, body: dict[str, Any]) -> None:
        seen.append(body)
        ack()

    @app.view("reason")
    def on_reason(ack: Ack, view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        ack(response_action="errors", errors={"why": f"{values['why']['text']['value']}/"
                                                     f"{values['env']['pick']['selected_option']['value']}/"
                                                     f"{view['private_metadata']}"})

    @app.event("app_home_opened")
    def on_home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": [{"type": "divider"}]})

    return app


@pytest.fixture
def seen() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def driver(slack_api: SlackApiStandIn, serve_wsgi_app: Callable[..., str],
           slack_driver_for: Callable[..., SlackDriver], seen: list[dict[str, Any]]) -> SlackDriver:
    slack_api.add_user("U1", name="alice", email="alice@example.com")
    slack_api.add_channel("C1", name="approvals")
    url = serve_wsgi_app(SlackRequestHandler(build_app(slack_api, seen)))
    return slack_driver_for(f"{url}/slack/events")


def test_bolt_checked_the_token_against_the_stand_in(driver: SlackDriver, slack_api: SlackApiStandIn) -> None:
    assert slack_api.calls_to("auth.test")[0].ok


def test_command_is_acked_and_response_url_reaches_the_stand_in(driver: SlackDriver,
                                                                slack_api: SlackApiStandIn) -> None:
    answer = driver.command("U1", "access prod-aws readonly 30m", channel_id="C1")
    assert (answer.status, answer.body) == (200, "working on: access prod-aws readonly 30m")
    assert answer.response_url is not None
    slack_api.wait_for("response_url", lambda c: c.args.get("text", "").startswith("done"))
    assert [c.args["text"] for c in slack_api.responses_to(answer.response_url)] == [
        "done: access prod-aws readonly 30m"]


def test_click_on_a_card_opens_a_modal_with_its_trigger(driver: SlackDriver, slack_api: SlackApiStandIn,
                                                        slack_web_client: WebClient) -> None:
    ts = slack_web_client.chat_postMessage(channel="C1", text="alice wants prod", blocks=CARD)["ts"]
    answer = driver.click("U2", "approve", "req-1", channel_id="C1", message_ts=ts)
    assert answer.status == 200
    opened = slack_api.wait_for("views.open", lambda c: c.args.get("trigger_id") == answer.trigger_id)
    assert opened.ok and opened.response["view"]["callback_id"] == "reason"


def test_click_inside_a_modal(driver: SlackDriver, slack_api: SlackApiStandIn,
                              seen: list[dict[str, Any]]) -> None:
    view = WebClient(token=SLACK_BOT_TOKEN, base_url=slack_api.base_url).views_open(
        trigger_id=slack_api.issue_trigger_id(), view=PICKER)["view"]
    assert driver.click("U1", "more", "1", view=view).status == 200
    (body,) = seen
    assert body["container"] == {"type": "view", "view_id": view["id"]}
    assert (body["actions"][0]["block_id"], body["view"]["private_metadata"]) == ("more", "req-1")


def test_view_submission_reaches_its_listener(driver: SlackDriver) -> None:
    values = {"why": {"text": plain_text_value("INC-42")}, "env": {"pick": static_select("prod")}}
    answer = driver.submit_view("U1", "reason", values, private_metadata="req-7")
    assert answer.status == 200
    assert answer.json == {"response_action": "errors", "errors": {"why": "INC-42/prod/req-7"}}


def test_app_home_opened_publishes_the_home_tab(driver: SlackDriver, slack_api: SlackApiStandIn) -> None:
    assert driver.app_home_opened("U1").status == 200
    slack_api.wait_for("views.publish", lambda c: c.args.get("user_id") == "U1")
    assert slack_api.published_views["U1"]["type"] == "home"


def _command_body(api: SlackApiStandIn) -> bytes:
    return urlencode({"team_id": "T0PAM", "user_id": "U1", "command": "/pam", "text": "help", "channel_id": "C1",
                      "trigger_id": "1.2.3", "response_url": api.response_url_for("raw")}).encode()


def test_raw_body_with_the_right_secret_is_accepted(driver: SlackDriver, slack_api: SlackApiStandIn) -> None:
    assert driver.post_raw(_command_body(slack_api), "application/x-www-form-urlencoded").status == 200
    assert slack_api.wait_for("response_url").args["text"] == "done: help"


@pytest.mark.parametrize("forge", [
    {"secret": "not-the-signing-secret"},
    {"timestamp": int(time.time()) - 6 * 60},
    {"signed": False},
], ids=["wrong secret", "six minutes old", "unsigned"])
def test_forged_or_stale_requests_are_refused(driver: SlackDriver, slack_api: SlackApiStandIn,
                                              forge: dict[str, Any]) -> None:
    answer = driver.post_raw(_command_body(slack_api), "application/x-www-form-urlencoded", **forge)
    assert answer.status == 401
    assert slack_api.calls_to("response_url") == []


def test_wrong_secret_on_a_driver_gets_401(serve_wsgi_app: Callable[..., str], slack_api: SlackApiStandIn,
                                           seen: list[dict[str, Any]]) -> None:
    url = serve_wsgi_app(SlackRequestHandler(build_app(slack_api, seen)))
    impostor = SlackDriver(f"{url}/slack/events", "guessed-secret", api=slack_api)
    assert impostor.command("U1", "help").status == 401
    assert impostor.app_home_opened("U1").status == 401
