"""The real `pam-bot` entry point against the AWS sandbox: add validates first, lists, removes, audits."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from sandbox.aws_world import trusted_by
from tests.conftest import truncate
from tests.fixtures_bot import EXTERNAL_ID, AwsWorld
from storage.db import create_db_engine
from storage.models import AuditEvent, Resource


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def cli_env(database_url: str, aws_world: AwsWorld) -> dict[str, str]:
    engine = create_db_engine(database_url)
    truncate(engine)
    engine.dispose()
    return {
        "PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "PAM_EXTERNAL_ID": EXTERNAL_ID,
        "AWS_ENDPOINT_URL": aws_world.sandbox.endpoint_url, "AWS_ACCESS_KEY_ID": aws_world.access_key,
        "AWS_SECRET_ACCESS_KEY": aws_world.secret_key, "AWS_DEFAULT_REGION": "us-east-1",
    }


def rows(database_url: str, model: type) -> list:
    engine = create_db_engine(database_url)
    with engine.connect() as connection:
        result = list(connection.execute(model.__table__.select()))
    engine.dispose()
    return result


def test_resource_and_account_lifecycle(cli_env: dict[str, str], aws_world: AwsWorld, database_url: str) -> None:
    resource_arn = aws_world.resource_role()
    target_arn = aws_world.target_role(resource_arn)
    added = run(cli_env, "--actor", "ops-script", "resource", "add", "prod-aws", "--role-arn", resource_arn,
                "--description", "Production")
    assert added.returncode == 0, added.stderr
    assert "prod-aws" in added.stdout

    account = run(cli_env, "account", "add", "prod-aws", "readonly", "--role-arn", target_arn, "--duration", "30m",
                  "--approvers", "U111,U222", "--approvals-required", "2", "--channel", "C123",
                  "--requesters", "U333,U444", "--requester-group", "SREQ")
    assert account.returncode == 0, account.stderr

    listed = json.loads(run(cli_env, "account", "list", "--json").stdout)
    assert listed == [{
        "resource": "prod-aws", "name": "readonly", "role_arn": target_arn, "description": "",
        "duration": "30m", "approvers": ["U111", "U222"], "approver_group": None, "approvals_required": 2,
        "channel": "C123", "auto_approve": False, "auto_approve_daily_limit": None, "require_reason": False,
        "revocation_enabled": False, "requesters": ["U333", "U444"], "requester_group": "SREQ",
        "break_glass": False, "escalate_to": None, "max_extensions": 0, "extend_without_approval": False,
    }]
    resources = json.loads(run(cli_env, "resource", "list", "--json").stdout)
    assert [r["name"] for r in resources] == ["prod-aws"]
    assert "prod-aws" in run(cli_env, "resource", "list").stdout

    validations = [c for c in aws_world.sandbox.assume_role_calls() if c.params.get("RoleArn") == target_arn]
    assert validations and validations[-1].params["RoleSessionName"] == "pam-bot-validation"
    assert validations[-1].params["ExternalId"] == EXTERNAL_ID

    removed = run(cli_env, "resource", "remove", "prod-aws")
    assert removed.returncode == 0 and "1 account" in removed.stdout
    assert json.loads(run(cli_env, "account", "list", "--json").stdout) == []
    actions = [(r.actor, r.action) for r in rows(database_url, AuditEvent)]
    assert ("cli:ops-script", "resource.save") in actions  # --actor ops-script, marked as the CLI
    assert any(action == "account.remove" or action == "resource.remove" for _, action in actions)


def test_add_fails_and_saves_nothing_when_aws_refuses(cli_env: dict[str, str], aws_world: AwsWorld,
                                                      database_url: str) -> None:
    wrong = aws_world.sandbox.create_role(f"wrong-{uuid.uuid4().hex[:8]}", trusted_by(aws_world.bot_arn, "other-id"))
    failed = run(cli_env, "resource", "add", "prod-aws", "--role-arn", wrong)
    assert failed.returncode != 0
    assert "ExternalId" in failed.stderr and "Traceback" not in failed.stderr
    assert rows(database_url, Resource) == []
    refused = [r for r in rows(database_url, AuditEvent) if r.action == "resource.save"]
    assert refused and refused[-1].outcome == "failed" and "AccessDenied" in json.dumps(refused[-1].details)

    unknown = run(cli_env, "resource", "add", "prod-aws", "--role-arn", "arn:aws:iam::123456789012:role/nope")
    assert unknown.returncode != 0 and rows(database_url, Resource) == []


@pytest.mark.parametrize("args, needle", [
    (["resource", "add", "prod-aws", "--role-arn", "arn:aws:s3:::bucket"], "role"),
    (["resource", "add", "Prod AWS!", "--role-arn", "arn:aws:iam::123456789012:role/x"], "resource"),
    (["account", "add", "nope", "ro", "--role-arn", "arn:aws:iam::123456789012:role/x", "--duration", "2h",
      "--requesters", "everyone"], "1h"),
    (["account", "add", "nope", "ro", "--role-arn", "arn:aws:iam::123456789012:role/x", "--duration", "30m",
      "--requesters", "everyone"], "no resource"),
    (["account", "add", "nope", "ro", "--role-arn", "arn:aws:iam::123456789012:role/x", "--duration", "30m"],
     "--requesters everyone"),
    (["account", "add", "nope", "ro", "--role-arn", "arn:aws:iam::123456789012:role/x", "--duration", "30m",
      "--requesters", "everyone", "--requester-group", "SREQ"], "not both"),
    (["account", "add", "nope", "ro", "--role-arn", "arn:aws:iam::123456789012:role/x", "--duration", "30m",
      "--requesters", "alice"], "not a slack user id"),
    (["account", "remove", "nope", "ro"], "no account"),
])
def test_bad_input_gets_a_clear_error(cli_env: dict[str, str], args: list[str], needle: str) -> None:
    result = run(cli_env, *args)
    assert result.returncode == 2
    assert needle.lower() in result.stderr.lower(), result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "db", "upgrade")
    assert result.returncode == 0 and "up to date" in result.stdout


def test_update_changes_only_what_it_is_told(cli_env: dict[str, str], aws_world: AwsWorld) -> None:
    resource_arn = aws_world.resource_role()
    assert run(cli_env, "resource", "add", "prod-aws", "--role-arn", resource_arn).returncode == 0
    target_arn = aws_world.target_role(resource_arn)
    assert run(cli_env, "account", "add", "prod-aws", "readonly", "--role-arn", target_arn, "--duration", "30m",
               "--approvers", "U111", "--requesters", "everyone", "--auto-approve").returncode == 0

    def account() -> dict[str, object]:
        (row,) = json.loads(run(cli_env, "account", "list", "--json").stdout)
        return row

    before = account()
    updated = run(cli_env, "account", "update", "prod-aws", "readonly", "--requester-group", "SONCALL",
                  "--no-auto-approve")
    assert updated.returncode == 0, updated.stderr
    after = account()
    assert (after["requesters"], after["requester_group"], after["auto_approve"]) == ([], "SONCALL", False)
    assert {k: v for k, v in after.items() if k not in ("requesters", "requester_group", "auto_approve")} == \
        {k: v for k, v in before.items() if k not in ("requesters", "requester_group", "auto_approve")}
    missing = run(cli_env, "account", "update", "prod-aws", "nope", "--duration", "15m")
    assert missing.returncode == 2 and "no account prod-aws/nope" in missing.stderr.lower()

    described = run(cli_env, "resource", "update", "prod-aws", "--description", "Production")
    assert described.returncode == 0, described.stderr
    (res,) = json.loads(run(cli_env, "resource", "list", "--json").stdout)
    assert (res["role_arn"], res["description"]) == (resource_arn, "Production")
