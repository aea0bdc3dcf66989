"""Revoking one role session: the Deny lands on the Target Role, bites only that session, fits the quota, is pruned."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.aws import revocation
from bot.aws.broker import REVOCATION_SESSION_NAME, AwsBroker
from bot.domain.errors import AwsError
from sandbox.aws import AwsSandbox
from bot.services.ports import Grant
from tests.fixtures_aws import RoleChain, client

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def test_a_statement_denies_exact_user_ids_until_their_credentials_expire() -> None:
    document = revocation.with_revocation(None, "AROAEXAMPLE:alice@example.com+S-AAAAAA", T0 + timedelta(minutes=3))
    (statement,) = document["Statement"]
    assert statement == {"Sid": "PamBotRevokeUntil202603020910", "Effect": "Deny", "Action": "*", "Resource": "*",
                         "Condition": {"StringLike": {"aws:userid": ["AROAEXAMPLE:alice@example.com+S-AAAAAA"]}}}
    assert "aws:TokenIssueTime" not in json.dumps(document)  # no clock is compared
    assert revocation.bucket_end(statement) == T0 + timedelta(minutes=10)


def test_sessions_expiring_in_the_same_ten_minutes_share_a_statement_and_nothing_is_added_twice() -> None:
    document = revocation.with_revocation(None, "R:a", T0 + timedelta(minutes=1))
    document = revocation.with_revocation(document, "R:b", T0 + timedelta(minutes=9, seconds=59))
    document = revocation.with_revocation(document, "R:a", T0 + timedelta(minutes=1))
    document = revocation.with_revocation(document, "R:c", T0 + timedelta(minutes=10))
    assert [len(s["Condition"]["StringLike"]["aws:userid"]) for s in document["Statement"]] == [2, 1]
    assert revocation.denied(document) == ["R:a", "R:b", "R:c"]


def test_buckets_go_once_their_credentials_have_expired() -> None:
    document = revocation.with_revocation(revocation.with_revocation(None, "R:a", T0), "R:b",
                                          T0 + timedelta(minutes=30))
    foreign = {"Sid": "SomeoneElses", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    document["Statement"].append(foreign)
    assert revocation.without_expired(document, T0 + timedelta(minutes=15)) == (document, 0)
    kept, removed = revocation.without_expired(document, T0 + timedelta(minutes=15, seconds=1))
    assert removed == 1 and kept is not None
    assert [s.get("Sid") for s in kept["Statement"]] == ["PamBotRevokeUntil202603020940", "SomeoneElses"]
    alone = revocation.with_revocation(None, "R:x", T0)
    assert revocation.without_expired(alone, T0 + timedelta(hours=2)) == (None, 1)


def test_the_size_is_what_iam_counts() -> None:
    document = revocation.with_revocation(None, "R:a", T0)
    assert revocation.policy_size(document) == len(json.dumps(document, separators=(",", ":")))


def grant(broker: AwsBroker, chain: RoleChain, name: str) -> Grant:
    return broker.grant(resource_role_arn=chain.resource_role_arn, target_role_arn=chain.target_role_arn,
                        session_name=name, duration_seconds=900)


def iam_as(sandbox: AwsSandbox, granted: Grant) -> Any:
    found = granted.credentials
    return client(sandbox, "iam", found.access_key_id, found.secret_access_key, found.session_token)


def works(sandbox: AwsSandbox, granted: Grant) -> bool:
    try:
        iam_as(sandbox, granted).list_roles(MaxItems=1)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied"
        return False
    return True


def revoke(broker: AwsBroker, chain: RoleChain, granted: Grant, now: datetime | None = None) -> None:
    broker.revoke_session(resource_role_arn=chain.resource_role_arn, target_role_arn=chain.target_role_arn,
                          session_name=granted.session_name, aws_user_id=granted.aws_user_id,
                          expires_at=granted.expires_at, now=now or datetime.now(UTC))


def test_revocation_lands_in_iam_and_cuts_only_that_session(broker: AwsBroker, aws_sandbox: AwsSandbox,
                                                            role_chain: RoleChain) -> None:
    first = grant(broker, role_chain, "alice@example.com+S-AAAAAA")
    second = grant(broker, role_chain, "alice@example.com+S-BBBBBB")
    bob = grant(broker, role_chain, "bob@example.com+S-CCCCCC")
    assert first.aws_user_id.startswith("AROA") and first.aws_user_id.endswith(":alice@example.com+S-AAAAAA")
    assert works(aws_sandbox, first) and works(aws_sandbox, second) and works(aws_sandbox, bob)
    revoke(broker, role_chain, first, now=datetime.now(UTC) - timedelta(minutes=5))  # pam-bot's clock is off
    stored = aws_sandbox.role_policy(role_chain.target_role_arn, revocation.POLICY_NAME)
    assert revocation.denied(stored) == [first.aws_user_id]
    put = aws_sandbox.calls("PutRolePolicy")[-1]
    assert put.ok and put.caller_arn is not None
    assert put.caller_arn.endswith(f"/{role_chain.resource_role_arn.rsplit('/', 1)[-1]}/{REVOCATION_SESSION_NAME}")
    assert not works(aws_sandbox, first)
    assert works(aws_sandbox, second) and works(aws_sandbox, bob)


def test_sixty_revocations_on_one_role_within_an_hour_fit_the_quota(broker: AwsBroker, aws_sandbox: AwsSandbox,
                                                                    role_chain: RoleChain) -> None:
    grants = [grant(broker, role_chain, f"person{i}.with.a.long.name@example.com+S-{i:06d}") for i in range(60)]
    start, largest = datetime.now(UTC), 0
    for minute, granted in enumerate(grants):  # one a minute for an hour, each session a quarter of an hour long
        moment = start + timedelta(minutes=minute)
        broker.revoke_session(resource_role_arn=role_chain.resource_role_arn,
                              target_role_arn=role_chain.target_role_arn, session_name=granted.session_name,
                              aws_user_id=granted.aws_user_id, expires_at=moment + timedelta(minutes=15), now=moment)
        stored = aws_sandbox.role_policy(role_chain.target_role_arn, revocation.POLICY_NAME)
        largest = max(largest, revocation.policy_size(stored or {}))
    assert all(call.ok for call in aws_sandbox.calls("PutRolePolicy")[-60:])
    assert largest <= revocation.ROLE_POLICY_QUOTA
    still_denied = revocation.denied(aws_sandbox.role_policy(role_chain.target_role_arn, revocation.POLICY_NAME))
    assert [g.aws_user_id for g in grants[-20:]] == still_denied[-20:]  # the live ones; expired ones went
    assert len(still_denied) < 35
    assert not works(aws_sandbox, grants[-1])


def test_a_full_policy_is_a_clear_error_naming_the_role_and_the_quota(broker: AwsBroker, aws_sandbox: AwsSandbox,
                                                                      role_chain: RoleChain) -> None:
    filler = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:GetObject",
                                                      "Resource": "arn:aws:s3:::b/" + "a" * 10_050}]}
    aws_sandbox.iam().put_role_policy(RoleName=role_chain.target_name, PolicyName="big",
                                      PolicyDocument=json.dumps(filler))
    granted = grant(broker, role_chain, "alice@example.com+S-AAAAAA")
    with pytest.raises(AwsError) as caught:
        revoke(broker, role_chain, granted)
    assert caught.value.code == "LimitExceeded"
    message = caught.value.user_message
    assert role_chain.target_name in message and "10,240" in message and "PutRolePolicy" not in message
    assert works(aws_sandbox, granted)


def test_prune_removes_the_statements_once_the_credentials_expired(broker: AwsBroker, aws_sandbox: AwsSandbox,
                                                                   role_chain: RoleChain) -> None:
    arns = {"resource_role_arn": role_chain.resource_role_arn, "target_role_arn": role_chain.target_role_arn}
    assert broker.prune_revocations(**arns, now=T0) == 0
    broker.revoke_session(**arns, session_name="alice", aws_user_id="AROAX:alice", expires_at=T0, now=T0)
    broker.revoke_session(**arns, session_name="bob", aws_user_id=None, expires_at=T0 + timedelta(minutes=30),
                          now=T0)
    assert broker.prune_revocations(**arns, now=T0 + timedelta(minutes=15)) == 0
    assert broker.prune_revocations(**arns, now=T0 + timedelta(minutes=16)) == 1
    stored = aws_sandbox.role_policy(role_chain.target_role_arn, revocation.POLICY_NAME)
    assert revocation.denied(stored) == ["*:bob"]  # a session granted before pam-bot kept role ids
    assert broker.prune_revocations(**arns, now=T0 + timedelta(minutes=46)) == 1
    assert aws_sandbox.role_policy(role_chain.target_role_arn, revocation.POLICY_NAME) is None


def test_without_the_opt_in_permissions_revocation_is_access_denied(broker: AwsBroker,
                                                                    make_role_chain: Callable[..., RoleChain],
                                                                    aws_sandbox: AwsSandbox) -> None:
    chain = make_role_chain(allow_revocation=False)
    with pytest.raises(AwsError) as caught:
        broker.revoke_session(resource_role_arn=chain.resource_role_arn, target_role_arn=chain.target_role_arn,
                              session_name="alice", aws_user_id="AROAX:alice", expires_at=T0, now=T0)
    assert caught.value.code == "AccessDenied"
    assert "iam:PutRolePolicy" in caught.value.user_message
    assert aws_sandbox.role_policy(chain.target_role_arn, revocation.POLICY_NAME) is None
