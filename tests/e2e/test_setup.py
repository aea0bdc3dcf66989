"""`/pam setup` and `pam-bot setup`/`doctor`: the policies they print really work behind the enforcing AWS layer."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.cli import main
from bot.domain.errors import AwsError
from bot.services.admin import AccountSpec
from bot.services.setup import SetupService
from tests.e2e.helpers import wait_dm, wait_ephemeral
from tests.e2e.test_admin import add_resource, mark, open_admin, wait_after
from tests.fixtures_bot import ADMIN, CHANNEL, EXTERNAL_ID, OUTSIDER, REQUESTER, Bot, bot_env

ACCOUNT = "123456789012"


def setup_documents(bot: Bot) -> dict[str, dict[str, Any]]:
    """Run /pam setup and parse every policy the modal shows, by title."""
    seen = mark(bot)
    bot.driver.command(ADMIN, "setup")
    opened = wait_after(bot, seen, "views.open")
    view = wait_after(bot, seen, "views.update", view_id=opened.response["view"]["id"]).args["view"]
    assert view["callback_id"] == "pam_setup_modal" and len(view["blocks"]) <= 100
    chunks: dict[str, list[str]] = {}
    title = ""
    for block in view["blocks"]:
        text = block.get("text", {}).get("text", "")
        assert len(text) <= 3000
        if text.startswith("```"):
            chunks[title].append(text.removeprefix("```\n").removesuffix("\n```"))
        elif text.startswith("*") and text[1].isdigit():
            title = text.split("*")[1].split(". ", 1)[1]
            chunks[title] = []
    return {name: json.loads("\n".join(parts)) for name, parts in chunks.items()}


def statement(document: dict[str, Any]) -> dict[str, Any]:
    (only,) = document["Statement"]
    return only


def named(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    return next(s for s in statements if s.get("Sid") == sid)


def test_setup_policies_build_a_chain_that_works(bot: Bot) -> None:
    documents = setup_documents(bot)
    trust = documents["Resource Role: trust policy"]
    assert statement(trust)["Principal"] == {"AWS": bot.aws.bot_arn}
    assert statement(trust)["Condition"] == {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}
    permissions = documents["Resource Role: permissions policy"]
    assume = named(permissions["Statement"], "AssumeTargetRoles")
    # Nothing is registered yet: a placeholder that matches no role, never role/*.
    assert assume["Resource"] == [f"arn:aws:iam::{ACCOUNT}:role/TARGET-ROLE-NAME"]
    assert statement(documents["Target Roles: trust policy"])["Principal"] == {
        "AWS": f"arn:aws:iam::{ACCOUNT}:role/pam-bot-resource"}

    name = f"pam-setup-{uuid.uuid4().hex[:8]}"
    written = json.loads(json.dumps(permissions).replace("pam-bot-resource", name)
                         .replace("TARGET-ROLE-NAME", f"{name}-target"))
    resource_arn = bot.aws.sandbox.create_role(name, trust, permissions=written)
    assert add_resource(bot, open_admin(bot), "prod-aws", resource_arn).ok
    assert [r.role_arn for r in bot.container.services.admin.resources()] == [resource_arn]

    target_trust = setup_documents(bot)["Target Roles of prod-aws: trust policy"]
    assert statement(target_trust)["Principal"] == {"AWS": resource_arn}
    target = bot.aws.sandbox.create_role(f"{name}-target", target_trust)
    bot.container.services.admin.save_account(actor=ADMIN, spec=AccountSpec(
        resource="prod-aws", name="readonly", role_arn=target, duration="30m", auto_approve=True,
        approval_channel=CHANNEL, requester_ids=(REQUESTER,)))
    registered = setup_documents(bot)["Resource Role of prod-aws: permissions policy"]
    assert named(registered["Statement"], "AssumeTargetRoles")["Resource"] == [target]
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m INC-7")
    wait_dm(bot.slack, REQUESTER, "Open AWS Console")
    assert bot.sessions()[-1].assumed_role_arn.startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}-target/")

    other = json.loads(json.dumps(trust).replace(EXTERNAL_ID, "another-installation-id"))
    other_arn = bot.aws.sandbox.create_role(f"{name}-other", other, permissions=written)
    with pytest.raises(AwsError):  # the ExternalId condition is what lets pam-bot in
        bot.container.services.admin.save_resource(actor=ADMIN, name="other", role_arn=other_arn)


def test_the_printed_permissions_close_the_escalation_path(bot: Bot) -> None:
    """With what setup prints, an admin cannot register a role that trusts the account root without ExternalId."""
    target = bot.add_account()
    resource = bot.accounts["prod-aws"]
    permissions = setup_documents(bot)["Resource Role of prod-aws: permissions policy"]
    bot.aws.sandbox.iam().put_role_policy(RoleName=resource.rsplit("/", 1)[-1], PolicyName="permissions",
                                          PolicyDocument=json.dumps(permissions))
    root = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}]}
    admin_role = bot.aws.sandbox.create_role(f"admin-{uuid.uuid4().hex[:8]}", root)
    with pytest.raises(AwsError) as caught:
        bot.container.services.admin.save_account(actor=ADMIN, spec=AccountSpec(
            resource="prod-aws", name="admin", role_arn=admin_role, duration="30m", requesters_everyone=True))
    assert caught.value.code == "AccessDenied"
    assert [a.role_arn for _, a in bot.container.services.admin.accounts()] == [target]
    assert bot.audit("account.save")[-1].outcome == "failed"


def test_setup_is_for_admins(bot: Bot) -> None:
    bot.driver.command(OUTSIDER, "setup")
    wait_ephemeral(bot.slack, "Only pam-bot admins")
    assert not bot.slack.calls_to("views.open")
    assert bot.audit("setup.info")[-1].outcome == "refused"


def test_expired_credentials_are_explained_in_slack_and_on_the_cli(cli_env: Bot,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    bot = cli_env
    bot.aws.sandbox.fail_next("GetCallerIdentity", "ExpiredToken", "The security token included in the request is "
                              "expired", status=403, times=10)
    try:
        seen = mark(bot)
        bot.driver.command(ADMIN, "setup")
        opened = wait_after(bot, seen, "views.open")
        shown = wait_after(bot, seen, "views.update", view_id=opened.response["view"]["id"])
        assert shown.ok and "credentials have expired" in json.dumps(shown.args)
        assert main(["setup"]) == 2
        assert "credentials have expired" in capsys.readouterr().err
    finally:
        bot.aws.sandbox.clear_faults()


class GovCloudBroker:
    """pam-bot running as a role session in AWS GovCloud (only the identity matters for the set-up text)."""

    external_id = EXTERNAL_ID

    def caller_identity(self) -> str:
        return f"arn:aws-us-gov:sts::{ACCOUNT}:assumed-role/pam-bot-task/i-0abc"

    def own_role_path(self, caller_arn: str) -> str | None:
        return "/ops/"


def test_policies_follow_the_principals_partition(bot: Bot) -> None:
    broker: Any = GovCloudBroker()
    service = SetupService(db=bot.db, clock=lambda: datetime.now(UTC), broker=broker, external_id=EXTERNAL_ID,
                           admin=bot.container.services.admin)
    info = service.info(actor=ADMIN, target_path="/pam/")
    assert info.partition == "aws-us-gov"
    assert info.trust_principal == f"arn:aws-us-gov:iam::{ACCOUNT}:role/ops/pam-bot-task"
    by_key = {d.key: d.document for d in info.documents}
    assert statement(by_key["resource_role_trust"])["Principal"] == {"AWS": info.trust_principal}
    assert named(by_key["resource_role_permissions:new"]["Statement"], "AssumeTargetRoles")["Resource"] == \
        [f"arn:aws-us-gov:iam::{ACCOUNT}:role/pam/*"]


@pytest.fixture
def cli_env(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> Bot:
    """The process environment `pam-bot` runs with: the same database and AWS as the bot."""
    env = bot_env(database_url=bot.container.settings.database_url, slack=bot.slack, aws=bot.aws)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return bot


def test_cli_setup_prints_the_same_policies(cli_env: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["setup", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["external_id"], printed["principal"]) == (EXTERNAL_ID, cli_env.aws.bot_arn)
    trust = next(p["document"] for p in printed["policies"] if p["key"] == "resource_role_trust")
    assert statement(trust)["Condition"]["StringEquals"]["sts:ExternalId"] == EXTERNAL_ID
    assert main(["setup", "--revocation"]) == 0
    text = capsys.readouterr().out
    assert f"ExternalId:             {EXTERNAL_ID}" in text and "iam:PutRolePolicy" in text


def test_cli_doctor_exits_non_zero_until_everything_works(cli_env: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    bot = cli_env
    target = bot.add_account()
    assert main(["doctor"]) == 0
    assert "everything works" in capsys.readouterr().out
    role = target.rsplit("/", 1)[-1]
    trust = bot.aws.sandbox.iam().get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    broken = json.loads(json.dumps(trust).replace(EXTERNAL_ID, "another-installation-id"))
    bot.aws.sandbox.iam().update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(broken))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL account prod-aws/readonly" in out and "AccessDenied" in out and "fix:" in out
    assert "1 problem found" in out and "OK   resource prod-aws" in out
    assert main(["doctor", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False
    assert bot.audit("setup.doctor")[-1].actor.startswith("cli:")


def test_doctor_warns_about_accounts_anyone_gets_at_once(cli_env: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    bot = cli_env
    bot.add_account(name="open", auto_approve=True, requesters_everyone=True)
    bot.add_account(name="named", auto_approve=True, requester_ids=(REQUESTER,))
    assert main(["doctor"]) == 0  # a warning, not a failure
    out = capsys.readouterr().out
    assert "WARN account prod-aws/open: Anyone in the workspace gets it at once" in out
    assert "prod-aws/named: Anyone" not in out
    assert main(["doctor", "--json"]) == 0
    warned = [c for c in json.loads(capsys.readouterr().out)["checks"] if c["warning"]]
    assert [c["subject"] for c in warned] == ["account prod-aws/open"] and "--requesters" in warned[0]["fix"]
