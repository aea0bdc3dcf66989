"""The configuration file: strict YAML, the JSON Schema, and dump/load giving back the same configuration."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from bot.services.config_file import FileError, dump, load
from bot.domain.config_schema import SCHEMA
from bot.services.account_spec import AccountSpec
from bot.services.config_plan import DesiredConfig, ResourceConfig, make_plan

ARN = "arn:aws:iam::123456789012:role/"
CONFIG = DesiredConfig(admins=("U0ADMIN1",), resources=(ResourceConfig(
    "prod-aws", ARN + "resource", "Production", True, (
        AccountSpec("prod-aws", "readonly", ARN + "ro", "30m", requesters_everyone=True, approver_group="S0ONCALL",
                    approval_channel="C0APPROVE", require_reason=True),
        AccountSpec("prod-aws", "admin", ARN + "admin", "1h", requester_ids=("U0ALICE1",), requester_group="S0DEVS",
                    approver_ids=("U0BOB001", "U0CAROL1"), approvals_required=2, auto_approve=True,
                    auto_approve_daily_limit=1, revocation_enabled=True, description="Break-glass",
                    break_glass=True, max_extensions=2, extend_without_approval=True, escalate_to="S0LEADS"),
    )),))


def test_the_schema_is_valid_and_dump_load_round_trips() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    again = load(dump(CONFIG))
    assert make_plan(CONFIG, again, prune=True).changes == ()
    assert make_plan(again, CONFIG, prune=True).changes == ()
    admin = next(a for a in again.resources[0].accounts if a.name == "admin")
    assert (admin.break_glass, admin.max_extensions, admin.extend_without_approval, admin.escalate_to) == \
        (True, 2, True, "S0LEADS")


def test_durations_in_another_spelling_are_not_a_change() -> None:
    text = dump(CONFIG).replace("duration: 30m", "duration: 1800s")
    assert "1800s" in text and make_plan(CONFIG, load(text), prune=False).changes == ()


@pytest.mark.parametrize("text, needle", [
    ("version: 1\nversion: 1\n", "given twice"),
    ("version: 2\n", "version: 1 was expected"),
    ("- 1\n", "(top level): [1] is not of type 'object'"),
    ("version: 1\nadmins: [bob]\n", "admins[0]: 'bob' does not match"),
])
def test_files_the_schema_refuses(text: str, needle: str) -> None:
    with pytest.raises(FileError) as refused:
        load(text, "pam.yaml")
    assert any(needle in problem for problem in refused.value.problems), refused.value.problems
