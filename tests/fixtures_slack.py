"""Pytest fixtures for the Slack sandbox: the Web API stand-in, WSGI serving and a signed-request driver."""
# Use from any test module with `pytest_plugins = ["tests.fixtures_slack"]`.

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient

from sandbox.http import serve_wsgi
from sandbox.slack_api import SlackApiStandIn
from sandbox.slack_driver import SlackDriver

SLACK_BOT_TOKEN = "xoxb-pam-test-token"
SLACK_SIGNING_SECRET = "pam-test-signing-secret"

WsgiApp = Callable[..., Any]


@pytest.fixture
def slack_api() -> Iterator[SlackApiStandIn]:
    """A started Slack Web API stand-in accepting SLACK_BOT_TOKEN; stopped after the test."""
    with SlackApiStandIn(SLACK_BOT_TOKEN) as api:
        yield api


@pytest.fixture
def slack_web_client(slack_api: SlackApiStandIn) -> WebClient:
    """A real slack_sdk WebClient talking to the stand-in."""
    return WebClient(token=SLACK_BOT_TOKEN, base_url=slack_api.base_url, timeout=5)


@pytest.fixture
def serve_wsgi_app() -> Iterator[Callable[[WsgiApp], str]]:
    """`serve_wsgi_app(app) -> base URL`: serves a WSGI app on a free port until the test ends."""
    stops: list[Callable[[], None]] = []

    def serve(app: WsgiApp) -> str:
        url, stop = serve_wsgi(app)
        stops.append(stop)
        return url

    yield serve
    for stop in reversed(stops):
        stop()


@pytest.fixture
def slack_driver_for(slack_api: SlackApiStandIn) -> Callable[..., SlackDriver]:
    """`slack_driver_for(bot_url, signing_secret=SLACK_SIGNING_SECRET)`: a driver wired to the stand-in."""

    def make(bot_url: str, signing_secret: str = SLACK_SIGNING_SECRET) -> SlackDriver:
        return SlackDriver(bot_url, signing_secret, api=slack_api, team_id=slack_api.team_id)

    return make
