"""Pure Block Kit builders for messages: approval cards, DMs, help and lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.command import HELP_TEXT
from bot.domain.durations import format_duration
from bot.domain.states import RequestStatus, SessionStatus
from bot.domain.text import escape_mrkdwn, truncate
from bot.services.ports import RequestView
from bot.services.read_models import AccountRead, ResourceRead
from bot.slack.ids import Action

Message = dict[str, Any]
SECTION_LIMIT = 3000


def when(moment: datetime, style: str = "{date_short_pretty} at {time}") -> str:
    """Slack date token: every reader sees their own time zone; the fallback is UTC."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{style}|{fallback}>"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}]}


def button(text: str, action: Action, value: str = "", *, style: str | None = None,
           url: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": truncate(text, 75)},
                               "action_id": action.value}
    if value:
        element["value"] = value
    if style:
        element["style"] = style
    if url:
        element["url"] = url
    return element


def text_message(text: str) -> Message:
    """A plain ephemeral or DM answer."""
    return {"text": text, "blocks": [section(text)]}


def help_message() -> Message:
    return {"text": "How to use /pam", "blocks": [section(f"*How to use /pam*\n```{HELP_TEXT}```")]}


def who_approves(account: AccountRead) -> str:
    if account.auto_approve:
        limit = account.auto_approve_daily_limit
        return "auto-approved" + (f" (up to {limit} a day)" if limit else "")
    people = [f"<@{user_id}>" for user_id in account.approver_ids or ()]
    if account.approver_group:
        people.append(f"<!subteam^{account.approver_group}>")
    who = ", ".join(people) or "pam-bot admins"
    needed = account.approvals_required
    return f"{who}" + (f" ({needed} approvals needed)" if needed > 1 else "")


def catalog_message(rows: Sequence[tuple[ResourceRead, AccountRead]], limit: int = 45) -> Message:
    """`/pam list`: every account with description, duration and who approves."""
    if not rows:
        return text_message("There is no account you can ask for yet. A pam-bot admin can add you to an "
                            "account's requesters, or add an account with `/pam admin`.")
    blocks = [section(f"*Accounts you can ask for* ({len(rows)})")]
    for resource, account in rows[:limit]:
        description = f" — {escape_mrkdwn(account.description)}" if account.description else ""
        blocks.append(section(
            f"`{resource.name} {account.name}`{description}\n"
            f"Up to {format_duration(account.default_duration_seconds)} · approved by {who_approves(account)}"))
    if len(rows) > limit:
        blocks.append(context(f"…and {len(rows) - limit} more. Ask with `/pam access <resource> <account>`."))
    blocks.append(context("Ask with `/pam access <resource> <account> [duration] [reason…]`"))
    return {"text": f"{len(rows)} accounts you can ask for", "blocks": blocks}


def request_card(view: RequestView) -> Message:
    """The approval card; buttons only while the request is pending."""
    request = view.request
    account = f"{request.resource_name}/{request.account_name}"
    reason = escape_mrkdwn(truncate(request.reason, 2000)) if request.reason else "_no reason given_"
    blocks: list[dict[str, Any]] = [
        section(f"*<@{request.requester_id}> asks for `{account}`* ({request.ref})"),
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Duration*\n{format_duration(request.duration_seconds)}"},
            {"type": "mrkdwn", "text": f"*Target role*\n`{truncate(request.target_role_arn, 1000)}`"},
        ]},
        section(f"*Reason*\n{reason}"),
    ]
    if request.starts_at is not None:
        blocks.append(context(f"🗓️ Scheduled: the session starts {when(request.starts_at)} once approved"))
    if request.extends is not None:
        blocks.append(context(f"🔁 Extension of session {request.extends}: a new session continues it"))
    blocks.extend(_card_status(view))
    if request.status == RequestStatus.PENDING:
        blocks.append({"type": "actions", "block_id": f"decide:{request.ref}", "elements": [
            button("Approve", Action.APPROVE, request.ref, style="primary"),
            button("Deny", Action.DENY, request.ref, style="danger"),
        ]})
    return {"text": f"Access request {request.ref}: <@{request.requester_id}> asks for {account} "
                    f"({request.status})", "blocks": blocks}


def _card_status(view: RequestView) -> list[dict[str, Any]]:
    request, session = view.request, view.session
    approvals = [d for d in view.decisions if d.verdict == "approve"]
    lines = [f"✅ Approved by <@{d.approver_id}> {when(d.created_at, '{time}')}" for d in approvals]
    lines += [f"⛔ Denied by <@{d.approver_id}> {when(d.created_at, '{time}')}"
              + (f": {escape_mrkdwn(truncate(d.reason, 500))}" if d.reason else "")
              for d in view.decisions if d.verdict == "deny"]
    status = {
        RequestStatus.PENDING: f"⏳ Waiting for approval: {len(approvals)} of {request.approvals_required}",
        RequestStatus.APPROVED: "🗓️ Approved — waiting for its start" if request.starts_at is not None
                    and request.grant_attempts == 0 else "🔐 Approved — creating the console session…",
        RequestStatus.DENIED: "⛔ Denied",
        RequestStatus.EXPIRED: "⌛ Expired: nobody decided in time",
        RequestStatus.CANCELLED: "🚫 Cancelled" + (f" ({escape_mrkdwn(request.failure_message)})"
                                                   if request.failure_message else " by the requester"),
        RequestStatus.FAILED:
            f"⚠️ Failed: {escape_mrkdwn(request.failure_message or 'the session could not be created')}",
    }.get(request.status, "")
    if request.auto_approved:
        lines.insert(0, "⚡ Auto-approved by the account's policy")
    if request.status == RequestStatus.GRANTED and session is not None:
        status = session_status(session.status, session.expires_at, session.ended_at)
    return [context("\n".join([status, *lines]).strip() or request.status)]


def session_status(status: str, expires_at: datetime, ended_at: datetime | None) -> str:
    if status == SessionStatus.ACTIVE:
        return f"🟢 Granted · session ends {when(expires_at)}"
    if status == SessionStatus.REVOKED:
        return f"🛑 Session revoked {when(ended_at or expires_at)}"
    if status == SessionStatus.REVOKING:
        return f"🟠 Session ended {when(ended_at or expires_at)} · being cut off in AWS"
    return f"⚪ Session ended {when(ended_at or expires_at)}"
