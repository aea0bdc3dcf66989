"""`pam-bot apply/export/schema` against the AWS sandbox and the Slack stand-in: 20 accounts, idempotence, an exact
plan for an edit, prune, and `export | apply --dry-run` planning nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from bot.domain import iam_policies as policies
from sandbox.aws_world import target_path_for
from sandbox.slack_api import SlackApiStandIn
from storage.models import Account, Admin, AuditEvent, Resource
from tests.e2e.test_cli import cli_env, rows  # noqa: F401  (cli_env is a fixture)
from tests.e2e.test_source_identity import roles
from tests.fixtures_bot import EXTERNAL_ID, AwsWorld
from tests.fixtures_slack import SLACK_BOT_TOKEN

APPROVERS, REQUESTERS, GROUP, CHANNEL = ["UAPPROVE1", "UAPPROVE2"], ["UASK00001"], "SONCALL", "CAPPROVE"


def pam(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True,
                          timeout=120, input=stdin)


@pytest.fixture
def env(cli_env: dict[str, str], slack_api: SlackApiStandIn) -> dict[str, str]:  # noqa: F811
    for user in (*APPROVERS, *REQUESTERS, "UADMIN001"):
        slack_api.add_user(user, name=user.lower())
    slack_api.add_usergroup(GROUP, [APPROVERS[0]])
    slack_api.add_channel(CHANNEL, name="approvals")
    return {**cli_env, "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN, "SLACK_API_URL": slack_api.base_url}


def twenty_accounts(aws_world: AwsWorld) -> dict:
    """Two resources with ten accounts each, every option used somewhere."""
    resources = []
    for r, name in enumerate(("prod-aws", "staging-aws")):
        arn = roles(aws_world, resource_allows=True, target_allows=True)[0] if r else aws_world.resource_role()
        accounts = []
        for i in range(10):
            target = _si_target(aws_world, arn) if r else aws_world.target_role(arn)
            account = {"name": f"acct-{i:02d}", "role_arn": target, "duration": "30m",
                       "requesters": "everyone" if i % 3 == 0 else REQUESTERS}
            if i % 2:
                account |= {"approvers": APPROVERS, "approvals_required": 2, "channel": CHANNEL}
            elif i % 4 == 0:
                account |= {"approver_group": GROUP, "require_reason": True, "description": f"Account {i}"}
            else:
                account |= {"auto_approve": True, "auto_approve_daily_limit": 3, "revocation": True}
            accounts.append(account)
        resources.append({"name": name, "role_arn": arn, "description": f"Resource {r}",
                          "source_identity": r == 1, "accounts": accounts})
    return {"version": 1, "admins": ["UADMIN001"], "resources": resources}


def _si_target(aws: AwsWorld, resource: str) -> str:
    """A Target Role whose trust policy also allows sts:SetSourceIdentity."""
    return aws.sandbox.create_role(
        f"pam-target-si-{uuid.uuid4().hex[:8]}",
        policies.target_role_trust_policy(resource, EXTERNAL_ID, source_identity=True),
        path=target_path_for(resource), boundary=aws.sandbox.boundary_policy())


def names(database_url: str) -> set[str]:
    """`resource/account` of every account in the database."""
    resources = {r.id: r.name for r in rows(database_url, Resource)}
    return {f"{resources[a.resource_id]}/{a.name}" for a in rows(database_url, Account)}


def write(tmp_path: Path, config: dict) -> str:
    path = tmp_path / "pam.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path)


def test_twenty_accounts_apply_reapply_edit_prune_and_export(env: dict[str, str], aws_world: AwsWorld,
                                                            database_url: str, tmp_path: Path) -> None:
    config = twenty_accounts(aws_world)
    path = write(tmp_path, config)
    dry = pam(env, "apply", "-f", path, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Plan: 23 to add, 0 to change, 0 to remove." in dry.stdout and "Dry run: nothing was changed." in dry.stdout
    assert "  + account staging-aws/acct-09" in dry.stdout and rows(database_url, Account) == []

    applied = pam(env, "apply", "-f", path)
    assert applied.returncode == 0, applied.stderr
    assert "Applied: 23 added, 0 changed, 0 removed." in applied.stdout
    assert len(rows(database_url, Account)) == 20 and [a.user_id for a in rows(database_url, Admin)] == ["UADMIN001"]
    assert [r.source_identity for r in sorted(rows(database_url, Resource), key=lambda r: r.name)] == [False, True]
    saves = [e for e in rows(database_url, AuditEvent) if e.action == "account.save"]
    assert len(saves) == 20 and all(e.details["via"] == "apply" and e.outcome == "ok" for e in saves)

    again = pam(env, "apply", "-f", path)
    assert again.returncode == 0 and again.stdout.strip() == "No changes: pam-bot's configuration matches the file."
    assert len([e for e in rows(database_url, AuditEvent) if e.action == "account.save"]) == 20

    prod = config["resources"][0]["accounts"]
    prod[3]["duration"] = "45m"
    prod[1]["approvers"] = [*APPROVERS, *REQUESTERS]
    gone = prod.pop(5)
    prod.append({"name": "extra", "role_arn": gone["role_arn"], "duration": "1h", "requester_group": GROUP,
                 "approvers": APPROVERS})
    config["admins"] = []
    path = write(tmp_path, config)
    plan = pam(env, "apply", "-f", path, "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.splitlines() == [
        "  + account prod-aws/extra",
        f"      role_arn: \"{gone['role_arn']}\"",
        "      duration: \"1h\"",
        "      requester_group: \"SONCALL\"",
        "      approvers: [\"UAPPROVE1\", \"UAPPROVE2\"]",
        "      approvals_required: 1",
        "  ~ account prod-aws/acct-01",
        "      approvers: [\"UAPPROVE1\", \"UAPPROVE2\"] → [\"UAPPROVE1\", \"UAPPROVE2\", \"UASK00001\"]",
        "  ~ account prod-aws/acct-03",
        "      duration: \"30m\" → \"45m\"",
        "Not in the file, kept (--prune removes them): account prod-aws/acct-05, admin UADMIN001",
        "Plan: 1 to add, 2 to change, 0 to remove.",
        "Dry run: nothing was changed.",
    ]
    # Pruning the only admin would leave the accounts that approve themselves a few times a day without approvers:
    # refused, and nothing at all is written.
    refused = pam(env, "apply", "-f", path, "--prune")
    assert refused.returncode == 2 and "  - admin UADMIN001" in refused.stdout
    assert refused.stderr.count("Nobody could approve") == 4 and "account prod-aws/acct-02:" in refused.stderr
    assert {"prod-aws/acct-05"} == names(database_url) & {"prod-aws/acct-05", "prod-aws/extra"}
    assert len(rows(database_url, Admin)) == 1
    assert [e.outcome for e in rows(database_url, AuditEvent) if e.action == "config.apply"][-1] == "refused"

    config["admins"] = ["UADMIN001"]
    path = write(tmp_path, config)
    pruned = pam(env, "apply", "-f", path, "--prune")
    assert pruned.returncode == 0, pruned.stderr
    assert "  - account prod-aws/acct-05" in pruned.stdout and "admin" not in pruned.stdout
    assert "Applied: 1 added, 2 changed, 1 removed." in pruned.stdout
    assert {"prod-aws/extra"} == names(database_url) & {"prod-aws/acct-05", "prod-aws/extra"}
    removed = [e for e in rows(database_url, AuditEvent) if e.action == "account.remove"]
    assert [(e.target, e.details["via"]) for e in removed] == [("prod-aws/acct-05", "apply")]
    assert pam(env, "apply", "-f", path, "--prune").stdout.startswith("No changes")

    exported = pam(env, "export")
    assert exported.returncode == 0, exported.stderr
    schema = json.loads(pam(env, "schema").stdout)
    Draft202012Validator.check_schema(schema)
    assert not list(Draft202012Validator(schema).iter_errors(yaml.safe_load(exported.stdout)))
    round_trip = pam(env, "apply", "--dry-run", "--prune", "-f", "-", stdin=exported.stdout)
    assert round_trip.returncode == 0, round_trip.stderr
    assert round_trip.stdout.strip() == "No changes: pam-bot's configuration matches the file."
    assert yaml.safe_load(exported.stdout)["resources"] == config["resources"] or \
        _same_accounts(yaml.safe_load(exported.stdout), config)


def _same_accounts(exported: dict, config: dict) -> bool:
    def names(c: dict) -> list[str]:
        return sorted(f"{r['name']}/{a['name']}" for r in c["resources"] for a in r["accounts"])
    return names(exported) == names(config)


def test_drift_made_with_update_shows_in_the_next_plan(env: dict[str, str], aws_world: AwsWorld,
                                                       tmp_path: Path) -> None:
    config = twenty_accounts(aws_world)
    config["resources"] = config["resources"][:1]
    config["resources"][0]["accounts"] = config["resources"][0]["accounts"][:2]
    path = write(tmp_path, config)
    assert pam(env, "apply", "-f", path).returncode == 0
    drift = pam(env, "account", "update", "prod-aws", "acct-01", "--duration", "15m", "--require-reason")
    assert drift.returncode == 0, drift.stderr
    plan = pam(env, "apply", "-f", path, "--dry-run")
    assert plan.stdout.splitlines()[:3] == ["  ~ account prod-aws/acct-01", "      duration: \"15m\" → \"30m\"",
                                            "      require_reason: true → false"]
