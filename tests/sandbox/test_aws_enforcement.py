"""The AWS sandbox refuses AssumeRole where AWS would, which moto alone does not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.domain import iam_policies as policies
from sandbox.aws import ACCOUNT_ID, AwsSandbox
from sandbox.aws_world import trusted_by
from tests.fixtures_aws import AWS_EXTERNAL_ID, BotIdentity, RoleChain, client, unique

EXTERNAL_ID = AWS_EXTERNAL_ID


def bot_sts(sandbox: AwsSandbox, bot: BotIdentity, **config: Any) -> Any:
    return client(sandbox, "sts", bot.access_key_id, bot.secret_access_key, **config)


def session_client(sandbox: AwsSandbox, answer: dict[str, Any], service: str = "sts") -> Any:
    found = answer["Credentials"]
    return client(sandbox, service, found["AccessKeyId"], found["SecretAccessKey"], found["SessionToken"])


def refused(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_an_unknown_role_is_access_denied(aws_sandbox: AwsSandbox, bot_identity: BotIdentity) -> None:
    arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{unique('missing')}"
    code, message, status = refused(bot_sts(aws_sandbox, bot_identity).assume_role, RoleArn=arn,
                                    RoleSessionName="alice", ExternalId=EXTERNAL_ID)
    assert (code, status) == ("AccessDenied", 403)
    assert bot_identity.arn in message and arn in message
    assert aws_sandbox.assume_role_calls()[-1].outcome == "AccessDenied"


def test_a_role_path_is_part_of_the_arn(aws_sandbox: AwsSandbox, bot_identity: BotIdentity) -> None:
    name = unique("pathed")
    arn = aws_sandbox.create_role(name, trusted_by(bot_identity.arn, EXTERNAL_ID), path="/team/")
    sts = bot_sts(aws_sandbox, bot_identity)
    assert sts.assume_role(RoleArn=arn, RoleSessionName="alice", ExternalId=EXTERNAL_ID)
    code, _, _ = refused(sts.assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{name}",
                         RoleSessionName="alice", ExternalId=EXTERNAL_ID)
    assert code == "AccessDenied"


def test_a_principal_the_trust_policy_does_not_name_is_denied(aws_sandbox: AwsSandbox,
                                                              bot_identity: BotIdentity) -> None:
    someone_else = aws_sandbox.create_bot_identity(unique("other-bot"))[2]
    arn = aws_sandbox.create_role(unique("theirs"), trusted_by(someone_else, EXTERNAL_ID))
    code, _, _ = refused(bot_sts(aws_sandbox, bot_identity).assume_role, RoleArn=arn, RoleSessionName="alice",
                         ExternalId=EXTERNAL_ID)
    assert code == "AccessDenied"


@pytest.mark.parametrize(("principal", "allowed"), [
    (f"arn:aws:iam::{ACCOUNT_ID}:root", True),
    (ACCOUNT_ID, True),
    ("*", True),
    ("arn:aws:iam::210987654321:root", False),
    ("210987654321", False),
    (f"arn:aws:iam::{ACCOUNT_ID}:user/somebody-else", False),
])
def test_account_and_wildcard_principals(aws_sandbox: AwsSandbox, bot_identity: BotIdentity, principal: str,
                                         allowed: bool) -> None:
    arn = aws_sandbox.create_role(unique("principal"), trusted_by(principal, EXTERNAL_ID))
    sts = bot_sts(aws_sandbox, bot_identity)
    if allowed:
        assert sts.assume_role(RoleArn=arn, RoleSessionName="alice", ExternalId=EXTERNAL_ID)["Credentials"]
    else:
        assert refused(sts.assume_role, RoleArn=arn, RoleSessionName="alice", ExternalId=EXTERNAL_ID)[0] == \
            "AccessDenied"


@pytest.mark.parametrize("external_id", [None, "pam-some-other-installation", EXTERNAL_ID.upper()])
def test_a_missing_or_different_external_id_is_denied(aws_sandbox: AwsSandbox, role_chain: RoleChain,
                                                      bot_identity: BotIdentity, external_id: str | None) -> None:
    extra = {} if external_id is None else {"ExternalId": external_id}
    code, _, status = refused(bot_sts(aws_sandbox, bot_identity).assume_role,
                              RoleArn=role_chain.resource_role_arn, RoleSessionName="alice", **extra)
    assert (code, status) == ("AccessDenied", 403)
    assert aws_sandbox.assume_role_calls()[-1].external_id == external_id


def test_the_right_external_id_is_let_through_and_recorded(aws_sandbox: AwsSandbox, role_chain: RoleChain,
                                                           bot_identity: BotIdentity) -> None:
    answer = bot_sts(aws_sandbox, bot_identity).assume_role(
        RoleArn=role_chain.resource_role_arn, RoleSessionName="alice", ExternalId=EXTERNAL_ID)
    call = aws_sandbox.assume_role_calls()[-1]
    assert call.ok and call.caller_arn == bot_identity.arn and call.caller_key_id == bot_identity.access_key_id
    assert call.issued_key_id is not None and call.issued_key_id == answer["Credentials"]["AccessKeyId"]
    session = aws_sandbox.identity(call.issued_key_id)
    assert session is not None and session.role_arn == role_chain.resource_role_arn
    assert session.session_name == "alice"
    assert aws_sandbox.role_for_key(call.issued_key_id) == role_chain.resource_role_arn
    assert aws_sandbox.role_for_key(bot_identity.access_key_id) is None


def hop1(sandbox: AwsSandbox, bot: BotIdentity, chain: RoleChain) -> Any:
    answer = bot_sts(sandbox, bot).assume_role(RoleArn=chain.resource_role_arn, RoleSessionName="alice",
                                               ExternalId=EXTERNAL_ID)
    return session_client(sandbox, answer)


def test_role_chaining_is_capped_at_an_hour(aws_sandbox: AwsSandbox, role_chain: RoleChain,
                                            bot_identity: BotIdentity) -> None:
    sts = hop1(aws_sandbox, bot_identity, role_chain)
    code, message, status = refused(sts.assume_role, RoleArn=role_chain.target_role_arn, RoleSessionName="alice",
                                    ExternalId=EXTERNAL_ID, DurationSeconds=3601)
    assert (code, status) == ("ValidationError", 400)
    assert "role chaining" in message
    assert sts.assume_role(RoleArn=role_chain.target_role_arn, RoleSessionName="alice", ExternalId=EXTERNAL_ID,
                           DurationSeconds=3600)["Credentials"]


def test_without_chaining_the_role_maximum_applies(aws_sandbox: AwsSandbox, bot_identity: BotIdentity) -> None:
    short = aws_sandbox.create_role(unique("max1h"), trusted_by(bot_identity.arn, EXTERNAL_ID))
    long = aws_sandbox.create_role(unique("max2h"), trusted_by(bot_identity.arn, EXTERNAL_ID),
                                   max_session_duration=7200)
    sts = bot_sts(aws_sandbox, bot_identity)
    code, message, _ = refused(sts.assume_role, RoleArn=short, RoleSessionName="alice", ExternalId=EXTERNAL_ID,
                               DurationSeconds=7200)
    assert code == "ValidationError" and "MaxSessionDuration" in message
    assert sts.assume_role(RoleArn=long, RoleSessionName="alice", ExternalId=EXTERNAL_ID, DurationSeconds=7200)


@pytest.mark.parametrize(("name", "duration"), [
    ("alice smith", 900), ("a", 900), ("x" * 65, 900), ("alice/ops", 900), ("alice", 899), ("alice", 43201),
])
def test_malformed_names_and_durations_are_validation_errors(aws_sandbox: AwsSandbox, role_chain: RoleChain,
                                                             bot_identity: BotIdentity, name: str,
                                                             duration: int) -> None:
    sts = bot_sts(aws_sandbox, bot_identity, parameter_validation=False)
    code, _, status = refused(sts.assume_role, RoleArn=role_chain.resource_role_arn, RoleSessionName=name,
                              ExternalId=EXTERNAL_ID, DurationSeconds=duration)
    assert (code, status) == ("ValidationError", 400)


def test_a_session_needs_an_identity_policy_to_assume_a_role(aws_sandbox: AwsSandbox, role_chain: RoleChain,
                                                             bot_identity: BotIdentity) -> None:
    sts = hop1(aws_sandbox, bot_identity, role_chain)
    target = session_client(aws_sandbox, sts.assume_role(RoleArn=role_chain.target_role_arn,
                                                         RoleSessionName="alice", ExternalId=EXTERNAL_ID))
    # The Target Role trusts only the Resource Role, and has no permission to assume anything anyway.
    code, message, _ = refused(target.assume_role, RoleArn=role_chain.target_role_arn, RoleSessionName="alice",
                               ExternalId=EXTERNAL_ID)
    assert code == "AccessDenied" and "assumed-role/" in message


def test_unknown_keys_and_forged_session_tokens_are_invalid(aws_sandbox: AwsSandbox, role_chain: RoleChain,
                                                            bot_identity: BotIdentity) -> None:
    stranger = client(aws_sandbox, "sts", "AKIAUNKNOWNKEY000000", "secret")
    assert refused(stranger.assume_role, RoleArn=role_chain.resource_role_arn, RoleSessionName="alice",
                   ExternalId=EXTERNAL_ID)[:3:2] == ("InvalidClientTokenId", 403)
    found = bot_sts(aws_sandbox, bot_identity).assume_role(
        RoleArn=role_chain.resource_role_arn, RoleSessionName="alice", ExternalId=EXTERNAL_ID)["Credentials"]
    forged = client(aws_sandbox, "sts", found["AccessKeyId"], found["SecretAccessKey"], "forged-token")
    assert refused(forged.get_caller_identity)[0] == "InvalidClientTokenId"


def test_faults_are_injected_in_order_and_run_out(aws_sandbox: AwsSandbox, role_chain: RoleChain,
                                                  bot_identity: BotIdentity) -> None:
    aws_sandbox.fail_next("AssumeRole", "Throttling", "Rate exceeded", times=2)
    aws_sandbox.fail_next("AssumeRole", "ExpiredToken", "The security token included in the request is expired",
                          status=403)
    sts = bot_sts(aws_sandbox, bot_identity)
    request = {"RoleArn": role_chain.resource_role_arn, "RoleSessionName": "alice", "ExternalId": EXTERNAL_ID}
    seen = [refused(sts.assume_role, **request)[::2] for _ in range(3)]
    assert seen == [("Throttling", 400), ("Throttling", 400), ("ExpiredToken", 403)]
    assert sts.assume_role(**request)["Credentials"]


def scoped_resource_role(sandbox: AwsSandbox, bot: BotIdentity, targets: list[str], *,
                         extra: tuple[dict[str, Any], ...] = ()) -> str:
    """A Resource Role whose permissions are the document `pam-bot setup` prints for `targets` (with revocation)."""
    name = unique("pam-resource")
    arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"
    scope = policies.TargetScope(tuple(targets))
    document = policies.resource_role_permissions_policy(arn, scope, revocation=scope,
                                                         permissions_boundary=sandbox.boundary_policy())
    document["Statement"] += list(extra)
    return sandbox.create_role(name, trusted_by(bot.arn, EXTERNAL_ID), permissions=document)


def hop1_session(sandbox: AwsSandbox, bot: BotIdentity, resource: str, service: str) -> Any:
    answer = bot_sts(sandbox, bot).assume_role(RoleArn=resource, RoleSessionName="pam-bot-validation",
                                               ExternalId=EXTERNAL_ID)
    return session_client(sandbox, answer, service)


def test_hop_2_is_limited_to_the_roles_the_resource_role_may_assume(aws_sandbox: AwsSandbox,
                                                                    bot_identity: BotIdentity) -> None:
    allowed, other = (f"arn:aws:iam::{ACCOUNT_ID}:role/{unique('pam-target')}" for _ in range(2))
    resource = scoped_resource_role(aws_sandbox, bot_identity, [allowed])
    for arn in (allowed, other):  # both trust the Resource Role with the ExternalId
        aws_sandbox.create_role(arn.rsplit("/", 1)[-1], trusted_by(resource, EXTERNAL_ID))
    sts = hop1_session(aws_sandbox, bot_identity, resource, "sts")
    assert sts.assume_role(RoleArn=allowed, RoleSessionName="alice", ExternalId=EXTERNAL_ID)["Credentials"]
    code, message, _ = refused(sts.assume_role, RoleArn=other, RoleSessionName="alice", ExternalId=EXTERNAL_ID)
    assert code == "AccessDenied" and "sts:AssumeRole" in message


def test_iam_reads_with_hop_1_credentials_need_an_allow(aws_sandbox: AwsSandbox,
                                                        bot_identity: BotIdentity) -> None:
    allowed = aws_sandbox.create_role(unique("pam-target"), trusted_by(bot_identity.arn, EXTERNAL_ID))
    other = aws_sandbox.create_role(unique("pam-target"), trusted_by(bot_identity.arn, EXTERNAL_ID))
    iam = hop1_session(aws_sandbox, bot_identity, scoped_resource_role(aws_sandbox, bot_identity, [allowed]), "iam")
    assert iam.get_role(RoleName=allowed.rsplit("/", 1)[-1])["Role"]["Arn"] == allowed
    code, message, status = refused(iam.get_role, RoleName=other.rsplit("/", 1)[-1])
    assert (code, status) == ("AccessDenied", 403) and "iam:GetRole" in message


def test_revocation_writes_need_the_chosen_permissions_boundary(aws_sandbox: AwsSandbox,
                                                                bot_identity: BotIdentity) -> None:
    bounded = aws_sandbox.create_role(unique("pam-target"), trusted_by(bot_identity.arn, EXTERNAL_ID),
                                      boundary=aws_sandbox.boundary_policy())
    unbounded = aws_sandbox.create_role(unique("pam-target"), trusted_by(bot_identity.arn, EXTERNAL_ID))
    resource = scoped_resource_role(aws_sandbox, bot_identity, [bounded, unbounded])
    iam = hop1_session(aws_sandbox, bot_identity, resource, "iam")
    deny = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
    iam.put_role_policy(RoleName=bounded.rsplit("/", 1)[-1], PolicyName="pam-revocations", PolicyDocument=deny)
    code, message, _ = refused(iam.put_role_policy, RoleName=unbounded.rsplit("/", 1)[-1],
                               PolicyName="pam-revocations", PolicyDocument=deny)
    assert code == "AccessDenied" and "iam:PutRolePolicy" in message
    assert iam.get_role_policy(RoleName=bounded.rsplit("/", 1)[-1], PolicyName="pam-revocations")
    iam.delete_role_policy(RoleName=bounded.rsplit("/", 1)[-1], PolicyName="pam-revocations")


def test_explicit_denies_win_over_any_allow(aws_sandbox: AwsSandbox, bot_identity: BotIdentity) -> None:
    everything = {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}  # what a careless extra policy adds
    resource = scoped_resource_role(aws_sandbox, bot_identity, [], extra=(everything,))
    iam = hop1_session(aws_sandbox, bot_identity, resource, "iam")
    own = resource.rsplit("/", 1)[-1]
    wide = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    boundary = aws_sandbox.boundary_policy()
    attempts = [
        (iam.put_role_policy, {"RoleName": own, "PolicyName": "escalate", "PolicyDocument": wide}),
        (iam.attach_role_policy, {"RoleName": own, "PolicyArn": boundary}),
        (iam.update_assume_role_policy, {"RoleName": own, "PolicyDocument": wide}),
        (iam.delete_role_policy, {"RoleName": own, "PolicyName": "permissions"}),
        (iam.put_role_permissions_boundary, {"RoleName": own, "PermissionsBoundary": boundary}),
        (iam.delete_role_permissions_boundary, {"RoleName": own}),
        (iam.create_policy_version, {"PolicyArn": boundary, "PolicyDocument": wide, "SetAsDefault": True}),
        (iam.set_default_policy_version, {"PolicyArn": boundary, "VersionId": "v1"}),
    ]
    for call, arguments in attempts:
        code, message, _ = refused(call, **arguments)
        assert code == "AccessDenied" and "explicit deny" in message, (call, message)
    assert iam.get_role(RoleName=own)  # the extra Allow still works where nothing denies
