"""SourceIdentity per resource: set to the person on both hops where the resource asks for it, refused by AWS
(and so never saved) where a trust policy does not allow sts:SetSourceIdentity, shown by setup, checked by doctor."""

from __future__ import annotations

import json
import uuid

from bot.domain import iam_policies as policies
from sandbox.aws_world import target_path_for
from storage.models import Resource
from tests.e2e.lifecycle_helpers import grant_session
from tests.e2e.test_cli import cli_env, rows, run  # noqa: F401 - cli_env is a fixture
from tests.fixtures_bot import ADMIN, EXTERNAL_ID, AwsWorld, Bot


def roles(aws: AwsWorld, *, resource_allows: bool, target_allows: bool) -> tuple[str, str]:
    """A Resource Role and a Target Role built from pam-bot's own documents."""
    tag = uuid.uuid4().hex[:8]
    name = f"pam-resource-si-{tag}"
    arn = f"arn:aws:iam::123456789012:role/{name}"
    scope = policies.TargetScope((), target_path_for(arn))
    permissions = policies.resource_role_permissions_policy(arn, scope, revocation=scope,
                                                            permissions_boundary=aws.sandbox.boundary_policy())
    resource = aws.sandbox.create_role(
        name, policies.resource_role_trust_policy(aws.bot_arn, EXTERNAL_ID, source_identity=resource_allows),
        permissions=permissions)
    target = aws.sandbox.create_role(
        f"pam-target-si-{tag}", policies.target_role_trust_policy(resource, EXTERNAL_ID, source_identity=target_allows),
        path=target_path_for(resource), boundary=aws.sandbox.boundary_policy())
    return resource, target


def test_a_grant_on_a_source_identity_resource_names_the_person_on_both_hops(bot: Bot) -> None:
    resource, target = roles(bot.aws, resource_allows=True, target_allows=True)
    bot.container.services.admin.save_resource(actor=ADMIN, name="prod-aws", role_arn=resource, source_identity=True)
    bot.accounts["prod-aws"] = resource
    bot.add_account(role_arn=target)
    session = grant_session(bot)
    hops = [c for c in bot.aws.sandbox.assume_role_calls() if c.ok and c.session_name == session.role_session_name]
    assert [c.role_arn for c in hops] == [resource, target]
    assert [c.params.get("SourceIdentity") for c in hops] == ["alice@example.com", "alice@example.com"]
    assert session.source_identity == "alice@example.com"
    (granted,) = bot.audit("session.granted")
    assert granted.details["source_identity"] == "alice@example.com"


def test_source_identity_needs_the_trust_policies_to_allow_it(cli_env: dict[str, str], aws_world: AwsWorld,  # noqa: F811
                                                              database_url: str) -> None:
    plain, _ = roles(aws_world, resource_allows=False, target_allows=False)
    refused = run(cli_env, "resource", "add", "prod-aws", "--role-arn", plain, "--source-identity")
    assert refused.returncode == 2 and "AccessDenied" in refused.stderr
    assert "sts:SetSourceIdentity" in refused.stderr and "Traceback" not in refused.stderr
    assert rows(database_url, Resource) == []

    resource, target = roles(aws_world, resource_allows=True, target_allows=False)
    added = run(cli_env, "resource", "add", "prod-aws", "--role-arn", resource, "--source-identity")
    assert added.returncode == 0, added.stderr
    assert json.loads(run(cli_env, "resource", "list", "--json").stdout)[0]["source_identity"] is True
    account = run(cli_env, "account", "add", "prod-aws", "readonly", "--role-arn", target, "--duration", "30m",
                  "--approvers", "U111", "--requesters", "everyone")
    assert account.returncode == 2 and "sts:SetSourceIdentity" in account.stderr

    off = run(cli_env, "resource", "update", "prod-aws", "--no-source-identity")
    assert off.returncode == 0, off.stderr
    assert run(cli_env, "account", "add", "prod-aws", "readonly", "--role-arn", target, "--duration", "30m",
               "--approvers", "U111", "--requesters", "everyone").returncode == 0
    assert run(cli_env, "doctor").returncode == 0
    assert run(cli_env, "resource", "update", "prod-aws", "--source-identity").returncode == 0  # hop 1 allows it
    doctor = json.loads(run(cli_env, "doctor", "--json").stdout)
    (bad,) = [c for c in doctor["checks"] if not c["ok"]]
    assert bad["subject"] == "account prod-aws/readonly" and "sts:SetSourceIdentity" in bad["fix"]

    setup = json.loads(run(cli_env, "setup", "--json").stdout)
    trusts = [p["document"] for p in setup["policies"] if "trust" in p["key"]]
    assert trusts and all(d["Statement"][0]["Action"] == ["sts:AssumeRole", "sts:SetSourceIdentity"] for d in trusts)
    assert "alice@example.com+S-" in run(cli_env, "setup").stdout
