"""The federation stub hands out sign-in tokens only for live role sessions, and never for SessionDuration."""

from __future__ import annotations

import json
from http.client import HTTPConnection
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

import pytest

from sandbox.aws import AwsSandbox
from sandbox.federation import FederationStub
from tests.fixtures_aws import BotIdentity, RoleChain, client


def get(url: str, **params: str) -> tuple[int, bytes]:
    try:
        with urlopen(f"{url}?{urlencode(params)}", timeout=5) as response:
            return response.status, response.read()
    except HTTPError as error:
        with error:
            return error.code, error.read()


def session(found: dict[str, str]) -> str:
    return json.dumps({"sessionId": found["AccessKeyId"], "sessionKey": found["SecretAccessKey"],
                       "sessionToken": found["SessionToken"]})


@pytest.fixture
def target_credentials(aws_sandbox: AwsSandbox, bot_identity: BotIdentity, role_chain: RoleChain) -> dict[str, Any]:
    bot = client(aws_sandbox, "sts", bot_identity.access_key_id, bot_identity.secret_access_key)
    hop1 = bot.assume_role(RoleArn=role_chain.resource_role_arn, RoleSessionName="alice",
                           ExternalId=role_chain.external_id)["Credentials"]
    sts = client(aws_sandbox, "sts", hop1["AccessKeyId"], hop1["SecretAccessKey"], hop1["SessionToken"])
    found: dict[str, Any] = sts.assume_role(RoleArn=role_chain.target_role_arn, RoleSessionName="alice",
                                            ExternalId=role_chain.external_id)["Credentials"]
    return found


def test_role_session_credentials_get_a_token_that_logs_in(federation: FederationStub, role_chain: RoleChain,
                                                           target_credentials: dict[str, Any]) -> None:
    status, body = get(federation.url, Action="getSigninToken", Session=session(target_credentials))
    assert status == 200
    token = json.loads(body)["SigninToken"]
    assert federation.role_for_token(token) == role_chain.target_role_arn
    call = federation.calls("getSigninToken")[-1]
    assert (call.role_arn, call.access_key_id, call.session_duration_sent) == (
        role_chain.target_role_arn, target_credentials["AccessKeyId"], False)
    status, _ = get(federation.url, Action="login", Issuer="pam-bot", Destination="https://console.aws.amazon.com/",
                    SigninToken=token)
    assert status == 200
    login = federation.calls("login")[-1]
    assert (login.status, login.role_arn, login.destination) == (200, role_chain.target_role_arn,
                                                                 "https://console.aws.amazon.com/")


def test_session_duration_is_refused_as_for_chained_credentials(federation: FederationStub,
                                                                target_credentials: dict[str, Any]) -> None:
    status, _ = get(federation.url, Action="getSigninToken", SessionDuration="3600",
                    Session=session(target_credentials))
    assert status == 400
    assert federation.calls("getSigninToken")[-1].session_duration_sent is True


def test_credentials_the_sandbox_did_not_issue_are_refused(federation: FederationStub, bot_identity: BotIdentity,
                                                           target_credentials: dict[str, Any]) -> None:
    user_keys = {"AccessKeyId": bot_identity.access_key_id, "SecretAccessKey": bot_identity.secret_access_key,
                 "SessionToken": ""}
    wrong_secret = {**target_credentials, "SecretAccessKey": "not-the-secret"}
    wrong_token = {**target_credentials, "SessionToken": "not-the-token"}
    for found in (user_keys, wrong_secret, wrong_token):
        assert get(federation.url, Action="getSigninToken", Session=session(found))[0] == 400
    assert get(federation.url, Action="getSigninToken", Session="{not json")[0] == 400


def test_unknown_tokens_do_not_log_in(federation: FederationStub) -> None:
    assert get(federation.url, Action="login", Issuer="x", Destination="y", SigninToken="made-up")[0] == 400


def test_down_means_503_for_everything(federation: FederationStub, target_credentials: dict[str, Any]) -> None:
    federation.set_down(True)
    assert get(federation.url, Action="getSigninToken", Session=session(target_credentials))[0] == 503
    federation.set_down(False)
    assert get(federation.url, Action="getSigninToken", Session=session(target_credentials))[0] == 200


def test_the_record_holds_no_secret(federation: FederationStub, target_credentials: dict[str, Any]) -> None:
    status, body = get(federation.url, Action="getSigninToken", Session=session(target_credentials))
    assert status == 200
    everything = repr(federation.calls())
    for secret in (target_credentials["SecretAccessKey"], target_credentials["SessionToken"],
                   json.loads(body)["SigninToken"]):
        assert secret not in everything


def post(url: str, **fields: str) -> tuple[int, bytes]:
    request = Request(url, data=urlencode(fields).encode(), method="POST",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except HTTPError as error:
        with error:
            return error.code, error.read()


def test_post_with_a_form_body_gets_a_token_of_real_length(federation: FederationStub,
                                                           target_credentials: dict[str, Any]) -> None:
    status, body = post(federation.url, Action="getSigninToken", Session=session(target_credentials))
    assert status == 200 and len(json.loads(body)["SigninToken"]) == 1400
    call = federation.calls("getSigninToken")[-1]
    assert (call.method, call.secrets_in_query, call.status) == ("POST", False, 200)
    federation.token_length = 2048
    assert len(json.loads(post(federation.url, Action="getSigninToken",
                               Session=session(target_credentials))[1])["SigninToken"]) == 2048
    assert get(federation.url, Action="getSigninToken", Session=session(target_credentials))[0] == 200
    assert federation.calls("getSigninToken")[-1].secrets_in_query is True


def test_planned_5xx_then_the_service_answers(federation: FederationStub, target_credentials: dict[str, Any]) -> None:
    federation.fail_next(2, status=502)
    statuses = [post(federation.url, Action="getSigninToken", Session=session(target_credentials))[0]
                for _ in range(3)]
    assert statuses == [502, 502, 200]


def test_a_stall_makes_a_short_timeout_give_up(federation: FederationStub, target_credentials: dict[str, Any]) -> None:
    federation.stall_next(1.0)
    request = Request(federation.url, data=urlencode({"Action": "getSigninToken"}).encode(), method="POST")
    with pytest.raises((TimeoutError, URLError)):
        urlopen(request, timeout=0.2)
    assert post(federation.url, Action="getSigninToken", Session=session(target_credentials))[0] == 200


def test_a_planned_redirect_names_its_location(federation: FederationStub) -> None:
    federation.redirect_next("http://127.0.0.1:9/elsewhere")
    where = urlsplit(federation.url)
    connection = HTTPConnection(str(where.hostname), where.port, timeout=5)
    connection.request("POST", where.path, body="Action=getSigninToken",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    answer = connection.getresponse()
    assert (answer.status, answer.getheader("Location")) == (302, "http://127.0.0.1:9/elsewhere")
    connection.close()
