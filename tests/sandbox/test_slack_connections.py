"""The Slack stand-in keeps connections open as slack.com does (HTTP/1.1): a client's pool sends call after call
on one connection. A stand-in that closed each one would charge every call a new connection that Slack does not,
and could not show whether pam-bot keeps its connections."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from sandbox.slack_api import SlackApiStandIn
from tests.fixtures_slack import SLACK_BOT_TOKEN

pytest_plugins = ["tests.fixtures_slack"]


def connect(slack_api: SlackApiStandIn) -> http.client.HTTPConnection:
    address = urlsplit(slack_api.root_url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=5)
    connection.auto_open = False  # a connection the server closed stays closed: no silent reconnect
    connection.connect()
    return connection


def call(connection: http.client.HTTPConnection, method: str, **fields: str) -> dict[str, object]:
    connection.request("POST", f"/api/{method}", body=json.dumps(fields), headers={
        "Authorization": f"Bearer {SLACK_BOT_TOKEN}", "Content-Type": "application/json;charset=utf-8"})
    answer = connection.getresponse()
    assert answer.version == 11
    parsed: dict[str, object] = json.loads(answer.read())
    return parsed


def test_calls_on_one_connection_are_all_answered_on_it(slack_api: SlackApiStandIn) -> None:
    slack_api.add_channel("C1")
    connection = connect(slack_api)
    try:
        assert call(connection, "auth.test")["ok"]
        assert call(connection, "chat.postMessage", channel="C1", text="card")["ok"]
        assert call(connection, "chat.postMessage", channel="C404", text="card")["error"] == "channel_not_found"
        assert call(connection, "auth.test")["ok"]
    finally:
        connection.close()
    assert slack_api.connections == 1
    assert [c.method for c in slack_api.calls] == ["auth.test", "chat.postMessage", "chat.postMessage", "auth.test"]


def test_a_stopped_stand_in_answers_nothing_on_a_connection_kept_open(slack_api: SlackApiStandIn) -> None:
    connection = connect(slack_api)
    try:
        assert call(connection, "auth.test")["ok"]
        slack_api.stop()
        with pytest.raises((http.client.HTTPException, OSError)):
            call(connection, "auth.test")
    finally:
        connection.close()
