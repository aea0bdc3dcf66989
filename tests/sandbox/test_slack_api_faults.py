"""Faults on demand: 429 with Retry-After, 500/503, `ok: false` errors and slow answers, all recorded."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from sandbox.slack_api import SlackApiStandIn
from tests.fixtures_slack import SLACK_BOT_TOKEN

pytest_plugins = ["tests.fixtures_slack"]


@pytest.fixture(autouse=True)
def approvals_channel(slack_api: SlackApiStandIn) -> None:
    slack_api.add_channel("C1")


def test_rate_limit_is_retried_by_the_sdk_handler(slack_api: SlackApiStandIn) -> None:
    slack_api.fail_next("chat.postMessage", status=429, retry_after=0)
    client = WebClient(token=SLACK_BOT_TOKEN, base_url=slack_api.base_url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    assert client.chat_postMessage(channel="C1", text="card")["ok"] is True
    attempts = slack_api.calls_to("chat.postMessage")
    assert [(c.http_status, c.error) for c in attempts] == [(429, "ratelimited"), (200, None)]
    assert attempts[0].args == attempts[1].args == {"channel": "C1", "text": "card"}
    assert len(slack_api.messages("C1")) == 1


def test_rate_limit_without_handler_raises_with_retry_after(slack_api: SlackApiStandIn,
                                                            slack_web_client: WebClient) -> None:
    slack_api.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        slack_web_client.chat_postMessage(channel="C1", text="card")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert slack_api.messages() == []


def test_server_error_is_retried_by_the_sdk_handler(slack_api: SlackApiStandIn) -> None:
    slack_api.fail_next("chat.update", status=500)
    slack_api.fail_next("chat.postMessage", status=503)
    retry = ServerErrorRetryHandler(max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.01))
    client = WebClient(token=SLACK_BOT_TOKEN, base_url=slack_api.base_url, retry_handlers=[retry])
    ts = client.chat_postMessage(channel="C1", text="card")["ts"]
    assert client.chat_update(channel="C1", ts=ts, text="approved")["ok"] is True
    assert [c.http_status for c in slack_api.calls] == [503, 200, 500, 200]


def test_server_error_without_handler_raises(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.fail_next("users.info", status=500)
    with pytest.raises(SlackApiError) as caught:
        slack_web_client.users_info(user=slack_api.bot_user_id)
    assert caught.value.response.status_code == 500


def test_ok_false_raises_slack_api_error_with_that_error(slack_api: SlackApiStandIn,
                                                         slack_web_client: WebClient) -> None:
    slack_api.fail_next("chat.postMessage", error="not_in_channel", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            slack_web_client.chat_postMessage(channel="C1", text="card")
        assert caught.value.response["error"] == "not_in_channel"
    assert slack_web_client.chat_postMessage(channel="C1", text="card")["ok"] is True
    assert [c.error for c in slack_api.calls_to("chat.postMessage")] == ["not_in_channel", "not_in_channel", None]


def test_faults_only_hit_their_method(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.fail_next("users.info", error="user_not_found")
    assert slack_web_client.chat_postMessage(channel="C1", text="card")["ok"] is True
    assert slack_api.calls_to("users.info") == []


def test_fail_next_needs_a_status_or_an_error(slack_api: SlackApiStandIn) -> None:
    with pytest.raises(ValueError):
        slack_api.fail_next("chat.postMessage")


def test_delay_makes_a_short_client_timeout_fire(slack_api: SlackApiStandIn) -> None:
    slack_api.delay_next("chat.postMessage", 0.6)
    impatient = WebClient(token=SLACK_BOT_TOKEN, base_url=slack_api.base_url, timeout=0.2)
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="C1", text="slow")
    late = slack_api.wait_for("chat.postMessage", timeout=2)
    assert late.ok  # Slack did the work even though the client gave up
    started = time.monotonic()
    assert impatient.chat_postMessage(channel="C1", text="fast")["ok"] is True
    assert time.monotonic() - started < 0.5  # well under the 0.6 s delay: it applied once only


def test_delay_combines_with_a_failure(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.delay_next("auth.test", 0.1)
    slack_api.fail_next("auth.test", status=503)
    started = time.monotonic()
    with pytest.raises(SlackApiError):
        slack_web_client.auth_test()
    assert time.monotonic() - started >= 0.1
    assert slack_api.calls_to("auth.test")[0].http_status == 503


def test_stop_wakes_a_delayed_answer() -> None:
    api = SlackApiStandIn(SLACK_BOT_TOKEN).start()
    api.delay_next("auth.test", 30)
    impatient = WebClient(token=SLACK_BOT_TOKEN, base_url=api.base_url, timeout=0.1)
    with pytest.raises(TimeoutError):
        impatient.auth_test()
    started = time.monotonic()
    api.stop()
    assert api.wait_for("auth.test", timeout=5).ok  # the sleeping request was woken, answered and recorded
    assert time.monotonic() - started < 5
