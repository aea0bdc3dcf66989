"""Pure Block Kit builders for `/pam audit`: a page of events and the "More" button's value."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.domain.errors import InvalidInput
from bot.domain.text import escape_mrkdwn, quote, truncate
from bot.services.audit import FILTERS, AuditPage
from bot.services.read_models import AuditRead
from bot.slack.blocks import Message, button, context, section, when
from bot.slack.ids import Action

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_OUTCOME = {"ok": "✅", "refused": "⛔", "failed": "⚠️"}
DETAIL_LIMIT = 1200
VALUE_LIMIT = 2000  # Slack's limit on a button value


def audit_message(page: AuditPage) -> Message:
    """One page of the trail, newest first, with a More button while older events remain."""
    shown = _filters_text(page.filters)
    if not page.events:
        return {"text": "No audit events match.",
                "blocks": [section(f"*Audit trail*{shown}\nNo events match" + (" on this page." if page.page > 1
                                                                                 else "."))]}
    blocks: list[dict[str, Any]] = [section(f"*Audit trail*{shown} · page {page.page}")]
    blocks += [section(event_text(event)) for event in page.events]
    if page.has_more and page.last_id is not None:
        blocks.append({"type": "actions", "block_id": f"audit:{page.page}", "elements": [
            button("More", Action.AUDIT_MORE, more_value(page))]})
    blocks.append(context("Times are shown in your time zone. The full trail: `pam-bot audit export`; "
                          "check it has not been altered: `pam-bot audit verify`."))
    return {"text": f"Audit trail, page {page.page}: {len(page.events)} events", "blocks": blocks}


def event_text(event: AuditRead) -> str:
    """Time, actor, action, target and outcome on one line; the details below."""
    actor = f"<@{event.actor}>" if _USER_ID.fullmatch(event.actor) else f"`{escape_mrkdwn(event.actor)}`"
    target = f" · `{escape_mrkdwn(truncate(event.target, 200))}`" if event.target else ""
    head = (f"{_OUTCOME.get(event.outcome, '•')} {when(event.at, '{date_short} {time_secs}')} · {actor} · "
            f"*{escape_mrkdwn(event.action)}*{target} · {escape_mrkdwn(event.outcome)}")
    details = details_text(event.details or {})
    return f"{head}\n{details}" if details else head


def details_text(details: dict[str, Any]) -> str:
    """Details as `key: value` pairs; a CloudTrail link becomes a link, everything else is escaped text."""
    parts = []
    for key, value in details.items():
        if key == "cloudtrail" and isinstance(value, str) and value.startswith("https://"):
            parts.append(f"<{escape_mrkdwn(value)}|CloudTrail events>")
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        parts.append(f"{escape_mrkdwn(key)}: `{escape_mrkdwn(truncate(text, 300)).replace('`', 'ˋ')}`")
    return truncate(" · ".join(parts), DETAIL_LIMIT)


def more_value(page: AuditPage) -> str:
    """What the More button carries: the filters, where the page ended and the next page's number."""
    value = json.dumps({"f": page.filters, "b": page.last_id, "p": page.page + 1}, separators=(",", ":"))
    if len(value) > VALUE_LIMIT:  # absurdly long filters: keep paging, drop them rather than break the button
        value = json.dumps({"f": {}, "b": page.last_id, "p": page.page + 1}, separators=(",", ":"))
    return value


def read_more_value(value: str) -> tuple[dict[str, str], int, int]:
    """(filters, before_id, page) from a More button's value, which comes back from the client unchecked."""
    try:
        data = json.loads(value)
        filters, before_id, page = data["f"], data["b"], data["p"]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidInput("This button is damaged; run `/pam audit` again.", code="bad_value") from error
    if not (isinstance(filters, dict) and set(filters) <= set(FILTERS)
            and all(isinstance(v, str) for v in filters.values())
            and isinstance(before_id, int) and isinstance(page, int) and before_id > 0 and page > 1):
        raise InvalidInput("This button is damaged; run `/pam audit` again.", code="bad_value")
    return filters, before_id, page


def _filters_text(filters: dict[str, str]) -> str:
    if not filters:
        return ""
    shown = ", ".join(f"{key}={quote(value, limit=80)}" for key, value in filters.items())
    return f" ({shown})"
