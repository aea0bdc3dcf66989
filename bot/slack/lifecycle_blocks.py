"""Pure Block Kit builders for sessions: the list and what a revocation did."""

from __future__ import annotations

from collections.abc import Sequence

from bot.services.ports import RequestView
from bot.services.read_models import SessionRead
from bot.slack.blocks import Message, context, section, text_message, when

LIST_LIMIT = 40


def sessions_message(rows: Sequence[SessionRead], *, everyone: bool, whose: str | None = None) -> Message:
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
        continues = f" (extends {row.continues})" if row.continues else ""
        blocks.append(section(f"{owner}`{row.resource_name}/{row.account_name}` · {row.ref}{continues} · ends "
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
    name = session.role_session_name if session else ""
    code = outcome.split(":", 1)[1] if ":" in outcome else ""
    if outcome == "applied":
        aws = ("*In AWS:* the Target Role now denies every request made with this session's credentials "
               f"(`{name}`), so the open console stops working within a few minutes (IAM takes a moment to "
               "spread). Your other sessions and other people using the same role are not affected, and what was "
               "already done is not undone. The deny rule is removed once those credentials have expired.")
    elif outcome.startswith("retrying:"):
        aws = (f"*In AWS: not cut yet.* AWS refused the deny rule ({code}), so the console still works. pam-bot "
               "keeps trying for the next 20 minutes or so and tells the approvers and admins if AWS keeps "
               "refusing.")
    elif outcome.startswith("gave_up:"):
        aws = (f"*In AWS: not cut.* AWS kept refusing the deny rule ({code}), so the console keeps working "
               f"until {ends}. The approvers and pam-bot's admins have been told; an admin should check that the "
               f"Resource Role may call iam:PutRolePolicy on the Target Role and run `/pam revoke {ref}` again.")
    elif outcome == "expired":
        aws = "*In AWS:* its credentials had already expired, so there was nothing left to cut."
    else:
        aws = ("*In AWS: nothing changed.* This account does not have revocation enabled, so the credentials "
               f"behind an open console (and an unused sign-in link) keep working until {ends}. An admin can "
               "enable revocation on the account so that later sessions can be cut in AWS.")
    cut = outcome.startswith(("retrying:", "gave_up:"))
    state = "ended in pam-bot and still being cut off in AWS" if cut else "revoked in pam-bot"
    return f"Session {ref} is {state}: it is marked ended and its card says so.\n{aws}"


def link_closed_message(view: RequestView) -> Message:
    """What the DM with the sign-in link becomes once the session was ended early: no link, no buttons."""
    session = view.session
    assert session is not None
    who = ("you said you were done" if session.revoked_by in (None, view.request.requester_id)
           else f"<@{session.revoked_by}> revoked it")
    return text_message(f"⚪ Session {session.ref} on `{view.request.resource_name}/{view.request.account_name}` "
                        f"is over: {who}. Its sign-in link is no longer here.")
