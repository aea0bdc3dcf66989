"""Extending a session: AWS cannot lengthen a chained session, so an extension is a new grant that continues it."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.durations import format_duration
from bot.domain.errors import Conflict, NotAllowed, NotFound
from bot.domain.states import SessionStatus
from bot.domain.text import plural, quote
from bot.services.base import Tx
from storage.models import Account, Resource

DAY = timedelta(days=1)


def extendable(tx: Tx, session_ref: str, user_id: str, *, daily_cap_seconds: int) -> tuple[Resource, Account]:
    """The resource and account of `user_id`'s active session `session_ref`, when it may have one more extension;
    NotAllowed (or NotFound, Conflict) saying why not."""
    session = tx.sessions.by_ref(session_ref)
    if session is None or session.requester_id != user_id:
        raise NotFound(f"You have no session {quote(session_ref)}.")
    if session.status != SessionStatus.ACTIVE:
        raise Conflict(f"Session {session.ref} has ended; ask again with "
                       f"`/pam access {session.resource_name} {session.account_name}`.")
    found = tx.config.account_by_id(session.account_id) if session.account_id else None
    if found is None:
        raise NotAllowed("The account of this session was removed; it cannot be extended.", code="account_removed")
    res, acc = found
    if session.extension >= acc.max_extensions:
        allowed = "no extensions" if not acc.max_extensions else plural(acc.max_extensions, "extension")
        raise NotAllowed(f"`{res.name}/{acc.name}` allows {allowed} per session; ask again with "
                         f"`/pam access {res.name} {acc.name}` when this one ends.", code="extension_limit")
    used = tx.requests.granted_seconds_since(user_id, acc.id, tx.now - DAY)
    if used + acc.default_duration_seconds > daily_cap_seconds:
        raise NotAllowed(f"An extension would take you past {format_duration(daily_cap_seconds)} on "
                         f"`{res.name}/{acc.name}` in 24 hours (the daily cap): you have had "
                         f"{format_duration(used)}.", code="daily_cap")
    return res, acc
