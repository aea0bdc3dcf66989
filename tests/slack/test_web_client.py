"""pam-bot's Slack client sends call after call on one kept-open connection (against slack.com each new one is a
TCP connection and a TLS handshake), and otherwise behaves as slack_sdk's: the same requests, its retry handlers,
its answers and errors, and a failure to reach Slack raised as urllib raises it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.error import URLError

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, \
    ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot.domain.errors import NotifyFailed
from bot.slack.notifier import slack_call
from bot.slack.web_client import PooledWebClient
from sandbox.slack_api import SlackApiStandIn
from tests.egress_proxy import egress_proxy
from tests.fixtures_slack import SLACK_BOT_TOKEN

pytest_plugins = ["tests.fixtures_slack"]
NO_WAIT = FixedValueRetryIntervalCalculator(0)


@pytest.fixture(autouse=True)
def workspace(slack_api: SlackApiStandIn) -> None:
    slack_api.add_channel("C1")
    slack_api.add_user("U1", name="alice", email="alice@example.com")


def pooled(slack_api: SlackApiStandIn, **kwargs: Any) -> PooledWebClient:
    return PooledWebClient(token=SLACK_BOT_TOKEN, base_url=slack_api.base_url, timeout=5, **kwargs)


def test_calls_share_one_kept_open_connection(slack_api: SlackApiStandIn) -> None:
    client = pooled(slack_api)
    assert client.users_info(user="U1")["user"]["name"] == "alice"
    before = slack_api.connections
    for _ in range(3):
        assert client.users_info(user="U1", include_locale=True)["ok"]  # a form body
        assert client.chat_postMessage(channel="C1", text="card", unfurl_links=False)["ok"]  # a JSON body
    assert slack_api.connections == before
    form = slack_api.calls_to("users.info")[-1]
    assert form.args == {"user": "U1", "include_locale": "1"}  # a bool as slack_sdk sends it in a form
    posted = slack_api.calls_to("chat.postMessage")[-1]
    assert (posted.args["text"], posted.args["unfurl_links"]) == ("card", False)


def test_slack_refusals_are_slack_sdk_errors(slack_api: SlackApiStandIn) -> None:
    client = pooled(slack_api)
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C404", text="card")
    assert refused.value.response.status_code == 200
    assert refused.value.response["error"] == "channel_not_found"
    with pytest.raises(NotifyFailed) as failed:
        slack_call(lambda: client.chat_postMessage(channel="C404", text="card"))
    assert (failed.value.code, failed.value.transient) == ("channel_not_found", False)


@pytest.mark.parametrize("kind", [WebClient, PooledWebClient])
def test_the_retry_handlers_apply_as_in_slack_sdk(slack_api: SlackApiStandIn, kind: type[WebClient]) -> None:
    def client(server_errors: int) -> WebClient:
        return kind(token=SLACK_BOT_TOKEN, base_url=slack_api.base_url, timeout=5, retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=server_errors, interval_calculator=NO_WAIT)])

    slack_api.fail_next("chat.postMessage", status=429, retry_after=0)
    slack_api.fail_next("chat.postMessage", status=503)
    assert client(2).chat_postMessage(channel="C1", text="card")["ok"]
    assert [c.http_status for c in slack_api.calls_to("chat.postMessage")] == [429, 503, 200]
    slack_api.fail_next("chat.postMessage", status=500, times=2)
    with pytest.raises(SlackApiError) as failed:
        client(1).chat_postMessage(channel="C1", text="card")
    assert failed.value.response.status_code == 500
    assert [c.http_status for c in slack_api.calls_to("chat.postMessage")[3:]] == [500, 500]


def test_a_rate_limit_left_to_the_caller_keeps_its_retry_after(slack_api: SlackApiStandIn) -> None:
    slack_api.fail_next("chat.update", status=429, retry_after=7)
    with pytest.raises(NotifyFailed) as failed:
        slack_call(lambda: pooled(slack_api).chat_update(channel="C1", ts="1.0", text="card"))
    assert (failed.value.code, failed.value.transient, failed.value.retry_after) == ("ratelimited", True, 7.0)


def test_slack_out_of_reach_fails_as_urllib_would(slack_api: SlackApiStandIn) -> None:
    client = pooled(slack_api, retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1,
                                                                           interval_calculator=NO_WAIT)])
    assert client.users_info(user="U1")["ok"]
    slack_api.stop()  # the kept connection ends, and nothing listens any more
    with pytest.raises(URLError):
        client.users_info(user="U1")
    with pytest.raises(NotifyFailed) as failed:
        slack_call(lambda: client.users_info(user="U1"))
    assert (failed.value.code, failed.value.transient) == ("slack_unreachable", True)


def test_a_slow_answer_is_a_timeout(slack_api: SlackApiStandIn) -> None:
    client = PooledWebClient(token=SLACK_BOT_TOKEN, base_url=slack_api.base_url, timeout=0.2)  # type: ignore[arg-type]
    slack_api.delay_next("users.info", 1.0)
    with pytest.raises(TimeoutError):
        client.users_info(user="U1")
    assert client.users_info(user="U1")["ok"]  # the next call gets a connection that is not waiting on that one


def test_a_proxy_the_environment_names_carries_the_call_unless_the_host_is_excluded(
        slack_api: SlackApiStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind an egress proxy (HTTPS_PROXY, or HTTP_PROXY for an http endpoint) the call goes through it, as
    botocore's does; NO_PROXY names the hosts reached directly (slack_sdk alone did not read it)."""
    client = pooled(slack_api)
    with egress_proxy(monkeypatch, b'{"ok": true, "user": {"id": "U1", "name": "via-the-proxy"}}') as relayed:
        assert client.users_info(user="U1")["user"]["name"] == "via-the-proxy"
        assert relayed == [f"{slack_api.base_url}users.info"]
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        assert client.users_info(user="U1")["user"]["name"] == "alice"
        assert len(relayed) == 1


def test_an_answer_that_is_not_json_is_a_refusal_to_try_again(serve_wsgi_app: Callable[..., str]) -> None:
    """A load balancer's error page between pam-bot and Slack: an error, as slack_sdk makes of it, not a crash."""
    def gateway(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("502 Bad Gateway", [("Content-Type", "text/html")])
        return [b"<html><body>502 Bad Gateway</body></html>"]

    client = PooledWebClient(token=SLACK_BOT_TOKEN, base_url=f"{serve_wsgi_app(gateway)}/api/", timeout=5)
    with pytest.raises(NotifyFailed) as failed:
        slack_call(lambda: client.chat_postMessage(channel="C1", text="card"))
    assert failed.value.transient
    assert isinstance(failed.value.__cause__, SlackApiError)
    assert failed.value.__cause__.response.status_code == 502
