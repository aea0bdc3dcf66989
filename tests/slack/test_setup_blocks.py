"""Set-up JSON is split into code sections within Slack's limits; the doctor's report fits whatever its size."""

from __future__ import annotations

import json

from bot.domain import iam_policies as policies
from sandbox.slack_blocks import check_view
from bot.services.setup import Check, DoctorReport, PolicyDocument, SetupInfo
from bot.slack.setup_blocks import code_sections, doctor_view, setup_view

PRINCIPAL = "arn:aws-us-gov:iam::123456789012:user/pam-bot"
EXTERNAL_ID = "pam-test-external-id"


def unfence(blocks: list[dict]) -> str:
    return "\n".join(b["text"]["text"].removeprefix("```\n").removesuffix("\n```") for b in blocks)


def test_long_text_is_split_at_lines_and_comes_back_whole() -> None:
    text = "\n".join(f'    "line {i}": "{"x" * (i % 90)}",' for i in range(400))
    blocks = code_sections(text)
    assert len(blocks) > 1
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)
    assert unfence(blocks) == text


def test_a_line_longer_than_a_section_is_cut_not_lost() -> None:
    text = "a" * 7000
    blocks = code_sections(text)
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)
    assert unfence(blocks).replace("\n", "") == text


def info(resources: int) -> SetupInfo:
    documents = [PolicyDocument("resource_role_trust", "Resource Role: trust policy", "here",
                                policies.resource_role_trust_policy(PRINCIPAL, EXTERNAL_ID))]
    for i in range(resources):
        arn = f"arn:aws-us-gov:iam::123456789012:role/resource-{i}"
        documents.append(PolicyDocument(f"target_role_trust:r{i}", f"Target Roles of r{i}: trust policy", "there",
                                        policies.target_role_trust_policy(arn, EXTERNAL_ID)))
    return SetupInfo(EXTERNAL_ID, PRINCIPAL, PRINCIPAL, "aws-us-gov", tuple(documents))


def test_setup_view_carries_parseable_policies() -> None:
    view = setup_view(info(1))
    check_view(view)
    code = [b for b in view["blocks"] if b.get("text", {}).get("text", "").startswith("```")]
    documents = [json.loads(unfence([b])) for b in code]
    assert documents[0]["Statement"][0]["Principal"] == {"AWS": PRINCIPAL}
    assert documents[0]["Statement"][0]["Condition"] == {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}
    assert documents[1]["Statement"][0]["Principal"]["AWS"].startswith("arn:aws-us-gov:iam::")
    assert EXTERNAL_ID in json.dumps(view) and PRINCIPAL in json.dumps(view)


def test_many_resources_are_named_not_overflowing() -> None:
    view = setup_view(info(80))
    check_view(view)
    assert len(view["blocks"]) <= 100
    assert "`pam-bot setup` prints them all" in json.dumps(view)


def test_doctor_view_puts_problems_first_and_fits() -> None:
    checks = [Check(f"account r/a{i}", True, "works") for i in range(150)]
    checks.insert(75, Check("resource r", False, "AccessDenied <x>", "Fix the trust policy"))
    view = doctor_view(DoctorReport(tuple(checks)))
    check_view(view)
    assert len(view["blocks"]) <= 100
    text = json.dumps(view, ensure_ascii=False)
    assert "1 problem found" in text and "&lt;x&gt;" in text and "`pam-bot doctor` lists everything" in text
    assert "❌" in view["blocks"][1]["text"]["text"]
    assert "Everything works" in json.dumps(doctor_view(DoctorReport((Check("x", True, "ok"),))))
