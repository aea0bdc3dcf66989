"""The AWS sandbox enforces what revocation and SourceIdentity rely on: the inline-policy quota, the deny on
session credentials, and sts:SetSourceIdentity in trust policies (moto checks none of them)."""

from __future__ import annotations

import json
from typing import Any

from sandbox.aws import AwsSandbox
from sandbox.aws_world import trusted_by
from tests.fixtures_aws import AWS_EXTERNAL_ID, BotIdentity, RoleChain, unique
from tests.sandbox.test_aws_enforcement import bot_sts, refused, session_client

EXTERNAL_ID = AWS_EXTERNAL_ID


def hop1_answer(sandbox: AwsSandbox, bot: BotIdentity, chain: RoleChain, **extra: str) -> dict[str, Any]:
    answer: dict[str, Any] = bot_sts(sandbox, bot).assume_role(
        RoleArn=chain.resource_role_arn, RoleSessionName="pam-bot-test", ExternalId=EXTERNAL_ID, **extra)
    return answer


def deny_policy(size: int) -> str:
    """A valid Deny policy of exactly `size` characters once whitespace is left out."""
    base = {"Version": "2012-10-17", "Statement": [{"Sid": "X", "Effect": "Deny", "Action": "s3:GetObject",
                                                    "Resource": "arn:aws:s3:::b/"}]}
    pad = size - len(json.dumps(base, separators=(",", ":")))
    base["Statement"][0]["Resource"] += "a" * pad
    return json.dumps(base, separators=(",", ":"))


def test_inline_policies_of_a_role_share_10240_characters_without_whitespace(
        aws_sandbox: AwsSandbox, bot_identity: BotIdentity, role_chain: RoleChain) -> None:
    iam = session_client(aws_sandbox, hop1_answer(aws_sandbox, bot_identity, role_chain), "iam")
    name = role_chain.target_name
    iam.put_role_policy(RoleName=name, PolicyName="one", PolicyDocument=deny_policy(6000))
    spaced = deny_policy(4240).replace(",", ",    \n  ")  # whitespace is not counted
    iam.put_role_policy(RoleName=name, PolicyName="two", PolicyDocument=spaced)
    code, message, status = refused(iam.put_role_policy, RoleName=name, PolicyName="three",
                                    PolicyDocument=deny_policy(100))
    assert (code, status) == ("LimitExceeded", 409)
    assert message == f"Maximum policy size of 10240 bytes exceeded for role {name}"
    # Replacing a policy counts its new size, not both.
    iam.put_role_policy(RoleName=name, PolicyName="two", PolicyDocument=deny_policy(4000))
    iam.put_role_policy(RoleName=name, PolicyName="three", PolicyDocument=deny_policy(240))
    assert aws_sandbox.role_policy(role_chain.target_role_arn, "three") is not None


def test_a_deny_on_aws_userid_refuses_that_session_only(aws_sandbox: AwsSandbox, bot_identity: BotIdentity,
                                                         role_chain: RoleChain) -> None:
    sts = session_client(aws_sandbox, hop1_answer(aws_sandbox, bot_identity, role_chain))

    def target(name: str) -> dict[str, Any]:
        answer: dict[str, Any] = sts.assume_role(RoleArn=role_chain.target_role_arn, RoleSessionName=name,
                                                 ExternalId=EXTERNAL_ID)
        return answer

    cut, kept = target("alice@example.com+S-AAAAAA"), target("alice@example.com+S-BBBBBB")
    aws_sandbox.iam().put_role_policy(RoleName=role_chain.target_name, PolicyName="cut", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {
            "StringLike": {"aws:userid": [cut["AssumedRoleUser"]["AssumedRoleId"]]}}}]}))
    code, _, status = refused(session_client(aws_sandbox, cut, "iam").list_roles)
    assert (code, status) == ("AccessDenied", 403)
    code, _, _ = refused(session_client(aws_sandbox, cut).assume_role, RoleArn=role_chain.target_role_arn,
                         RoleSessionName="again", ExternalId=EXTERNAL_ID)
    assert code == "AccessDenied"
    # AWS answers GetCallerIdentity whatever a policy denies; the identity is that one session.
    who = session_client(aws_sandbox, cut).get_caller_identity()
    assert who["UserId"] == cut["AssumedRoleUser"]["AssumedRoleId"]
    assert session_client(aws_sandbox, kept, "iam").list_roles(MaxItems=1)["Roles"] is not None


def test_source_identity_needs_sts_set_source_identity_in_the_trust_policy(
        aws_sandbox: AwsSandbox, bot_identity: BotIdentity) -> None:
    plain = aws_sandbox.create_role(unique("pam-si-plain"), trusted_by(bot_identity.arn, EXTERNAL_ID))
    trust = trusted_by(bot_identity.arn, EXTERNAL_ID)
    trust["Statement"][0]["Action"] = ["sts:AssumeRole", "sts:SetSourceIdentity"]
    allowing = aws_sandbox.create_role(unique("pam-si-ok"), trust)
    sts = bot_sts(aws_sandbox, bot_identity)
    ask = {"RoleSessionName": "alice@example.com+S-AAAAAA", "ExternalId": EXTERNAL_ID}
    code, message, status = refused(sts.assume_role, RoleArn=plain, SourceIdentity="alice@example.com", **ask)
    assert (code, status) == ("AccessDenied", 403) and "sts:SetSourceIdentity" in message
    assert sts.assume_role(RoleArn=plain, **ask)["Credentials"]  # without SourceIdentity the role is fine
    code, _, status = refused(sts.assume_role, RoleArn=allowing, SourceIdentity="a b", **ask)
    assert (code, status) == ("ValidationError", 400)
    assert sts.assume_role(RoleArn=allowing, SourceIdentity="alice@example.com", **ask)["Credentials"]
    (last,) = [c for c in aws_sandbox.assume_role_calls() if c.role_arn == allowing and c.ok]
    assert last.params["SourceIdentity"] == "alice@example.com"
