"""Accounts that can work: Slack ids by shape, approvers or a group, someone able to approve; doctor finds old ones."""

from __future__ import annotations

import json

import pytest

from sandbox.slack_api import SlackApiStandIn
from storage.db import create_db_engine
from storage.models import Account, AuditEvent
from tests.e2e.test_cli import cli_env, rows, run  # noqa: F401  (cli_env is a fixture)
from tests.fixtures_bot import AwsWorld
from tests.fixtures_slack import SLACK_BOT_TOKEN

TARGET_FLAGS = ("--duration", "30m", "--requesters", "everyone")


@pytest.fixture
def chain(cli_env: dict[str, str], aws_world: AwsWorld) -> str:  # noqa: F811
    """A working resource `prod-aws`; returns a Target Role it reaches."""
    resource_arn = aws_world.resource_role()
    added = run(cli_env, "resource", "add", "prod-aws", "--role-arn", resource_arn)
    assert added.returncode == 0, added.stderr
    return aws_world.target_role(resource_arn)


def add(env: dict[str, str], target: str, *flags: str):
    return run(env, "account", "add", "prod-aws", "readonly", "--role-arn", target, *TARGET_FLAGS, *flags)


def test_the_issue_repro_is_refused_and_nothing_is_saved(cli_env: dict[str, str], chain: str,  # noqa: F811
                                                         database_url: str) -> None:
    result = add(cli_env, chain, "--approvers", "bob", "--approver-group", "S1", "--channel", "general")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "`bob` is not a Slack user id" in result.stderr
    assert rows(database_url, Account) == []
    refused = [e for e in rows(database_url, AuditEvent) if e.action == "account.save"]
    assert refused and refused[-1].outcome == "refused"


@pytest.mark.parametrize("flags, needle", [
    (("--approvers", "U111", "--approver-group", "SAPPROVE"), "not both"),
    (("--approver-group", "S1"), "not a slack group id"),
    (("--approvers", "U111", "--channel", "general"), "`general` is not a slack channel id"),
    (("--approvers", "U111", "--channel", "SGROUP"), "not a slack channel id"),
    ((), "nobody could approve"),
    (("--approvals-required", "2",), "nobody could approve"),
])
def test_accounts_that_cannot_work_are_refused(cli_env: dict[str, str], chain: str, database_url: str,  # noqa: F811
                                               flags: tuple[str, ...], needle: str) -> None:
    result = add(cli_env, chain, *flags)
    assert result.returncode == 2, result.stdout
    assert needle in result.stderr.lower(), result.stderr
    assert rows(database_url, Account) == []


def test_the_admins_approve_when_nobody_is_named_but_not_more_of_them_than_there_are(
        cli_env: dict[str, str], chain: str, database_url: str) -> None:  # noqa: F811
    env = {**cli_env, "PAM_ADMINS": "UADMIN01"}
    too_many = add(env, chain, "--approvals-required", "2")
    assert too_many.returncode == 2 and "only 1 pam-bot admin" in too_many.stderr, too_many.stderr
    assert add(env, chain).returncode == 0
    auto = run(cli_env, "account", "add", "prod-aws", "auto", "--role-arn", chain, *TARGET_FLAGS, "--auto-approve")
    assert auto.returncode == 0, auto.stderr  # nobody needs to approve what approves itself
    update = run(cli_env, "account", "update", "prod-aws", "readonly", "--approver-group", "SAPPROVE")
    assert update.returncode == 0, update.stderr
    both = run(cli_env, "account", "update", "prod-aws", "readonly", "--approvers", "U111", "--approver-group", "SX1")
    assert both.returncode == 2 and "not both" in both.stderr
    named = run(cli_env, "account", "update", "prod-aws", "readonly", "--approvers", "U111")
    assert named.returncode == 0, named.stderr  # naming approvers on update replaces the group
    (row,) = [r for r in json.loads(run(cli_env, "account", "list", "--json").stdout) if r["name"] == "readonly"]
    assert (row["approvers"], row["approver_group"]) == (["U111"], None)


def test_with_a_token_slack_is_asked_about_every_id(cli_env: dict[str, str], chain: str, database_url: str,  # noqa: F811
                                                    slack_api: SlackApiStandIn) -> None:
    slack_api.add_user("UAPPROVE1", name="bob")
    slack_api.add_user("UGONE0001", name="gone", deleted=True)
    slack_api.add_usergroup("SONCALL", ["UAPPROVE1"])
    slack_api.add_usergroup("SEMPTY", [])
    slack_api.add_channel("CAPPROVE", name="approvals")
    slack_api.add_channel("COUTSIDE", name="elsewhere", is_member=False)
    slack_api.add_channel("GSECRET", name="secret", is_private=True, is_member=False)
    env = {**cli_env, "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN, "SLACK_API_URL": slack_api.base_url}
    cases = [
        (("--approvers", "UNOBODY01"), "slack does not know the user `unobody01`"),
        (("--approvers", "UGONE0001"), "deactivated"),
        (("--approvers", "UAPPROVE1", "--requesters", "UNOBODY01"), "slack does not know the user `unobody01`"),
        (("--approver-group", "SNOGROUP"), "slack has no user group `snogroup`"),
        (("--approver-group", "SEMPTY"), "only 0 members of the approver group"),
        (("--approver-group", "SONCALL", "--approvals-required", "2"), "only 1 member of the approver group"),
        (("--approvers", "UAPPROVE1", "--channel", "CNOWHERE"), "`cnowhere`"),
        (("--approvers", "UAPPROVE1", "--channel", "COUTSIDE"), "pam-bot is not in <#coutside>"),
        (("--approvers", "UAPPROVE1", "--channel", "GSECRET"), "for a private channel invite pam-bot first"),
    ]
    for flags, needle in cases:
        result = add(env, chain, *flags)
        assert result.returncode == 2 and needle in result.stderr.lower(), (flags, result.stderr)
    assert rows(database_url, Account) == []
    asked = {c.method for c in slack_api.calls}
    assert {"users.info", "usergroups.users.list", "conversations.info"} <= asked

    slack_api.fail_next("users.info", status=500, times=5)
    unreachable = add(env, chain, "--approvers", "UAPPROVE1")
    assert unreachable.returncode == 2 and "could not check" in unreachable.stderr.lower(), unreachable.stderr
    assert rows(database_url, Account) == []
    ok = add(env, chain, "--approvers", "UAPPROVE1", "--channel", "CAPPROVE")
    assert ok.returncode == 0, ok.stderr


def test_doctor_reports_accounts_nobody_can_approve(cli_env: dict[str, str], chain: str,  # noqa: F811
                                                     database_url: str) -> None:
    assert add(cli_env, chain, "--approvers", "U111").returncode == 0
    engine = create_db_engine(database_url)
    with engine.begin() as connection:  # saved before these checks existed
        connection.execute(Account.__table__.update().values(
            approver_ids=["U111", "bob"], approver_group="SAPPROVE", approval_channel="general",
            approvals_required=3))
    engine.dispose()
    doctor = run(cli_env, "doctor", "--json")
    assert doctor.returncode == 1
    problems = [c for c in json.loads(doctor.stdout)["checks"] if not c["ok"]]
    text = json.dumps(problems).lower()
    assert all(c["subject"] == "account prod-aws/readonly" for c in problems)
    assert "not both" in text and "`bob` is not a slack user id" in text and "`general` is not a slack channel" in text
    assert "account update prod-aws readonly" in text
