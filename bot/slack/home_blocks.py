"""Pure Block Kit builder of the App Home tab: sessions, pending requests, decisions waiting, configuration."""

from __future__ import annotations

from typing import Any

from bot.domain.durations import format_duration
from bot.domain.text import escape_mrkdwn, plural, truncate
from bot.services.home import ConfigSummary, HomeData, RequestItem, SessionItem
from bot.slack.blocks import button, context, section, when
from bot.slack.ids import Action

VIEW_BLOCKS = 100
REASON_SHOWN = 300
DIVIDER: dict[str, Any] = {"type": "divider"}


def home_view(data: HomeData) -> dict[str, Any]:
    """The Home tab of one person; lists are cut and counted so the view always fits Slack's limits."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "pam-bot"}},
        {**section("Just-in-time access to the AWS console. Ask for an account; once it is approved, "
                   "the sign-in link arrives in a DM."),
         "accessory": button("Request access", Action.OPEN_REQUEST, style="primary")},
        DIVIDER,
        *_sessions(data.sessions, data.sessions_total),
        DIVIDER,
        *_pending(data.pending, data.pending_total),
    ]
    if data.to_approve_total:
        blocks += [DIVIDER, *_to_approve(data.to_approve, data.to_approve_total)]
    if data.config is not None:
        blocks += [DIVIDER, *_config(data.config)]
    blocks.append(context("`/pam help` lists every command."))
    return {"type": "home", "blocks": fit(blocks, VIEW_BLOCKS)}


def fit(blocks: list[dict[str, Any]], most: int) -> list[dict[str, Any]]:
    """At most `most` blocks; when cut, the last one says so."""
    if len(blocks) <= most:
        return blocks
    return [*blocks[: most - 1], context("There is more than fits here; use `/pam` commands for the rest.")]


def _sessions(items: tuple[SessionItem, ...], total: int) -> list[dict[str, Any]]:
    blocks = [section(f"*Your active sessions* ({total})")]
    if not total:
        return [*blocks, context("No active sessions.")]
    blocks += [section(f"`{s.resource}/{s.account}` · {s.ref}{f' (extends {s.continues})' if s.continues else ''} · "
                       f"ends {when(s.expires_at)}\n"
                       f"CloudTrail name `{s.role_session_name}`") for s in items]
    return [*blocks, *_more(total - len(items), "`/pam sessions` lists them all.")]


def _pending(items: tuple[RequestItem, ...], total: int) -> list[dict[str, Any]]:
    blocks = [section(f"*Your pending requests* ({total})")]
    if not total:
        return [*blocks, context("No requests waiting for approval.")]
    for item in items:
        blocks.append({**section(f"`{item.resource}/{item.account}` · {item.ref} · "
                                 f"{format_duration(item.duration_seconds)} · {_progress(item)}\n{_reason(item)}"),
                       "accessory": button("Cancel", Action.CANCEL, item.ref)})
    return [*blocks, *_more(total - len(items), "Cancel any of them with `/pam cancel R-XXXXXX`.")]


def _to_approve(items: tuple[RequestItem, ...], total: int) -> list[dict[str, Any]]:
    blocks = [section(f"*Waiting for your decision* ({total})")]
    for item in items:
        blocks += [
            section(f"<@{item.requester_id}> asks for `{item.resource}/{item.account}` ({item.ref}) for "
                    f"{format_duration(item.duration_seconds)} · asked {when(item.created_at)} · "
                    f"{_progress(item)}\n{_reason(item)}"),
            {"type": "actions", "block_id": f"decide:{item.ref}", "elements": [
                button("Approve", Action.APPROVE, item.ref, style="primary"),
                button("Deny", Action.DENY, item.ref, style="danger"),
            ]},
        ]
    return [*blocks, *_more(total - len(items), "The oldest are shown first; the rest wait on their cards too.")]


def _config(config: ConfigSummary) -> list[dict[str, Any]]:
    names = ", ".join(f"`{n}`" for n in config.resource_names)
    more = "…" if config.resources > len(config.resource_names) else ""
    text = (f"*Configuration* · {plural(config.resources, 'resource')}, {plural(config.accounts, 'account')}, "
            f"{plural(config.admins, 'admin')}" + (f"\n{names}{more}" if names else "\nNothing is set up yet."))
    return [{**section(text), "accessory": button("Open admin", Action.OPEN_ADMIN)},
            context("`/pam setup` shows what AWS needs; the admin window has a Check button that tries every role.")]


def _progress(item: RequestItem) -> str:
    return f"{item.approvals} of {item.approvals_required} approvals"


def _reason(item: RequestItem) -> str:
    if not item.reason:
        return "_no reason given_"
    return f"Reason: {escape_mrkdwn(truncate(' '.join(item.reason.split()), REASON_SHOWN))}"


def _more(count: int, hint: str) -> list[dict[str, Any]]:
    return [context(f"…and {count} more. {hint}")] if count > 0 else []
