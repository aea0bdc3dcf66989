"""Pure Block Kit builders for the AWS set-up (ExternalId, principal, policy JSON) and the doctor's report."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.text import escape_mrkdwn, plural
from bot.services.setup import Check, DoctorReport, SetupInfo
from bot.slack.blocks import SECTION_LIMIT, context, section
from bot.slack.ids import View
from bot.slack.modals import modal, plain

VIEW_BLOCKS = 100
FENCE = "```"


def code_sections(text: str, limit: int = SECTION_LIMIT) -> list[dict[str, Any]]:
    """`text` as code blocks in as many sections as it takes, each within `limit` characters (fences included)."""
    room = limit - 2 * len(FENCE) - 2
    chunks: list[str] = []
    current = ""
    for line in escape_mrkdwn(text).splitlines():
        while len(line) > room:  # a line longer than a whole section is cut where it must be
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:room])
            line = line[room:]
        if current and len(current) + 1 + len(line) > room:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current or not chunks:
        chunks.append(current or " ")
    return [{"type": "section", "text": {"type": "mrkdwn", "text": f"{FENCE}\n{chunk}\n{FENCE}"}} for chunk in chunks]


def policy_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2)


def setup_view(info: SetupInfo) -> dict[str, Any]:
    """What to create in AWS, in order, with JSON to paste; documents past the block budget are named, not shown."""
    blocks: list[dict[str, Any]] = [
        section(f"*ExternalId*\n`{info.external_id}`\n*pam-bot's AWS principal*\n`{info.principal_arn}`"
                + (f"\nTrust policies name it as `{info.trust_principal}`."
                   if info.trust_principal != info.principal_arn else "")),
        context(f"Partition `{info.partition}`. Every AssumeRole pam-bot makes carries the ExternalId; the trust "
                "policies below only let pam-bot in when it matches. Both hops of a grant carry one role session "
                "name of its own, naming the person and the session (`alice@example.com+S-ABC123`), so CloudTrail "
                "and a revocation point at exactly that session."),
    ]
    left_out: list[str] = []
    for number, document in enumerate(info.documents, start=1):
        parts = [section(f"*{number}. {document.title}*\n{escape_mrkdwn(document.where)}"),
                 *code_sections(policy_json(document.document))]
        if left_out or len(blocks) + len(parts) > VIEW_BLOCKS - 2:
            left_out.append(document.title)
            continue
        blocks += parts
    if left_out:
        blocks.append(context(f"{plural(len(left_out), 'more document')} did not fit here "
                              f"({', '.join(left_out[:5])}…): `pam-bot setup` prints them all."))
    blocks.append(context("After creating the roles, add them with `/pam admin` and press *Check*."))
    return _read_only(modal(View.SETUP, "AWS set-up", blocks, submit=None))


def doctor_view(report: DoctorReport) -> dict[str, Any]:
    """Problems first, each with its fix; working items after; cut and counted past the block budget."""
    title = "✅ Everything works." if report.ok else f"⚠️ {plural(len(report.problems), 'problem')} found."
    blocks = [section(f"*{title}* pam-bot tried every role for real, as it does for a grant.")]
    ordered = sorted(report.checks, key=lambda check: (check.ok, not check.warning))
    shown = ordered[: VIEW_BLOCKS - 2]
    blocks += [section(check_text(check)) for check in shown]
    if len(ordered) > len(shown):
        blocks.append(context(f"…and {len(ordered) - len(shown)} more: `pam-bot doctor` lists everything."))
    return _read_only(modal(View.CHECK, "pam-bot check", blocks, submit=None))


def check_text(check: Check) -> str:
    mark = "❌" if not check.ok else "⚠️" if check.warning else "✅"
    text = f"{mark} *{escape_mrkdwn(check.subject)}*: {escape_mrkdwn(check.detail)}"
    return text + (f"\n*Fix:* {escape_mrkdwn(check.fix)}" if check.fix else "")


def _read_only(view: dict[str, Any]) -> dict[str, Any]:
    return {**view, "close": plain("Done")}
