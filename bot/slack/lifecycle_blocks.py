"""Pure Block Kit builders for sessions: the list and what a revocation did."""

from __future__ import annotations

from collections.abc import Sequence

from bot.services.ports import RequestView
from bot.slack.blocks import Message, context, section, text_message, when
from storage.models import AccessSession

LIST_LIMIT = 40


def sessions_message(rows: Sequence[AccessSession], *, everyone: bool) -> Message:
    if not rows:
        return text_message("No active sessions." if everyone else "You have no active sessions.")
    title = "Active sessions" if everyone else "Your active sessions"
    blocks = [section(f"*{title}* ({len(rows)})")]
    for row in rows[:LIST_LIMIT]:
        owner = f"<@{row.requester_id}> · " if everyone else ""
        blocks.append(section(f"{owner}`{row.resource_name}/{row.account_name}` · {row.ref} · ends "
                              f"{when(row.expires_at, '{time}')}\nCloudTrail name `{row.role_session_name}`"))
    if len(rows) > LIST_LIMIT:
        blocks.append(context(f"…and {len(rows) - LIST_LIMIT} more."))
    blocks.append(context("End one early with `/pam revoke S-XXXXXX`."))
    return {"text": f"{title}: {len(rows)}", "blocks": blocks}


def revoked_text(view: RequestView, outcome: str) -> str:
    """Say plainly what revocation did, and what it did not."""
    ref = view.session.ref if view.session else view.request.ref
    if outcome == "applied":
        aws = ("AWS now denies this console session for that person; it can take a few minutes to take effect "
               "everywhere.")
    elif outcome.startswith("failed:"):
        aws = (f"pam-bot could not cut it in AWS ({outcome.split(':', 1)[1]}): the console link keeps working "
               "until the session ends. An admin should check the Resource Role's iam:PutRolePolicy permission.")
    else:
        aws = ("This account does not have revocation enabled, so AWS is not told: an open console keeps "
               "working until the session ends.")
    return f"Session {ref} is revoked in pam-bot. {aws}"
