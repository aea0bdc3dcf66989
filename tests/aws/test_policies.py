"""The policy documents an admin attaches: their shape, and that roles built from them chain in the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.aws import policies
from bot.aws.broker import AwsBroker
from bot.domain.errors import AwsError, InvalidInput
from bot.sandbox.aws import ACCOUNT_ID, AwsSandbox
from tests.fixtures_aws import AWS_EXTERNAL_ID, BotIdentity, unique


def test_the_resource_role_trusts_the_bot_only_with_the_external_id() -> None:
    document = policies.resource_role_trust_policy("arn:aws:iam::111122223333:user/pam-bot", "pam-ext-1")
    assert document == {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/pam-bot"},
        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "pam-ext-1"}},
    }]}


@pytest.mark.parametrize(("caller", "principal"), [
    ("arn:aws:sts::111122223333:assumed-role/pam-bot-task/i-0abc", "arn:aws:iam::111122223333:role/pam-bot-task"),
    ("arn:aws-cn:sts::111122223333:assumed-role/bot/s", "arn:aws-cn:iam::111122223333:role/bot"),
    ("arn:aws-us-gov:iam::111122223333:user/ops/pam", "arn:aws-us-gov:iam::111122223333:user/ops/pam"),
    ("arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:root"),
])
def test_a_session_principal_is_trusted_through_its_role(caller: str, principal: str) -> None:
    assert policies.trust_principal(caller) == principal


def test_the_target_role_trusts_the_resource_role() -> None:
    document = policies.target_role_trust_policy("arn:aws-cn:iam::111122223333:role/pam-resource", "pam-ext-1")
    statement = document["Statement"][0]
    assert statement["Principal"] == {"AWS": "arn:aws-cn:iam::111122223333:role/pam-resource"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "pam-ext-1"}}


@pytest.mark.parametrize("partition", ["aws", "aws-us-gov", "aws-cn"])
def test_the_permissions_are_scoped_to_the_account_and_partition(partition: str) -> None:
    plain = policies.resource_role_permissions_policy(partition, "111122223333", role_pattern="pam-*")
    assert plain["Statement"] == [{"Sid": "AssumeTargetRoles", "Effect": "Allow", "Action": "sts:AssumeRole",
                                   "Resource": f"arn:{partition}:iam::111122223333:role/pam-*"}]
    revoking = policies.resource_role_permissions_policy(partition, "111122223333", allow_revocation=True)
    assert revoking["Statement"][1]["Action"] == ["iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"]
    assert revoking["Statement"][1]["Resource"] == f"arn:{partition}:iam::111122223333:role/*"


@pytest.mark.parametrize("make", [
    lambda: policies.resource_role_trust_policy("arn:aws:iam::111122223333:user/pam-bot", "x"),
    lambda: policies.resource_role_trust_policy("not an arn", "pam-ext-1"),
    lambda: policies.target_role_trust_policy("arn:aws:iam::111122223333:user/x", "pam-ext-1"),
    lambda: policies.resource_role_permissions_policy("aws-iso", "111122223333"),
    lambda: policies.resource_role_permissions_policy("aws", "1111"),
    lambda: policies.resource_role_permissions_policy("aws", "111122223333", role_pattern="a b"),
])
def test_bad_inputs_are_refused(make: object) -> None:
    with pytest.raises(InvalidInput):
        make()  # type: ignore[operator]


def build(sandbox: AwsSandbox, bot: BotIdentity, *, pattern: str = "*", revocation: bool = False,
          target_prefix: str = "pam-target") -> tuple[str, str]:
    """A Resource Role and a Target Role made only from the generated documents."""
    resource = sandbox.create_role(
        unique("pam-resource"), policies.resource_role_trust_policy(bot.arn, AWS_EXTERNAL_ID),
        permissions=policies.resource_role_permissions_policy("aws", ACCOUNT_ID, role_pattern=pattern,
                                                              allow_revocation=revocation))
    target = sandbox.create_role(unique(target_prefix), policies.target_role_trust_policy(resource, AWS_EXTERNAL_ID))
    return resource, target


def test_roles_built_from_the_documents_chain_and_revoke(broker: AwsBroker, aws_sandbox: AwsSandbox,
                                                         bot_identity: BotIdentity) -> None:
    resource, target = build(aws_sandbox, bot_identity, pattern="pam-*", revocation=True)
    granted = broker.grant(resource_role_arn=resource, target_role_arn=target, session_name="alice",
                           duration_seconds=3600)
    assert granted.assumed_role_arn.endswith("/alice")
    broker.revoke_session(resource_role_arn=resource, target_role_arn=target, session_name="alice",
                          aws_user_id=granted.aws_user_id, expires_at=granted.expires_at, now=datetime.now(UTC))


def test_the_permissions_pattern_is_enforced(broker: AwsBroker, aws_sandbox: AwsSandbox,
                                             bot_identity: BotIdentity) -> None:
    resource, target = build(aws_sandbox, bot_identity, pattern="pam-*", target_prefix="other")
    with pytest.raises(AwsError) as caught:
        broker.validate_account(resource, target)
    assert caught.value.code == "AccessDenied"
    with pytest.raises(AwsError) as caught:
        broker.revoke_session(resource_role_arn=resource, target_role_arn=target, session_name="alice",
                              aws_user_id=None, expires_at=datetime.now(UTC), now=datetime.now(UTC))
    assert caught.value.code == "AccessDenied"
