"""Drift: a change an admin makes in Slack after `apply` shows up in the next plan, field by field."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.slack_payloads import checkboxes, plain_text_value
from tests.e2e.test_admin import mark, submit, wait_after
from tests.e2e.test_admin_manage import edit_form
from tests.e2e.test_config_apply import pam
from tests.fixtures_bot import APPROVER, APPROVER_2, CHANNEL, Bot, bot_env


def test_a_change_made_in_the_admin_window_is_drift_in_the_next_plan(bot: Bot, database_url: str,
                                                                     tmp_path: Path) -> None:
    target = bot.add_account(duration="1h", description="Read-only")
    env = bot_env(database_url=database_url, slack=bot.slack, aws=bot.aws)
    path = tmp_path / "pam.yaml"
    path.write_text(pam(env, "export").stdout)
    assert pam(env, "apply", "--dry-run", "-f", str(path)).stdout.startswith("No changes")

    form = edit_form(bot, "pam_admin_edit_account", "prod-aws/readonly")
    seen = mark(bot)
    submit(bot, form, {"role_arn": plain_text_value(target), "duration": plain_text_value("45m"),
                       "approvals_required": plain_text_value("1"), "description": plain_text_value("On-call"),
                       "options": checkboxes(["requesters_everyone", "require_reason"])})
    assert "Account saved" in json.dumps(wait_after(bot, seen, "views.update", view_id=form["id"]).args)

    plan = pam(env, "apply", "--dry-run", "-f", str(path))
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.splitlines() == [
        "  ~ account prod-aws/readonly",
        "      description: \"On-call\" → \"Read-only\"",
        "      duration: \"45m\" → \"1h\"",
        f"      approvers: [] → [\"{APPROVER}\", \"{APPROVER_2}\"]",
        f"      channel: (none) → \"{CHANNEL}\"",
        "      require_reason: true → false",
        "Plan: 0 to add, 1 to change, 0 to remove.",
        "Dry run: nothing was changed.",
    ]
    assert pam(env, "apply", "-f", str(path)).returncode == 0
    (_, account), = bot.container.services.admin.accounts()
    assert (account.default_duration_seconds, account.approval_channel, account.require_reason) == \
        (3600, CHANNEL, False)
