"""The policy documents an admin attaches: their shape, and that roles built from them chain in the sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.domain import iam_policies as policies
from bot.aws.broker import AwsBroker
from bot.domain.errors import AwsError, InvalidInput
from sandbox.aws import ACCOUNT_ID, AwsSandbox
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
def test_the_permissions_name_the_target_roles_never_every_role(partition: str) -> None:
    own = f"arn:{partition}:iam::111122223333:role/pam-bot-resource"
    target = f"arn:{partition}:iam::111122223333:role/pam-readonly"
    scope = policies.TargetScope((target,), "/pam/")
    document = policies.resource_role_permissions_policy(own, scope, revocation=scope,
                                                         permissions_boundary=f"arn:{partition}:iam::111122223333:"
                                                                              "policy/pam-boundary")
    allows = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    assert all(set(s["Resource"]) == {f"arn:{partition}:iam::111122223333:role/pam/*", target} for s in allows)
    put = next(s for s in allows if s["Action"] == "iam:PutRolePolicy")
    assert put["Condition"] == {"ArnEquals": {
        "iam:PermissionsBoundary": f"arn:{partition}:iam::111122223333:policy/pam-boundary"}}
    denies = {s["Sid"]: s for s in document["Statement"] if s["Effect"] == "Deny"}
    assert denies["NeverChangeItself"]["Resource"] == own
    assert set(denies["NeverChangeBoundaries"]["Action"]) == {"iam:DeleteRolePermissionsBoundary",
                                                              "iam:PutRolePermissionsBoundary"}
    assert "/*" not in json.dumps(document).replace("role/pam/*", "")
    empty = policies.resource_role_permissions_policy(own, policies.TargetScope())
    assert empty["Statement"][0]["Resource"] == [f"arn:{partition}:iam::111122223333:role/TARGET-ROLE-NAME"]


@pytest.mark.parametrize("make", [
    lambda: policies.resource_role_trust_policy("arn:aws:iam::111122223333:user/pam-bot", "x"),
    lambda: policies.resource_role_trust_policy("not an arn", "pam-ext-1"),
    lambda: policies.target_role_trust_policy("arn:aws:iam::111122223333:user/x", "pam-ext-1"),
    lambda: policies.target_resources("aws-iso", "111122223333", policies.TargetScope()),
    lambda: policies.target_resources("aws", "1111", policies.TargetScope()),
    lambda: policies.validate_target_path("/"),
    lambda: policies.validate_target_path("/pam/*"),
    lambda: policies.boundary_arn("arn:aws-cn:iam::111122223333:policy/b", "aws", "111122223333"),
])
def test_bad_inputs_are_refused(make: object) -> None:
    with pytest.raises(InvalidInput):
        make()  # type: ignore[operator]


def build(sandbox: AwsSandbox, bot: BotIdentity, *, targets: tuple[str, ...] = (), path: str | None = None,
          revocation: bool = False) -> str:
    """A Resource Role made only from the generated documents."""
    name = unique("pam-resource")
    own = f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"
    scope = policies.TargetScope(targets, path)
    return sandbox.create_role(
        name, policies.resource_role_trust_policy(bot.arn, AWS_EXTERNAL_ID),
        permissions=policies.resource_role_permissions_policy(
            own, scope, revocation=scope if revocation else None, permissions_boundary=sandbox.boundary_policy()))


def target(sandbox: AwsSandbox, resource: str, name: str, *, path: str = "/", trust: dict | None = None) -> str:
    return sandbox.create_role(name, trust or policies.target_role_trust_policy(resource, AWS_EXTERNAL_ID),
                               path=path, boundary=sandbox.boundary_policy())


def test_roles_built_from_the_documents_chain_and_revoke(broker: AwsBroker, aws_sandbox: AwsSandbox,
                                                         bot_identity: BotIdentity) -> None:
    name = unique("pam-target")
    resource = build(aws_sandbox, bot_identity, targets=(f"arn:aws:iam::{ACCOUNT_ID}:role/{name}",), revocation=True)
    role = target(aws_sandbox, resource, name)
    granted = broker.grant(resource_role_arn=resource, target_role_arn=role, session_name="alice",
                           duration_seconds=3600)
    assert granted.assumed_role_arn.endswith("/alice")
    broker.revoke_session(resource_role_arn=resource, target_role_arn=role, session_name="alice",
                          aws_user_id=granted.aws_user_id, expires_at=granted.expires_at, now=datetime.now(UTC))


def test_the_scope_is_enforced(broker: AwsBroker, aws_sandbox: AwsSandbox, bot_identity: BotIdentity) -> None:
    resource = build(aws_sandbox, bot_identity, path="/pam-scoped/", revocation=True)
    inside = target(aws_sandbox, resource, unique("pam-target"), path="/pam-scoped/")
    broker.validate_account(resource, inside)
    # A role outside the scope that trusts the account root without any ExternalId: `role/*` could assume it.
    root = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}}]}
    outside = target(aws_sandbox, resource, unique("admin"), trust=root)
    now = datetime.now(UTC)
    for attempt in (lambda: broker.validate_account(resource, outside),
                    lambda: broker.target_trust_policy(resource, outside),
                    lambda: broker.revoke_session(resource_role_arn=resource, target_role_arn=outside,
                                                  session_name="alice", aws_user_id=None, expires_at=now, now=now),
                    lambda: broker.revoke_session(resource_role_arn=resource, target_role_arn=resource,
                                                  session_name="alice", aws_user_id=None, expires_at=now, now=now)):
        with pytest.raises(AwsError) as caught:
            attempt()
        assert caught.value.code == "AccessDenied"
