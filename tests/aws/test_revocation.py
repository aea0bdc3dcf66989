"""Revoking one person's role session: the Deny lands on the Target Role, bites only them, and is pruned."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.aws import revocation
from bot.aws.broker import REVOCATION_SESSION_NAME, AwsBroker
from bot.domain.errors import AwsError
from bot.sandbox.aws import AwsSandbox
from bot.services.ports import Grant
from tests.fixtures_aws import RoleChain, client

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def test_a_statement_denies_the_session_name_for_credentials_issued_before_now() -> None:
    statement = revocation.revocation_statement("alice@example.com", T0 + timedelta(microseconds=1))
    assert statement["Effect"] == "Deny" and statement["Action"] == "*" and statement["Resource"] == "*"
    assert statement["Condition"] == {
        "StringLike": {"aws:userid": "*:alice@example.com"},
        "DateLessThan": {"aws:TokenIssueTime": "2026-03-02T09:00:01Z"},  # rounded up to cover the same second
    }
    assert statement["Sid"].isalnum()


def test_revoking_the_same_name_again_moves_its_moment_and_adds_nothing() -> None:
    first = revocation.with_revocation(None, "alice", T0)
    second = revocation.with_revocation(first, "alice", T0 + timedelta(minutes=5))
    earlier = revocation.with_revocation(second, "alice", T0)
    both = revocation.with_revocation(earlier, "bob", T0)
    assert len(second["Statement"]) == 1
    assert revocation.issued_before(second["Statement"][0]) == T0 + timedelta(minutes=5)
    assert earlier == second
    assert len(both["Statement"]) == 2


def test_statements_older_than_an_hour_are_pruned() -> None:
    document = revocation.with_revocation(revocation.with_revocation(None, "alice", T0), "bob",
                                          T0 + timedelta(minutes=30))
    foreign = {"Sid": "SomeoneElses", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    document["Statement"].append(foreign)
    assert revocation.without_stale(document, T0 + timedelta(minutes=60)) == (document, 0)
    kept, removed = revocation.without_stale(document, T0 + timedelta(minutes=61))
    assert removed == 1 and kept is not None
    assert [s.get("Sid") for s in kept["Statement"]][1:] == ["SomeoneElses"]
    assert revocation.without_stale(revocation.with_revocation(None, "x", T0), T0 + timedelta(hours=2)) == (None, 1)


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


def test_revocation_lands_in_iam_and_cuts_only_that_person(broker: AwsBroker, aws_sandbox: AwsSandbox,
                                                           role_chain: RoleChain) -> None:
    alice, bob = grant(broker, role_chain, "alice@example.com"), grant(broker, role_chain, "bob@example.com")
    assert works(aws_sandbox, alice) and works(aws_sandbox, bob)
    now = datetime.now(UTC)
    broker.revoke_session(resource_role_arn=role_chain.resource_role_arn, target_role_arn=role_chain.target_role_arn,
                          session_name="alice@example.com", now=now)
    stored = aws_sandbox.role_policy(role_chain.target_role_arn, revocation.POLICY_NAME)
    assert stored is not None and len(stored["Statement"]) == 1
    condition = stored["Statement"][0]["Condition"]
    assert condition["StringLike"] == {"aws:userid": "*:alice@example.com"}
    cut_at = revocation.issued_before(stored["Statement"][0])
    assert cut_at is not None and cut_at == (now + timedelta(seconds=1)).replace(microsecond=0)
    put = aws_sandbox.calls("PutRolePolicy")[-1]
    assert put.ok and put.caller_arn is not None
    assert put.caller_arn.endswith(f"/{role_chain.resource_role_arn.rsplit('/', 1)[-1]}/{REVOCATION_SESSION_NAME}")
    assert not works(aws_sandbox, alice)
    assert works(aws_sandbox, bob)
    time.sleep(max(0.0, (cut_at - datetime.now(UTC)).total_seconds()))
    assert works(aws_sandbox, grant(broker, role_chain, "alice@example.com"))  # a later grant is not cut


def test_prune_removes_the_statements_after_an_hour(broker: AwsBroker, aws_sandbox: AwsSandbox,
                                                    role_chain: RoleChain) -> None:
    arns = {"resource_role_arn": role_chain.resource_role_arn, "target_role_arn": role_chain.target_role_arn}
    assert broker.prune_revocations(**arns, now=T0) == 0
    broker.revoke_session(**arns, session_name="alice", now=T0)
    broker.revoke_session(**arns, session_name="bob", now=T0 + timedelta(minutes=30))
    assert broker.prune_revocations(**arns, now=T0 + timedelta(minutes=59)) == 0
    assert broker.prune_revocations(**arns, now=T0 + timedelta(minutes=61)) == 1
    stored = aws_sandbox.role_policy(role_chain.target_role_arn, revocation.POLICY_NAME)
    assert stored is not None and stored["Statement"][0]["Condition"]["StringLike"]["aws:userid"] == "*:bob"
    assert broker.prune_revocations(**arns, now=T0 + timedelta(minutes=91)) == 1
    assert aws_sandbox.role_policy(role_chain.target_role_arn, revocation.POLICY_NAME) is None


def test_without_the_opt_in_permissions_revocation_is_access_denied(broker: AwsBroker,
                                                                    make_role_chain: Callable[..., RoleChain],
                                                                    aws_sandbox: AwsSandbox) -> None:
    chain = make_role_chain(allow_revocation=False)
    with pytest.raises(AwsError) as caught:
        broker.revoke_session(resource_role_arn=chain.resource_role_arn, target_role_arn=chain.target_role_arn,
                              session_name="alice", now=T0)
    assert caught.value.code == "AccessDenied"
    assert "iam:PutRolePolicy" in caught.value.user_message
    assert aws_sandbox.role_policy(chain.target_role_arn, revocation.POLICY_NAME) is None
