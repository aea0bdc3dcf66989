"""Pure Block Kit builders for break-glass: the red card, the alert DM, the review reminder, the flag notice."""

from __future__ import annotations

from typing import Any

from bot.domain.durations import format_duration
from bot.domain.states import RequestStatus
from bot.domain.text import escape_mrkdwn, truncate
from bot.services.ports import RequestView
from bot.slack.blocks import Message, button, context, section, session_status, text_message, when
from bot.slack.ids import Action


def break_glass_card(view: RequestView) -> Message:
    """Where approval cards go: who took what and why, its state, and Reviewed / Flag until an approver reviews."""
    request = view.request
    account = f"{request.resource_name}/{request.account_name}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "🚨 Break-glass access"}},
        section(f"*<@{request.requester_id}> took `{account}` without approval* ({request.ref})"),
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Duration*\n{format_duration(request.duration_seconds)}"},
            {"type": "mrkdwn", "text": f"*Target role*\n`{truncate(request.target_role_arn, 1000)}`"},
        ]},
        section(f"*Reason*\n{escape_mrkdwn(truncate(request.reason, 2000))}"),
        context("\n".join(line for line in (_state(view), _review(view)) if line)),
    ]
    if request.review is None and request.status in (RequestStatus.APPROVED, RequestStatus.GRANTED):
        blocks.append({"type": "actions", "block_id": f"review:{request.ref}", "elements": [
            button("Reviewed", Action.BREAK_GLASS_REVIEWED, request.ref, style="primary"),
            button("Flag and revoke", Action.BREAK_GLASS_FLAG, request.ref, style="danger"),
        ]})
    return {"text": f"🚨 Break-glass {request.ref}: <@{request.requester_id}> took {account} without approval "
                    f"({request.review or 'not reviewed yet'})", "blocks": blocks}


def _state(view: RequestView) -> str:
    request, session = view.request, view.session
    if request.status == RequestStatus.GRANTED and session is not None:
        return session_status(session.status, session.expires_at, session.ended_at)
    if request.status == RequestStatus.FAILED:
        return f"⚠️ Failed: {escape_mrkdwn(request.failure_message or 'the session could not be created')}"
    return "🔐 Creating the console session…" if request.status == RequestStatus.APPROVED else request.status


def _review(view: RequestView) -> str:
    request = view.request
    if request.review == "reviewed":
        return f"👀 Reviewed by <@{request.reviewed_by}> {when(request.reviewed_at, '{time}')}" \
            if request.reviewed_at else ""
    if request.review == "flagged":
        return (f"🚩 Flagged by <@{request.reviewed_by}> {when(request.reviewed_at, '{time}')}; the session was "
                "revoked") if request.reviewed_at else ""
    return "An approver must review this: *Reviewed* if it was right, *Flag and revoke* to cut it now."


def break_glass_alert(view: RequestView) -> Message:
    """The DM every approver and admin gets (the link never)."""
    request = view.request
    return text_message(f"🚨 <@{request.requester_id}> used *break-glass* on "
                        f"`{request.resource_name}/{request.account_name}` ({request.ref}) for "
                        f"{format_duration(request.duration_seconds)}: {escape_mrkdwn(truncate(request.reason, 500))}"
                        "\nReview it on its card (Reviewed, or Flag and revoke).")


def break_glass_reminder(view: RequestView) -> Message:
    request = view.request
    approvers = " ".join(f"<@{a}>" for a in sorted(view.approver_ids)[:20])
    group = f" <!subteam^{view.approver_group}>" if view.approver_group else ""
    return text_message(f"⏰ {approvers}{group} break-glass {request.ref} by <@{request.requester_id}> is still "
                        "waiting for a review.".strip())


def break_glass_flagged(view: RequestView) -> Message:
    request = view.request
    return text_message(f"🚩 Your break-glass {request.ref} on `{request.resource_name}/{request.account_name}` was "
                        f"flagged by <@{request.reviewed_by}> and the session revoked. Talk to them about it.")
