"""Pure Block Kit builders for sessions: the list and what a revocation did."""

from __future__ import annotations

from collections.abc import Sequence

from bot.services.ports import RequestView
from bot.slack.blocks import Message, context, section, text_message, when
from storage.models import AccessSession

LIST_LIMIT = 40


def sessions_message(rows: Sequence[AccessSession], *, everyone: bool, whose: str | None = None) -> Message:
    """`/pam sessions`: one line per active session; `whose` names the person an admin asked about."""
    if whose:
        title, empty = f"Active sessions of <@{whose}>", f"<@{whose}> has no active sessions."
    elif everyone:
        title, empty = "Active sessions", "No active sessions."
    else:
        title, empty = "Your active sessions", "You have no active sessions."
    if not rows:
        return text_message(empty)
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
    session = view.session
    ref = session.ref if session else view.request.ref
    ends = when(session.expires_at, "{time}") if session else "when it would have ended"
    if outcome == "applied":
        aws = ("*In AWS:* the Target Role now denies every request made with credentials issued to "
               f"`{session.role_session_name if session else ''}` before this moment, so the open console "
               "stops working within a few minutes (IAM takes a moment to spread). Other people using the same "
               "role are not affected, and what was already done is not undone. The deny rule is removed "
               "after an hour, once those credentials could no longer work anyway.")
    elif outcome.startswith("failed:"):
        aws = (f"*In AWS: nothing changed.* pam-bot could not add the deny rule "
               f"({outcome.split(':', 1)[1]}), so an open console keeps working until {ends}. "
               "An admin should check that the Resource Role may call iam:PutRolePolicy on the Target Role.")
    else:
        aws = ("*In AWS: nothing changed.* This account does not have revocation enabled, so an open console "
               f"(and an unused sign-in link) keeps working until {ends}. An admin can enable revocation on "
               "the account to cut sessions in AWS.")
    return f"Session {ref} is revoked in pam-bot: it is marked ended and its card says so.\n{aws}"


def link_closed_message(view: RequestView) -> Message:
    """What the DM with the sign-in link becomes once its owner said "I'm done": no link, no buttons."""
    session = view.session
    assert session is not None
    return text_message(f"⚪ Session {session.ref} on `{view.request.resource_name}/{view.request.account_name}` "
                        f"is over: you said you were done. Its sign-in link is no longer here.")
