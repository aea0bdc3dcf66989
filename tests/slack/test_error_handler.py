"""The one error handler: domain errors read as themselves, anything else as a reference that is in the log."""

from __future__ import annotations

import json
import logging
import re

import pytest
from slack_sdk import WebClient
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.domain.errors import NotAllowed
from sandbox.slack_api import SlackApiStandIn
from bot.slack.errors import handle_error


def test_domain_error_is_shown_as_is(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.add_user("U1", name="alice")
    handle_error(NotAllowed("You are not an approver for prod/ro."), {"user": {"id": "U1"}}, slack_web_client)
    (dm,) = slack_api.dms_to("U1")
    assert "You are not an approver for prod/ro." in json.dumps(dm.args)


def test_unexpected_error_gets_a_reference_that_is_also_logged(
        slack_api: SlackApiStandIn, slack_web_client: WebClient, caplog: pytest.LogCaptureFixture) -> None:
    slack_api.add_user("U1", name="alice")
    slack_api.add_channel("C1")
    with caplog.at_level(logging.ERROR):
        handle_error(RuntimeError("database exploded at 0xdead"), {"user": {"id": "U1"}, "channel": {"id": "C1"}},
                     slack_web_client)
    (call,) = slack_api.ephemerals_to("U1")
    shown = json.dumps(call.args)
    ref = re.search(r"ref ([0-9a-f]{8})", shown)
    assert ref is not None
    assert "0xdead" not in shown and "Traceback" not in shown
    assert any(ref.group(1) in record.getMessage() for record in caplog.records)


def test_pool_timeout_reads_as_a_lost_database(
        slack_api: SlackApiStandIn, slack_web_client: WebClient, caplog: pytest.LogCaptureFixture) -> None:
    # The pool's TimeoutError, unlike OperationalError, has no driver error under it (`orig`).
    slack_api.add_user("U1", name="alice")
    with caplog.at_level(logging.ERROR):
        handle_error(PoolTimeout("QueuePool limit of size 5 overflow 10 reached"), {"user": {"id": "U1"}},
                     slack_web_client)
    (dm,) = slack_api.dms_to("U1")
    shown = json.dumps(dm.args)
    assert "lost its database connection" in shown and "QueuePool" not in shown
    ref = re.search(r"ref ([0-9a-f]{8})", shown)
    assert ref is not None
    assert any(ref.group(1) in r.getMessage() and "TimeoutError" in r.getMessage() for r in caplog.records)
