"""The demo's transcript: Slack messages and AWS calls as readable lines, with every sign-in link redacted."""

from __future__ import annotations

import html
import json
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from sandbox.aws_records import ApiCall
from sandbox.slack_calls import RecordedCall

REDACTED = "<console link REDACTED>"
_LINKS = re.compile(r"https?://[^\s\"'<>|]*(?:SigninToken|getSigninToken)[^\s\"'<>|]*")
_TOKENS = re.compile(r"SigninToken=[^&\s\"'<>|]+")
_SHOWN = {"chat.postMessage", "chat.update", "chat.postEphemeral", "response_url", "views.open"}


class Transcript:
    """Writes lines to `out`, after removing sign-in links and every known secret."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.secrets: list[str] = []
        self.lines: list[str] = []

    def hide(self, *values: str) -> None:
        self.secrets += [value for value in values if value]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED if secret.startswith("http") else "<secret REDACTED>")
        return _TOKENS.sub("<sign-in token REDACTED>", _LINKS.sub(REDACTED, text))

    def say(self, text: str = "") -> None:
        for line in self.redact(text).splitlines() or [""]:
            self.lines.append(line)
            print(line, file=self.out, flush=True)

    def heading(self, text: str) -> None:
        self.say(f"\n── {text} " + "─" * max(3, 76 - len(text)))


def plain(mrkdwn: str, names: Callable[[str], str]) -> str:
    """Slack mrkdwn as a terminal shows it: mentions by name, dates by their fallback, links by label."""
    text = re.sub(r"<@([UW][A-Z0-9]+)>", lambda m: f"@{names(m.group(1))}", mrkdwn)
    text = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<!subteam\^([A-Z0-9]+)[^>]*>", r"@\1", text)
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2", text)
    text = re.sub(r"\*([^*\n]+)\*", r"\1", text)
    return html.unescape(text)


def message_lines(message: dict[str, Any], names: Callable[[str], str]) -> list[str]:
    """One line per block (section, fields, context, buttons); the top-level text when there are no blocks."""
    blocks = message.get("blocks") or []
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "section" and block.get("text"):
            lines += plain(block["text"]["text"], names).splitlines()
        if kind == "section" and block.get("fields"):
            lines.append("   ".join(plain(f["text"], names).replace("\n", ": ", 1) for f in block["fields"]))
        if kind == "context":
            lines += [line for e in block.get("elements", []) if e.get("text")
                      for line in plain(e["text"], names).splitlines()]
        if kind == "actions":
            lines.append("  ".join(_button(e) for e in block.get("elements", [])))
    return lines or plain(str(message.get("text", "")), names).splitlines()


def _button(element: dict[str, Any]) -> str:
    label = (element.get("text") or {}).get("text", element.get("action_id", "?"))
    return f"[{label} ↗ {REDACTED}]" if element.get("url") else f"[{label}]"


def slack_lines(call: RecordedCall, names: Callable[[str], str], actor: str = "you") -> list[str]:
    """`pam-bot → where: ...` and the message, for the calls a person would see; [] for the others."""
    if call.method not in _SHOWN:
        return []
    if not call.ok:
        return [f"  Slack  {call.method} refused: {call.error or call.http_status}"]
    where = _where(call, names, actor)
    if call.method == "views.open":
        view = call.args.get("view")
        view = json.loads(view) if isinstance(view, str) else view or {}
        return [f"  pam-bot opens a form for {actor}: {(view.get('title') or {}).get('text', '')}"]
    verb = "updates its card in" if call.method == "chat.update" else "→"
    head = f"  pam-bot {verb} {where}" + (" (in the card's thread)" if call.args.get("thread_ts") else "")
    return [head + ":"] + [f"    │ {line}" for line in message_lines(call.args, names)]


def _where(call: RecordedCall, names: Callable[[str], str], actor: str) -> str:
    if call.method == "response_url":
        return f"{actor} (only visible to {actor})"
    if call.method == "chat.postEphemeral":
        return f"{names(str(call.args.get('user')))} (only visible to them)"
    channel = str(call.response.get("channel") or call.args.get("channel") or "")
    if channel.startswith("D") and len(channel) > 1:
        return f"DM to {names(channel[1:])}"
    return f"#{names(channel)}"


def aws_lines(call: ApiCall, hops: dict[str, str]) -> list[str]:
    """One AWS call: action, outcome, caller, role, session name, whether the ExternalId was sent."""
    outcome = "ok" if call.ok else f"refused: {call.outcome}"
    if call.action != "AssumeRole":
        return [f"  AWS    {call.service}:{call.action} → {outcome}   caller {call.caller_arn}"]
    hop = hops.get(call.role_arn or "", "")
    external = "ExternalId sent" if call.external_id else "no ExternalId"
    duration = f"  DurationSeconds={call.duration_seconds}" if call.duration_seconds else ""
    return [f"  AWS    sts:AssumeRole{f' ({hop})' if hop else ''} → {outcome}   "
            f"session={call.session_name}  {external}{duration}",
            f"           caller {call.caller_arn}",
            f"           role   {call.role_arn}"]


def numbered(items: Iterable[str]) -> list[str]:
    return [f"  {number:>2}. {item}" for number, item in enumerate(items, start=1)]
