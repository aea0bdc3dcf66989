"""Role chaining through the enforcing sandbox: two hops, in order, with the ExternalId and the session name."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from bot.aws.broker import VALIDATION_SESSION_NAME, AwsBroker
from bot.domain.errors import AwsError, InvalidInput
from sandbox.aws import AwsSandbox
from tests.fixtures_aws import AWS_EXTERNAL_ID, BotIdentity, RoleChain, aws_env, unique


def test_a_grant_chains_two_hops_signed_one_after_the_other(broker: AwsBroker, aws_sandbox: AwsSandbox,
                                                            role_chain: RoleChain, bot_identity: BotIdentity) -> None:
    before = len(aws_sandbox.assume_role_calls())
    started = datetime.now(UTC)
    grant = broker.grant(resource_role_arn=role_chain.resource_role_arn, target_role_arn=role_chain.target_role_arn,
                         session_name="alice@example.com", duration_seconds=1800)
    hop1, hop2 = aws_sandbox.assume_role_calls()[before:]
    assert (hop1.role_arn, hop2.role_arn) == (role_chain.resource_role_arn, role_chain.target_role_arn)
    assert hop1.ok and hop2.ok
    assert hop1.caller_key_id == bot_identity.access_key_id and hop1.caller_arn == bot_identity.arn
    assert hop2.caller_key_id == hop1.issued_key_id  # hop 2 was signed with hop 1's credentials
    resource_session = role_chain.resource_role_arn.replace(":iam:", ":sts:").replace(":role/", ":assumed-role/")
    assert hop2.caller_arn == f"{resource_session}/alice@example.com"
    assert hop1.external_id == hop2.external_id == AWS_EXTERNAL_ID
    assert hop1.session_name == hop2.session_name == "alice@example.com"
    assert hop2.duration_seconds == 1800
    assert grant.session_name == "alice@example.com"
    assert grant.assumed_role_arn.endswith(f":assumed-role/{role_chain.target_name}/alice@example.com")
    assert grant.credentials.access_key_id == hop2.issued_key_id
    assert grant.expires_at.tzinfo is not None and grant.expires_at.utcoffset() == timedelta(0)
    assert started + timedelta(seconds=1795) <= grant.expires_at <= datetime.now(UTC) + timedelta(seconds=1805)


def test_validations_use_the_fixed_name_and_the_shortest_duration(broker: AwsBroker, aws_sandbox: AwsSandbox,
                                                                  role_chain: RoleChain) -> None:
    before = len(aws_sandbox.assume_role_calls())
    broker.validate_resource(role_chain.resource_role_arn)
    broker.validate_account(role_chain.resource_role_arn, role_chain.target_role_arn)
    calls = aws_sandbox.assume_role_calls()[before:]
    assert [c.role_arn for c in calls] == [role_chain.resource_role_arn, role_chain.resource_role_arn,
                                           role_chain.target_role_arn]
    assert {c.session_name for c in calls} == {VALIDATION_SESSION_NAME}
    assert [c.duration_seconds for c in calls] == [900, 900, 900]
    assert all(c.ok and c.external_id == AWS_EXTERNAL_ID for c in calls)


def test_caller_identity_is_the_bots_user(broker: AwsBroker, bot_identity: BotIdentity) -> None:
    assert broker.caller_identity() == bot_identity.arn


def test_another_installations_external_id_is_refused_with_a_hint(make_broker: Callable[..., AwsBroker],
                                                                   role_chain: RoleChain) -> None:
    broker = make_broker(external_id="pam-another-installation")
    with pytest.raises(AwsError) as caught:
        broker.validate_resource(role_chain.resource_role_arn)
    error = caught.value
    assert error.code == "AccessDenied"
    assert role_chain.resource_role_arn in error.user_message
    assert "ExternalId" in error.user_message and "/pam setup" in error.user_message


def test_a_target_that_does_not_trust_the_resource_role_names_it_in_the_hint(
        broker: AwsBroker, aws_sandbox: AwsSandbox, role_chain: RoleChain, bot_identity: BotIdentity) -> None:
    other_resource = aws_sandbox.create_resource_role(unique("pam-resource"), bot_identity.arn, AWS_EXTERNAL_ID)
    stranger = aws_sandbox.create_target_role(unique("pam-target"), other_resource, AWS_EXTERNAL_ID)
    with pytest.raises(AwsError) as caught:
        broker.validate_account(role_chain.resource_role_arn, stranger)
    assert caught.value.code == "AccessDenied"
    assert f"trusts the Resource Role {role_chain.resource_role_arn}" in caught.value.user_message
    assert aws_sandbox.assume_role_calls()[-1].role_arn == stranger


def test_more_than_an_hour_is_refused_by_aws_itself(broker: AwsBroker, role_chain: RoleChain) -> None:
    with pytest.raises(AwsError) as caught:
        broker.grant(resource_role_arn=role_chain.resource_role_arn, target_role_arn=role_chain.target_role_arn,
                     session_name="alice", duration_seconds=7200)
    assert caught.value.code == "ValidationError"
    assert "role chaining" in caught.value.user_message


def test_something_that_is_not_a_role_arn_never_reaches_aws(broker: AwsBroker, aws_sandbox: AwsSandbox,
                                                            role_chain: RoleChain) -> None:
    before = len(aws_sandbox.calls())
    with pytest.raises(InvalidInput):
        broker.validate_account(role_chain.resource_role_arn, "arn:aws:iam::123456789012:user/alice")
    assert len(aws_sandbox.calls()) == before


def test_from_the_process_environment_boto3_honours_aws_endpoint_url(
        monkeypatch: pytest.MonkeyPatch, aws_sandbox: AwsSandbox, bot_identity: BotIdentity,
        role_chain: RoleChain) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in aws_env(aws_sandbox, bot_identity).items():
        monkeypatch.setenv(name, value)
    broker = AwsBroker.from_environment(external_id=AWS_EXTERNAL_ID, max_attempts=1)
    before = len(aws_sandbox.assume_role_calls())
    broker.grant(resource_role_arn=role_chain.resource_role_arn, target_role_arn=role_chain.target_role_arn,
                 session_name="alice", duration_seconds=900)
    assert [call.ok for call in aws_sandbox.assume_role_calls()[before:]] == [True, True]


def test_one_broker_serves_grants_from_many_threads(broker: AwsBroker, role_chain: RoleChain) -> None:
    names = [f"user{i}@example.com" for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        grants = list(pool.map(lambda name: broker.grant(
            resource_role_arn=role_chain.resource_role_arn, target_role_arn=role_chain.target_role_arn,
            session_name=name, duration_seconds=900), names))
    assert [g.assumed_role_arn.rsplit("/", 1)[-1] for g in grants] == names
    assert len({g.credentials.access_key_id for g in grants}) == len(names)


def test_hop_2_clients_are_built_once_and_each_call_signs_with_its_own_hop_1(
        make_broker: Callable[..., AwsBroker], aws_sandbox: AwsSandbox, role_chain: RoleChain) -> None:
    broker = make_broker()
    before = len(aws_sandbox.assume_role_calls())
    for i in range(3):  # one after the other: one client, lent again and again
        broker.grant(resource_role_arn=role_chain.resource_role_arn, target_role_arn=role_chain.target_role_arn,
                     session_name=f"serial{i}@example.com", duration_seconds=900)
    assert broker.hop2_clients_built == 1
    names = [f"many{i}@example.com" for i in range(12)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda name: broker.grant(
            resource_role_arn=role_chain.resource_role_arn, target_role_arn=role_chain.target_role_arn,
            session_name=name, duration_seconds=900), names))
    assert broker.hop2_clients_built <= 4
    calls = aws_sandbox.assume_role_calls()[before:]
    hop1 = {c.session_name: c for c in calls if c.role_arn == role_chain.resource_role_arn}
    hop2 = [c for c in calls if c.role_arn == role_chain.target_role_arn]
    assert len(hop2) == 15 and all(c.ok for c in hop2)
    for call in hop2:  # never signed with another grant's credentials
        assert call.caller_key_id == hop1[call.session_name].issued_key_id
        assert call.caller_arn.endswith(f"/{call.session_name}")
