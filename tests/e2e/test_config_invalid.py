"""`pam-bot apply` refuses a bad file as a whole: every problem listed, exit 2 (1 when a check could not be made),
nothing written, the refusal audited."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sandbox.slack_api import SlackApiStandIn
from storage.models import Account, AuditEvent, Resource
from tests.e2e.test_cli import cli_env, rows  # noqa: F401  (cli_env is a fixture)
from tests.e2e.test_config_apply import pam, write
from tests.fixtures_bot import AwsWorld
from tests.fixtures_slack import SLACK_BOT_TOKEN


def account(role_arn: str, name: str = "readonly", **options: object) -> dict:
    return {"name": name, "role_arn": role_arn, "duration": "30m", "requesters": "everyone",
            "approvers": ["UAPPROVE1"], **options}


@pytest.mark.parametrize("text, needles", [
    ("version: 1\nresources: [", ["not valid YAML"]),
    ("version: 1\nadmins: []\nadmins: [U1X]\n", ["the key 'admins' is given twice"]),
    ("resources: []\n", ["(top level): 'version' is a required property"]),
    ("version: 1\nresources:\n  - name: Prod AWS\n    role_arn: nope\n    colour: red\n",
     ["resources[0].name: 'Prod AWS' does not match", "resources[0].role_arn: 'nope' does not match",
      "resources[0]: Additional properties are not allowed ('colour' was unexpected)"]),
    ("version: 1\nresources:\n  - name: prod\n    role_arn: arn:aws:iam::123456789012:role/r\n    accounts:\n"
     "      - {name: ro, role_arn: 'arn:aws:iam::123456789012:role/t', duration: 30m, approvers: [bob],"
     " channel: general}\n",
     ["resources[0].accounts[0]: {", "is not valid under any of the given schemas",
      "accounts[0].approvers[0]: 'bob' does not match", "accounts[0].channel: 'general' does not match"]),
])
def test_a_file_the_schema_refuses_changes_nothing(cli_env: dict[str, str], tmp_path: Path, database_url: str,  # noqa: F811
                                                   text: str, needles: list[str]) -> None:
    path = tmp_path / "pam.yaml"
    path.write_text(text)
    result = pam(cli_env, "apply", "-f", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    assert "Nothing was changed" in result.stderr and rows(database_url, Resource) == []
    refused = [e for e in rows(database_url, AuditEvent) if e.action == "config.apply"]
    assert [(e.outcome, e.details["code"]) for e in refused] == [("refused", "invalid_file")]
    missing = pam(cli_env, "apply", "-f", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr and "Traceback" not in missing.stderr


def test_one_bad_account_among_good_ones_writes_nothing(cli_env: dict[str, str], aws_world: AwsWorld,  # noqa: F811
                                                        tmp_path: Path, database_url: str) -> None:
    resource = aws_world.resource_role()
    wrong_trust = aws_world.target_role(resource, external_id="another-installation-id")
    config = {"version": 1, "resources": [{"name": "prod-aws", "role_arn": resource, "accounts": [
        account(aws_world.target_role(resource), "one"),
        account(wrong_trust, "two"),
        account(aws_world.target_role(resource), "three", approver_group="SAPPROVE"),
        account(aws_world.target_role(resource), "one"),
    ]}]}
    result = pam(cli_env, "apply", "-f", write(tmp_path, config))
    assert result.returncode == 2, result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors[0].startswith("error: account prod-aws/one: is named twice in the file")
    assert any(e.startswith("error: account prod-aws/two: ") and "without this installation's ExternalId" in e for e in errors), errors
    assert any(e.startswith("error: account prod-aws/three: Name approvers or an approver group, not both")
               for e in errors)
    assert "Plan: 5 to add" in result.stdout  # the plan is shown, but nothing of it is written
    assert rows(database_url, Resource) == [] and rows(database_url, Account) == []


def test_checks_that_cannot_be_made_exit_1(cli_env: dict[str, str], aws_world: AwsWorld,  # noqa: F811
                                           tmp_path: Path, database_url: str, slack_api: SlackApiStandIn) -> None:
    resource = aws_world.resource_role()
    config = {"version": 1, "resources": [{"name": "prod-aws", "role_arn": resource,
                                           "accounts": [account(aws_world.target_role(resource))]}]}
    env = {**cli_env, "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN, "SLACK_API_URL": slack_api.base_url}
    slack_api.add_user("UAPPROVE1", name="bob")
    slack_api.fail_next("users.info", status=500, times=5)
    result = pam(env, "apply", "-f", write(tmp_path, config))
    assert result.returncode == 1, result.stderr
    assert "could not check `UAPPROVE1` with Slack" in result.stderr and rows(database_url, Resource) == []
    assert pam(env, "apply", "-f", write(tmp_path, config)).returncode == 0
    assert yaml.safe_load(pam(env, "export").stdout)["resources"][0]["accounts"][0]["approvers"] == ["UAPPROVE1"]
