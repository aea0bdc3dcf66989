"""Console links: target-role credentials through getSigninToken (no SessionDuration), then the login URL."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit
from urllib.request import urlopen

import pytest

from bot.aws import federation as fed
from bot.aws.broker import AwsBroker
from bot.domain.errors import AwsError
from sandbox.federation import FederationStub
from sandbox.http import serve_wsgi
from bot.services.ports import Grant
from tests.egress_proxy import egress_proxy
from tests.fixtures_aws import RoleChain


def grant_for(broker: AwsBroker, chain: RoleChain) -> Grant:
    return broker.grant(resource_role_arn=chain.resource_role_arn, target_role_arn=chain.target_role_arn,
                        session_name="alice@example.com", duration_seconds=900)


def test_the_link_signs_in_to_the_console_as_the_target_role(broker: AwsBroker, federation: FederationStub,
                                                             role_chain: RoleChain) -> None:
    grant = grant_for(broker, role_chain)
    link = broker.console_link(grant)
    parts = urlsplit(link)
    assert link.startswith(federation.url + "?")
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert query["Action"] == "login" and query["Issuer"]
    assert query["Destination"] == "https://console.aws.amazon.com/"
    assert federation.role_for_token(query["SigninToken"]) == role_chain.target_role_arn
    exchange = federation.calls("getSigninToken")[-1]
    assert exchange.status == 200 and exchange.session_duration_sent is False
    assert exchange.access_key_id == grant.credentials.access_key_id
    assert exchange.role_arn == role_chain.target_role_arn
    with urlopen(link, timeout=5) as response:
        assert response.status == 200


@pytest.mark.parametrize(("partition", "signin_url", "expected"), [
    ("aws", None, "https://signin.aws.amazon.com/federation"),
    ("aws-us-gov", None, "https://signin.amazonaws-us-gov.com/federation"),
    ("aws-cn", None, "https://signin.amazonaws.cn/federation"),
    ("aws-cn", "https://proxy.example.com", "https://proxy.example.com/federation"),
    ("aws", "https://proxy.example.com/", "https://proxy.example.com/federation"),
    ("aws", "http://127.0.0.1:9000/federation", "http://127.0.0.1:9000/federation"),
])
def test_the_federation_endpoint_follows_the_partition_unless_overridden(partition: str, signin_url: str | None,
                                                                         expected: str) -> None:
    assert fed.federation_endpoint(partition, signin_url) == expected


def test_the_destination_is_the_partitions_console(broker: AwsBroker, federation: FederationStub,
                                                   role_chain: RoleChain) -> None:
    grant = grant_for(broker, role_chain)
    link = fed.console_link(grant.credentials, partition="aws-us-gov", signin_url=federation.url)
    query = parse_qs(urlsplit(link).query)
    assert query["Destination"] == ["https://console.amazonaws-us-gov.com/"]


def secrets_of(grant: Grant) -> list[str]:
    return [grant.credentials.secret_access_key, grant.credentials.session_token]


def assert_clean(error: AwsError, grant: Grant) -> None:
    text = f"{error.user_message} {error.detail} {error!r} {error.__cause__!r} {error.__context__!r}"
    for secret in secrets_of(grant):
        assert secret not in text
    assert error.__cause__ is None


def test_a_federation_outage_is_a_clear_aws_error_without_secrets(broker: AwsBroker, federation: FederationStub,
                                                                  role_chain: RoleChain) -> None:
    grant = grant_for(broker, role_chain)
    federation.set_down(True)
    with pytest.raises(AwsError) as caught:
        broker.console_link(grant)
    assert caught.value.code == "FederationFailed"
    assert "503" in caught.value.user_message and "sign-in" in caught.value.user_message
    assert_clean(caught.value, grant)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_federation_endpoint_is_a_clear_aws_error(make_broker: Callable[..., AwsBroker],
                                                                 role_chain: RoleChain) -> None:
    broker = make_broker(signin_url=f"http://127.0.0.1:{closed_port()}/federation")
    grant = grant_for(broker, role_chain)
    with pytest.raises(AwsError) as caught:
        broker.console_link(grant)
    assert caught.value.code == "FederationFailed"
    assert_clean(caught.value, grant)


def garbage(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<html>captive portal</html>"]


def test_an_answer_without_a_token_is_a_clear_aws_error(make_broker: Callable[..., AwsBroker],
                                                        role_chain: RoleChain) -> None:
    url, stop = serve_wsgi(garbage)
    try:
        broker = make_broker(signin_url=f"{url}/federation")
        grant = grant_for(broker, role_chain)
        with pytest.raises(AwsError) as caught:
            broker.console_link(grant)
    finally:
        stop()
    assert caught.value.code == "FederationFailed" and "no SigninToken" in caught.value.user_message
    assert_clean(caught.value, grant)


def test_the_token_is_asked_for_by_post_with_the_credentials_out_of_the_url(broker: AwsBroker,
                                                                           federation: FederationStub,
                                                                           role_chain: RoleChain) -> None:
    broker.console_link(grant_for(broker, role_chain))
    exchange = federation.calls("getSigninToken")[-1]
    assert (exchange.method, exchange.secrets_in_query, exchange.status) == ("POST", False, 200)


def test_the_issuer_is_an_https_url_and_can_be_chosen(broker: AwsBroker, federation: FederationStub,
                                                      role_chain: RoleChain) -> None:
    grant = grant_for(broker, role_chain)
    default = parse_qs(urlsplit(broker.console_link(grant)).query)["Issuer"][0]
    assert default.startswith("https://")
    chosen = fed.console_link(grant.credentials, partition="aws", signin_url=federation.url,
                              issuer="https://pam.example.com/")
    assert parse_qs(urlsplit(chosen).query)["Issuer"] == ["https://pam.example.com/"]


def test_transient_5xx_and_timeouts_are_retried_with_a_short_bounded_backoff(
        broker: AwsBroker, federation: FederationStub, role_chain: RoleChain) -> None:
    grant = grant_for(broker, role_chain)
    federation.fail_next(2, status=503)
    federation.stall_next(1.0)
    slept: list[float] = []
    link = fed.console_link(grant.credentials, partition="aws", signin_url=federation.url, timeout=0.3,
                            sleep=slept.append)
    assert federation.role_for_token(parse_qs(urlsplit(link).query)["SigninToken"][0]) == role_chain.target_role_arn
    assert len(slept) == 3 and slept == sorted(slept) and sum(slept) < 5


def test_a_lasting_outage_gives_up_after_a_few_seconds_of_backoff(broker: AwsBroker, federation: FederationStub,
                                                                  role_chain: RoleChain) -> None:
    grant = grant_for(broker, role_chain)
    federation.fail_next(20, status=500)
    slept: list[float] = []
    with pytest.raises(AwsError) as caught:
        fed.console_link(grant.credentials, partition="aws", signin_url=federation.url, sleep=slept.append)
    assert caught.value.code == "FederationFailed" and "500" in caught.value.user_message
    assert 1 <= len(slept) <= 5 and sum(slept) < 10
    assert_clean(caught.value, grant)


def test_a_refusal_is_not_retried(broker: AwsBroker, federation: FederationStub, role_chain: RoleChain) -> None:
    grant = grant_for(broker, role_chain)
    federation.fail_next(1, status=400)
    slept: list[float] = []
    with pytest.raises(AwsError):
        fed.console_link(grant.credentials, partition="aws", signin_url=federation.url, sleep=slept.append)
    assert slept == []


def test_redirects_are_not_followed_with_the_credentials(broker: AwsBroker, federation: FederationStub,
                                                         role_chain: RoleChain) -> None:
    reached: list[str] = []

    def elsewhere(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        reached.append(environ.get("QUERY_STRING", "") + environ["wsgi.input"].read(
            int(environ.get("CONTENT_LENGTH") or 0)).decode())
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"SigninToken": "stolen"}']

    url, stop = serve_wsgi(elsewhere)
    grant = grant_for(broker, role_chain)
    try:
        for status in (301, 302, 307, 308):
            federation.redirect_next(f"{url}/federation", status=status)
            with pytest.raises(AwsError) as caught:
                fed.console_link(grant.credentials, partition="aws", signin_url=federation.url, sleep=lambda s: None)
            assert caught.value.code == "FederationFailed" and "redirect" in caught.value.user_message
    finally:
        stop()
    assert reached == []


def test_links_share_one_connection_that_still_refuses_redirects(broker: AwsBroker, federation: FederationStub,
                                                               role_chain: RoleChain) -> None:
    """Against AWS each new connection to the sign-in host is a TLS handshake: one link after another travel on
    one kept-open connection (the pool is the process's), and that pool still follows no redirect."""
    grant = grant_for(broker, role_chain)
    broker.console_link(grant)
    before = federation.connections
    links = [broker.console_link(grant) for _ in range(3)]
    assert all(link.startswith(federation.url + "?") for link in links)
    assert federation.connections == before
    federation.redirect_next(f"{federation.url}/elsewhere", status=302)
    with pytest.raises(AwsError, match="redirect"):
        fed.console_link(grant.credentials, partition="aws", signin_url=federation.url, sleep=lambda s: None)


def test_a_proxy_the_environment_names_carries_the_call_unless_the_host_is_excluded(
        broker: AwsBroker, federation: FederationStub, role_chain: RoleChain,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind an egress proxy (HTTPS_PROXY, or HTTP_PROXY for an http endpoint), the call goes through it, as
    botocore's and pam-bot's Slack calls do; NO_PROXY names the hosts reached directly."""
    grant = grant_for(broker, role_chain)
    with egress_proxy(monkeypatch, b'{"SigninToken": "through-the-proxy"}') as relayed:
        assert "SigninToken=through-the-proxy" in broker.console_link(grant)
        assert relayed == [federation.url]
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        assert "SigninToken=through-the-proxy" not in broker.console_link(grant)
        assert len(relayed) == 1
