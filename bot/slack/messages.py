"""Pure Block Kit builders for direct messages to requesters and approvers."""

from __future__ import annotations

from bot.domain.durations import format_duration
from bot.domain.states import RequestStatus
from bot.domain.text import escape_mrkdwn
from bot.services.ports import RequestView
from bot.slack.blocks import Message, button, context, section, text_message, when
from bot.slack.ids import Action


BUTTON_URL_MAX = 3000  # Slack refuses a button whose url is longer; AWS does not bound a SigninToken's size


def console_link_message(view: RequestView, link: str) -> Message:
    """The grant DM: the only message that ever carries a sign-in link (in its button, or its text when too long)."""
    request, session = view.request, view.session
    assert session is not None
    account = f"{request.resource_name}/{request.account_name}"
    if len(link) > BUTTON_URL_MAX:
        return _long_link_message(view, link)
    return {
        "text": f"Your AWS console access to {account} is ready (session {session.ref}).",
        "blocks": [
            section(f"*Your AWS console access to `{account}` is ready.*\n"
                    f"Role: `{session.assumed_role_arn}`\nSession ends {when(session.expires_at)}."),
            {"type": "actions", "block_id": f"session:{session.ref}", "elements": [
                button("Open AWS Console", Action.OPEN_CONSOLE, session.ref, style="primary", url=link),
                button("I'm done", Action.DONE, session.ref),
            ]},
            context(f"The button works for 15 minutes and only for you: do not share it. "
                    f"Session {session.ref}; CloudTrail names you as `{session.role_session_name}`."),
        ],
    }


def new_link_offer(view: RequestView) -> Message:
    """When the link DM could not land: a button that makes a fresh link for the session's remaining time."""
    request, session = view.request, view.session
    assert session is not None
    account = f"{request.resource_name}/{request.account_name}"
    return {
        "text": f"The sign-in link to {account} (session {session.ref}) never reached you; get a new one here.",
        "blocks": [
            section(f"Your access to `{account}` was granted (session {session.ref}, ends "
                    f"{when(session.expires_at)}), but the message with its sign-in link never reached you."),
            {"type": "actions", "block_id": f"relink:{session.ref}",
             "elements": [button("Get a new link", Action.NEW_LINK, session.ref, style="primary")]},
        ],
    }


def _long_link_message(view: RequestView, link: str) -> Message:
    """The grant DM as text only: a message with blocks shows no text, and a block cannot hold this link."""
    request, session = view.request, view.session
    assert session is not None
    return {"text": (
        f"*Your AWS console access to `{request.resource_name}/{request.account_name}` is ready.*\n"
        f"Role: `{session.assumed_role_arn}`\nSession ends {when(session.expires_at)}.\n"
        f"<{escape_mrkdwn(link)}|Open AWS Console>\n"
        f"The link works for 15 minutes and only for you: do not share it. End the session early with "
        f"`/pam revoke {session.ref}`. CloudTrail names you as `{session.role_session_name}`.")}


def requester_notice(view: RequestView, event: str) -> Message:
    """What became of a request, in words the requester can act on."""
    request = view.request
    account = f"`{request.resource_name}/{request.account_name}`"
    reasons = [f"<@{d.approver_id}>: {escape_mrkdwn(d.reason)}" for d in view.decisions
               if d.verdict == "deny" and d.reason]
    texts = {
        "denied": f"⛔ Your request {request.ref} for {account} was denied."
                  + ("\n" + "\n".join(reasons) if reasons else ""),
        "failed": f"⚠️ Your request {request.ref} for {account} was approved, but the console session could "
                  f"not be created: {escape_mrkdwn(request.failure_message or 'unknown error')}",
        "expired": f"⌛ Your request {request.ref} for {account} expired: nobody decided in time. "
                   f"Ask again with `/pam access {request.resource_name} {request.account_name}`.",
        "cancelled": f"🚫 Your request {request.ref} for {account} was cancelled.",
        "scheduled": f"🗓️ Your request {request.ref} for {account} is approved. The console link comes by DM "
                     f"{when(request.starts_at) if request.starts_at else 'at its start'}; cancel it before then "
                     f"with `/pam cancel {request.ref}`.",
        "delayed": f"⏳ Your request {request.ref} for {account} was approved, but pam-bot stopped while creating "
                   f"the console session. Another pam-bot process is finishing it now; the link follows.",
        "revoked": f"🛑 Your session {view.session.ref if view.session else ''} on {account} was revoked.",
    }
    return text_message(texts.get(event, f"Your request {request.ref} is now {request.status}."))


def submitted_message(view: RequestView) -> Message:
    """Ephemeral confirmation to the requester."""
    request = view.request
    start = f", starting {when(request.starts_at)}" if request.starts_at else ""
    return text_message(
        f"Request {request.ref} for `{request.resource_name}/{request.account_name}` "
        f"({format_duration(request.duration_seconds)}{start}) is waiting for approval. "
        f"You will get a DM when it is decided. Cancel it with `/pam cancel {request.ref}`.")


def granted_ephemeral(view: RequestView) -> Message:
    request = view.request
    if request.status == RequestStatus.GRANTED:
        return text_message(f"Request {request.ref} was approved: check your DMs for the console link.")
    if request.status == RequestStatus.APPROVED and request.starts_at is not None:
        return text_message(f"Request {request.ref} is approved; the console link comes by DM {when(request.starts_at)}.")
    return text_message(f"Request {request.ref} is {request.status}"
                        + (f": {request.failure_message}" if request.failure_message else "."))


def reminder_message(view: RequestView, escalate_to: str | None = None) -> Message:
    """In the card's thread: the approvers (and, on the last reminder, a group the account escalates to)."""
    request = view.request
    who = [f"<@{a}>" for a in sorted(view.approver_ids)[:20]]
    who += [f"<!subteam^{view.approver_group}>"] if view.approver_group else []
    who += [f"<!subteam^{escalate_to}>"] if escalate_to and escalate_to.startswith("S") else []
    tail = " Escalated: nobody has decided yet." if escalate_to else ""
    return text_message(f"⏰ {' '.join(who) + ' ' if who else ''}Request {request.ref} from <@{request.requester_id}> "
                        f"for `{request.resource_name}/{request.account_name}` is still waiting for a decision.{tail}")


def escalation_message(view: RequestView) -> Message:
    """Posted in an account's escalation channel by the last reminder."""
    request = view.request
    where = f" in <#{view.channel}>" if view.channel else ""
    return text_message(f"⏫ Request {request.ref} from <@{request.requester_id}> for "
                        f"`{request.resource_name}/{request.account_name}` has had no decision{where}. An approver "
                        "is needed before it expires.")


def expiry_warning_message(view: RequestView) -> Message:
    session = view.session
    assert session is not None
    value = f"{view.request.resource_name} {view.request.account_name}"
    return {
        "text": f"Your AWS session {session.ref} ends {when(session.expires_at, '{time}')}.",
        "blocks": [
            section(f"⏳ Your session on `{view.request.resource_name}/{view.request.account_name}` "
                    f"ends {when(session.expires_at, '{time}')}."),
            {"type": "actions", "block_id": f"again:{session.ref}",
             "elements": ([button("Extend", Action.EXTEND, session.ref, style="primary")]
                          if session.extension < view.max_extensions else [])
             + [button("Request again", Action.REQUEST_AGAIN, value)]},
        ],
    }


def session_ended_message(view: RequestView) -> Message:
    session = view.session
    assert session is not None
    return text_message(f"⚪ Your session {session.ref} on "
                        f"`{view.request.resource_name}/{view.request.account_name}` has ended.")



def approvers_notice(view: RequestView, event: str) -> Message:
    """A note in the approval card's thread about what became of an approved request."""
    request = view.request
    account = f"`{request.resource_name}/{request.account_name}`"
    if event == "failed":
        return text_message(f"⚠️ Request {request.ref} from <@{request.requester_id}> for {account} was approved, "
                            f"but no console session came of it: "
                            f"{escape_mrkdwn(request.failure_message or 'unknown error')} "
                            f"<@{request.requester_id}> has been told.")
    if event == "approvers_unreadable":
        group = f"<!subteam^{view.approver_group}>" if view.approver_group else "the approver group"
        return text_message(f"⚠️ Someone tried to decide on request {request.ref} for {account}, but pam-bot could "
                            f"not read {group} or found it empty, so it cannot tell who may approve: nobody can "
                            "decide until it can. A pam-bot admin should check the group (and that pam-bot has "
                            "`usergroups:read`).")
    if event == "revoke_failed":
        return text_message(still_live_text(view))
    if event == "link_not_delivered":
        return text_message(f"⚠️ Request {request.ref} for {account} was granted, but its console link never "
                            f"reached <@{request.requester_id}> (Slack refused the DM, or pam-bot stopped before "
                            f"sending it). They have been offered a new link for the session's remaining time.")
    return text_message(f"Request {request.ref} for {account} is now {request.status}.")


def still_live_text(view: RequestView) -> str:
    """A revocation AWS never accepted: the session still works there, and what to do about it."""
    request, session = view.request, view.session
    assert session is not None
    return (f"🚨 Session {session.ref} of <@{request.requester_id}> on `{request.resource_name}/"
            f"{request.account_name}` was revoked in pam-bot, but AWS still accepts it: every attempt to add the "
            f"deny rule failed (last error: {escape_mrkdwn(session.revoke_error or 'unknown')}). Its credentials "
            f"keep working until {when(session.expires_at)}. Check that the Resource Role may call "
            f"iam:PutRolePolicy on `{session.target_role_arn}` (`/pam setup`), then run "
            f"`/pam revoke {session.ref}` again; or use \"Revoke active sessions\" on that role in the IAM "
            f"console, which cuts every session of the role.")


def admins_notice(view: RequestView, event: str) -> Message:
    """Something pam-bot's admins must act on."""
    if event == "revoke_failed":
        return text_message(still_live_text(view))
    return text_message(f"Request {view.request.ref} is now {view.request.status}.")
