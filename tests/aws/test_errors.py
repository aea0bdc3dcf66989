"""AWS failures become AwsError with the AWS code and one hint for a person, never with credentials."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from bot.aws.broker import AwsBroker
from bot.aws.errors import to_aws_error, translated
from bot.domain.errors import AwsError
from sandbox.aws import AwsSandbox
from tests.fixtures_aws import BotIdentity, RoleChain, aws_env


def validate(broker: AwsBroker, chain: RoleChain) -> AwsError:
    with pytest.raises(AwsError) as caught:
        broker.validate_account(chain.resource_role_arn, chain.target_role_arn)
    return caught.value


def test_expired_bot_credentials_ask_an_operator(broker: AwsBroker, aws_sandbox: AwsSandbox,
                                                  role_chain: RoleChain, bot_identity: BotIdentity) -> None:
    aws_sandbox.fail_next("AssumeRole", "ExpiredToken", "The security token included in the request is expired",
                          status=403)
    error = validate(broker, role_chain)
    assert error.code == "ExpiredToken"
    assert "expired" in error.user_message and "operator" in error.user_message
    assert bot_identity.secret_access_key not in f"{error.user_message} {error.detail}"


def test_throttling_says_try_again_in_a_minute(broker: AwsBroker, aws_sandbox: AwsSandbox,
                                               role_chain: RoleChain) -> None:
    aws_sandbox.fail_next("AssumeRole", "Throttling", "Rate exceeded")
    error = validate(broker, role_chain)
    assert error.code == "Throttling" and "try again in a minute" in error.user_message
    assert "Rate exceeded" in (error.detail or "")


def test_throttling_is_retried_when_the_client_allows_it(make_broker: Callable[..., AwsBroker],
                                                         aws_sandbox: AwsSandbox, role_chain: RoleChain) -> None:
    broker = make_broker(max_attempts=2)
    before = len(aws_sandbox.assume_role_calls())
    aws_sandbox.fail_next("AssumeRole", "Throttling", "Rate exceeded")
    broker.validate_account(role_chain.resource_role_arn, role_chain.target_role_arn)
    outcomes = [call.outcome for call in aws_sandbox.assume_role_calls()[before:]]
    assert outcomes == ["Throttling", "ok", "ok"]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_aws_is_a_clear_error(aws_sandbox: AwsSandbox, bot_identity: BotIdentity,
                                             role_chain: RoleChain) -> None:
    env = {**aws_env(aws_sandbox, bot_identity), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}"}
    broker = AwsBroker.from_environment(external_id=role_chain.external_id, env=env, http_timeout=2, max_attempts=1)
    error = validate(broker, role_chain)
    assert error.code == "AwsUnreachable" and "could not be reached" in error.user_message


@pytest.mark.parametrize(("error", "code", "words"), [
    (NoCredentialsError(), "NoCredentials", "no AWS credentials"),
    (EndpointConnectionError(endpoint_url="https://sts.amazonaws.com"), "AwsUnreachable", "could not be reached"),
    (ConnectTimeoutError(endpoint_url="https://sts.amazonaws.com"), "AwsUnreachable", "did not answer in time"),
    (ReadTimeoutError(endpoint_url="https://sts.amazonaws.com"), "AwsUnreachable", "did not answer in time"),
    (ClientError({"Error": {"Code": "NoSuchEntity", "Message": "Role x not found"}}, "GetRolePolicy"),
     "NoSuchEntity", "check the role ARN"),
    (ClientError({"Error": {"Code": "ValidationError", "Message": "1 validation error detected"}}, "AssumeRole"),
     "ValidationError", "1 validation error detected"),
    (ClientError({"Error": {"Code": "InvalidClientTokenId", "Message": "The security token is invalid"}},
                 "AssumeRole"), "InvalidClientTokenId", "operator"),
    (ClientError({"Error": {"Code": "SomethingNew", "Message": "new thing"}}, "AssumeRole"), "SomethingNew",
     "new thing"),
    (ClientError({}, "AssumeRole"), "Unknown", "Try again"),
])
def test_each_failure_gets_its_code_and_hint(error: Exception, code: str, words: str) -> None:
    translated_error = to_aws_error(error, doing="assume the Resource Role arn:aws:iam::123456789012:role/r")
    assert translated_error.code == code
    assert words in translated_error.user_message
    assert translated_error.user_message.startswith(
        "pam-bot could not assume the Resource Role arn:aws:iam::123456789012:role/r")


def test_the_context_manager_translates_and_keeps_the_cause() -> None:
    original = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")
    with pytest.raises(AwsError) as caught, translated("assume the Resource Role r", denied_hint="Check the trust."):
        raise original
    assert caught.value.code == "AccessDenied" and caught.value.user_message.endswith("Check the trust.")
    assert caught.value.__cause__ is original


def test_invalid_parameters_caught_by_botocore_are_validation_errors(broker: AwsBroker,
                                                                     role_chain: RoleChain) -> None:
    with pytest.raises(AwsError) as caught:
        broker.grant(resource_role_arn=role_chain.resource_role_arn, target_role_arn=role_chain.target_role_arn,
                     session_name="a", duration_seconds=900)
    assert caught.value.code == "ValidationError"
