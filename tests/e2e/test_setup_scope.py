"""`pam-bot setup` scopes the Resource Role to registered Target Roles; account add checks Target Role trust."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from parliament import analyze_policy_string

from bot.cli import main
from sandbox.aws_world import trusted_by
from tests.fixtures_aws import client
from tests.fixtures_bot import APPROVER, EXTERNAL_ID, Bot, bot_env

ACCOUNT = "123456789012"
# What parliament (community auditors included) still says about the scoped documents, and why that is bounded:
# README "Security model" explains each.
ACCEPTED = {
    "CREDENTIALS_EXPOSURE",  # sts:AssumeRole hands out credentials: that is the product, scoped to Target Roles
    "PERMISSIONS_MANAGEMENT_ACTIONS",  # revocation writes inline policies: only on Target Roles, boundary required
    "PRIVILEGE_ESCALATION",  # parliament pairs PutRolePolicy with AssumeRole whatever the resources and conditions
}


@pytest.fixture
def cli_env(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> Bot:
    """The process environment `pam-bot` runs with: the same database and AWS as the bot."""
    for key, value in bot_env(database_url=bot.container.settings.database_url, slack=bot.slack,
                              aws=bot.aws).items():
        monkeypatch.setenv(key, value)
    return bot


def setup_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["setup", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


NO_RESOURCE = "Statement contains neither Resource nor NotResource"  # trust policies have none, by design


def findings(document: dict[str, Any]) -> dict[str, list[Any]]:
    """parliament's findings by issue; a trust policy's missing Resource (it names a Principal) is not one."""
    found: dict[str, list[Any]] = {}
    for finding in analyze_policy_string(json.dumps(document), include_community_auditors=True).findings:
        if finding.issue == "MALFORMED" and finding.detail == NO_RESOURCE and "Principal" in json.dumps(document):
            continue
        found.setdefault(finding.issue, []).append(finding.location)
    return found


def test_parliament_flags_the_old_document_but_accepts_every_variant_setup_prints(
        cli_env: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    old = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*"},
        {"Effect": "Allow", "Action": ["iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"],
         "Resource": f"arn:aws:iam::{ACCOUNT}:role/*"}]}
    assert "PRIVILEGE_ESCALATION" in findings(old)
    variants = [(), ("--revocation",), ("--target-path", "/pam/"), ("--revocation", "--target-path", "/pam/",
                                                                    "--permissions-boundary", "pam-boundary")]
    documents = [p for args in variants for p in setup_json(capsys, *args)["policies"]]
    cli_env.add_account(revocation_enabled=True)  # registered Target Roles
    documents += [p for args in variants for p in setup_json(capsys, *args)["policies"]]
    permissions = [p["document"] for p in documents if p["key"].startswith("resource_role_permissions:")]
    assert len(permissions) == 8
    for document in (p["document"] for p in documents):
        text = json.dumps(document)
        assert "role/*" not in text, text
        assert set(findings(document)) <= ACCEPTED, (findings(document), text)
    without_revocation = [d for d in permissions
                          if not any(s.get("Sid") == "WriteRevocationsWithinBoundary" for s in d["Statement"])]
    assert without_revocation and all("PRIVILEGE_ESCALATION" not in findings(d) for d in without_revocation)


def test_setup_scopes_each_resource_to_its_registered_roles_or_the_path(
        cli_env: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    target = cli_env.add_account(revocation_enabled=True)
    resource = cli_env.accounts["prod-aws"]
    printed = setup_json(capsys, "--target-path", "/pam/", "--permissions-boundary", "pam-boundary")
    assert set(printed) == {"external_id", "principal", "trust_principal", "partition", "policies"}
    (permissions,) = [p for p in printed["policies"] if p["key"] == "resource_role_permissions:prod-aws"]
    statements = {s["Sid"]: s for s in permissions["document"]["Statement"]}
    for sid in ("AssumeTargetRoles", "ReadTargetRoleTrust"):
        assert set(statements[sid]["Resource"]) == {f"arn:aws:iam::{ACCOUNT}:role/pam/*", target}
    assert statements["WriteRevocationsWithinBoundary"]["Resource"] == [target]  # only accounts with revocation
    assert statements["WriteRevocationsWithinBoundary"]["Condition"] == {"ArnEquals": {
        "iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/pam-boundary"}}
    assert statements["NeverChangeItself"]["Resource"] == resource
    assert "registered for it" in permissions["where"] and "/pam/" in permissions["where"]
    assert main(["setup", "--target-path", "/"]) == 2  # never every role of the account
    assert "not just /" in capsys.readouterr().err


def test_account_add_refuses_a_target_role_that_does_not_require_the_external_id(
        cli_env: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    bot = cli_env
    bot.add_account()
    resource = bot.accounts["prod-aws"]
    path = f"/{resource.rsplit('/', 1)[-1]}/"
    loose = bot.aws.sandbox.create_role(f"loose-{uuid.uuid4().hex[:8]}", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": resource}}]}, path=path)
    args = ["account", "add", "prod-aws", "loose", "--role-arn", loose, "--duration", "30m", "--approvers", APPROVER,
            "--requesters", "everyone"]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "without this installation's ExternalId" in error and f'"sts:ExternalId": "{EXTERNAL_ID}"' in error
    assert [a.name for _, a in bot.container.services.admin.accounts()] == ["readonly"]
    assert bot.audit("account.save")[-1].outcome == "refused"

    wide = bot.aws.sandbox.create_role(f"wide-{uuid.uuid4().hex[:8]}",
                                       trusted_by(f"arn:aws:iam::{ACCOUNT}:root", EXTERNAL_ID), path=path)
    assert main([*args[:3], "wide", "--role-arn", wide, *args[6:]]) == 0
    out = capsys.readouterr().out
    assert "warning:" in out and "trusts more than the Resource Role" in out
    assert bot.audit("account.save")[-1].details["trust_warnings"]

    role = loose.rsplit("/", 1)[-1]
    bot.aws.sandbox.iam().update_assume_role_policy(RoleName=wide.rsplit("/", 1)[-1], PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"AWS": resource}}]}))
    assert role and main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL account prod-aws/wide" in out and "without this installation's ExternalId" in out


def test_a_role_in_another_partition_is_refused_with_a_message(cli_env: Bot,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    bot = cli_env
    calls = len(bot.aws.sandbox.assume_role_calls())
    assert main(["resource", "add", "cn", "--role-arn", f"arn:aws-cn:iam::{ACCOUNT}:role/pam-bot-resource"]) == 2
    error = capsys.readouterr().err
    assert "partition aws-cn" in error and "pam-bot's own AWS principal is in aws" in error
    assert not bot.container.services.admin.resources()
    assert bot.audit("resource.save")[-1].details["code"] == "partition_mismatch"
    bot.add_account()
    assert main(["account", "add", "prod-aws", "gov", "--role-arn", f"arn:aws-us-gov:iam::{ACCOUNT}:role/x",
                 "--duration", "30m", "--approvers", APPROVER, "--requesters", "everyone"]) == 2
    assert "partition aws-us-gov" in capsys.readouterr().err
    assert len(bot.aws.sandbox.assume_role_calls()) == calls + 4  # only add_account's own (resource, trust, chain)


def as_role(bot: Bot, monkeypatch: pytest.MonkeyPatch, *, may_read_itself: bool) -> str:
    """Run pam-bot as a session of a role with the path /team/ (as on ECS or EC2); returns the role's ARN."""
    name = f"pam-bot-task-{uuid.uuid4().hex[:8]}"
    arn = f"arn:aws:iam::{ACCOUNT}:role/team/{name}"
    statements = [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]
    if may_read_itself:
        statements.append({"Effect": "Allow", "Action": "iam:GetRole", "Resource": arn})
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": bot.aws.bot_arn}}]}
    assert bot.aws.sandbox.create_role(name, trust, path="/team/", permissions={
        "Version": "2012-10-17", "Statement": statements}) == arn
    sts = client(bot.aws.sandbox, "sts", bot.aws.access_key, bot.aws.secret_key)
    found = sts.assume_role(RoleArn=arn, RoleSessionName="i-0abc")["Credentials"]
    for key, value in (("AWS_ACCESS_KEY_ID", found["AccessKeyId"]), ("AWS_SECRET_ACCESS_KEY", found["SecretAccessKey"]),
                       ("AWS_SESSION_TOKEN", found["SessionToken"])):
        monkeypatch.setenv(key, value)
    return arn


def test_the_trust_principal_keeps_pam_bots_role_path(cli_env: Bot, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    role = as_role(cli_env, monkeypatch, may_read_itself=True)
    printed = setup_json(capsys)
    assert printed["principal"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.rsplit('/', 1)[-1]}/i-0abc"
    assert printed["trust_principal"] == role
    trust = next(p for p in printed["policies"] if p["key"] == "resource_role_trust")
    assert trust["document"]["Statement"][0]["Principal"] == {"AWS": role}


def test_without_iam_get_role_the_path_comes_from_configuration(cli_env: Bot, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    role = as_role(cli_env, monkeypatch, may_read_itself=False)
    printed = setup_json(capsys)
    assert printed["trust_principal"] == f"arn:aws:iam::{ACCOUNT}:role/{role.rsplit('/', 1)[-1]}"  # a guess...
    trust = next(p for p in printed["policies"] if p["key"] == "resource_role_trust")
    assert "PAM_BOT_ROLE_ARN" in trust["where"]  # ...and said so
    monkeypatch.setenv("PAM_BOT_ROLE_ARN", role)
    assert setup_json(capsys)["trust_principal"] == role
