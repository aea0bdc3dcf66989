"""The `/pam` slash command: its text (as Slack escapes it) parsed into one typed command, and the help."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.domain import mentions
from bot.domain.durations import looks_like_duration
from bot.domain.errors import InvalidInput
from bot.domain.ids import normalise_ref
from bot.domain.schedule import looks_like_start
from bot.domain.text import has_visible_text, quote, storable, unescape_slack

# Placeholders are upper case rather than <angle brackets>, which Slack's mrkdwn would take for links.
USAGE: dict[str, tuple[str, str]] = {
    "access": ("/pam access RESOURCE ACCOUNT [DURATION] [at HH:MM] [REASON…]",
               "ask for console access, 15m to 1h (default: the account's); `at 22:00` starts it then "
               "(your time zone, up to 7 days ahead)"),
    "break-glass": ("/pam break-glass RESOURCE ACCOUNT [DURATION] REASON…",
                    "emergency: access at once, without approval, on accounts that allow it (loud, reviewed after)"),
    "list": ("/pam list", "accounts you can ask for"),
    "sessions": ("/pam sessions [all | @someone]", "active sessions, yours unless you say"),
    "revoke": ("/pam revoke SESSION", "end a session early (S-XXXXXX)"),
    "cancel": ("/pam cancel REQUEST", "withdraw your pending request (R-XXXXXX)"),
    "admin": ("/pam admin", "manage resources and accounts (admins)"),
    "setup": ("/pam setup", "first-time setup (admins)"),
    "audit": ("/pam audit [user=@someone] [action=A] [target=T] [outcome=O] [page=N]", "the audit trail (admins)"),
    "help": ("/pam help", "this help"),
}
HELP_TEXT = "\n".join(f"{line}\n    {what}" for line, what in USAGE.values())
AUDIT_FILTERS = ("user", "action", "target", "outcome")


@dataclass(frozen=True)
class Help:
    """`/pam` alone or `/pam help`."""


@dataclass(frozen=True)
class ListAccounts:
    """`/pam list`."""


@dataclass(frozen=True)
class Access:
    resource: str
    account: str
    duration: str | None = None  # as typed; the service parses it against the account's maximum
    reason: str = ""
    start: str | None = None  # `22:00` or `2026-12-01 22:00` as typed; the service reads it in the person's zone


@dataclass(frozen=True)
class BreakGlass(Access):
    """`/pam break-glass`: like `access`, but granted at once where the account allows it; the reason is required."""


@dataclass(frozen=True)
class Sessions:
    all_users: bool = False
    user: str | None = None  # a Slack user id


@dataclass(frozen=True)
class Revoke:
    session_ref: str  # normalised, `S-XXXXXX`


@dataclass(frozen=True)
class Cancel:
    request_ref: str  # normalised, `R-XXXXXX`


@dataclass(frozen=True)
class Admin:
    """`/pam admin`: opens the admin modal."""


@dataclass(frozen=True)
class Setup:
    """`/pam setup`: opens the first-time setup modal."""


@dataclass(frozen=True)
class Audit:
    filters: dict[str, str] = field(default_factory=dict)
    page: int = 1


Command = Help | ListAccounts | Access | BreakGlass | Sessions | Revoke | Cancel | Admin | Setup | Audit

# A word is whitespace-free, except inside Slack's `<…>` entities (`<@U1|al>`, `<!subteam^S1|@ops>`, `<#C1|ops>`).
_WORD = re.compile(r"\s*((?:<[^<>]*>|\S)+)")
_UNIT = re.compile(r"[A-Za-z]+")


def parse_command(text: str) -> Command:
    """The command in `/pam` text as Slack sends it (mentions as `<@U…>`, `&`, `<`, `>` escaped once).

    InvalidInput with the subcommand's usage when it cannot be understood.
    """
    text = storable(text)
    word, pos = _take(text, 0)
    if word is None:
        return Help()
    name = word.lower()
    simple: dict[str, Callable[[], Command]] = {"help": Help, "list": ListAccounts, "admin": Admin, "setup": Setup}
    if name in simple:
        return simple[name]()  # extra words are ignored
    parser = _PARSERS.get(name)
    if parser is None:
        raise InvalidInput(f"I don't know the command {quote(unescape_slack(word), otherwise='you typed')}. "
                           "Try `/pam help` for the list.", detail="unknown subcommand")
    return parser(text[pos:])


def _take(text: str, pos: int) -> tuple[str | None, int]:
    """The next word from `pos` and the position after it."""
    match = _WORD.match(text, pos)
    return (match.group(1), match.end()) if match else (None, pos)


def _words(text: str) -> list[str]:
    return [match.group(1) for match in _WORD.finditer(text)]


def _usage_error(name: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{problem}\nUsage: `{USAGE[name][0]}` (see `/pam help`).", detail=f"usage of {name}")


def _access(rest: str) -> Access:
    account: str | None
    first, pos = _take(rest, 0)
    if first is not None and "/" in first:  # `prod-aws/readonly`, as lists and suggestions show it
        resource, _, account = first.partition("/")
    else:
        resource, (account, pos) = first or "", _take(rest, pos)
    if not resource or not account:
        raise _usage_error("access", "Say which resource and account you need.")
    resource, account = unescape_slack(resource), unescape_slack(account)
    duration, after = _take(rest, pos)
    if duration is None or not looks_like_duration(duration):
        duration, after = None, pos
    else:
        unit, after_unit = _take(rest, after)
        # "30 minutes" is one duration in two words; a bare number alone is refused later with a hint.
        if unit and duration.isdigit() and _UNIT.fullmatch(unit) and looks_like_duration(f"{duration} {unit}"):
            duration, after = f"{duration} {unit}", after_unit
    start, after = _start(rest, after)
    return Access(resource, account, duration, unescape_slack(rest[after:].strip()), start)


def _start(rest: str, pos: int) -> tuple[str | None, int]:
    """`at 22:00` or `at 2026-12-01 22:00` at `pos`, and the position after it; (None, pos) when absent (a reason
    may well begin with "at the office")."""
    word, after = _take(rest, pos)
    if word is None or word.lower() != "at":
        return None, pos
    first, after_first = _take(rest, after)
    second, after_second = _take(rest, after_first)
    if first is not None and second is not None and looks_like_start(f"{first} {second}"):
        return f"{first} {second}", after_second
    if first is not None and looks_like_start(first):
        return first, after_first
    return None, pos


def _break_glass(rest: str) -> BreakGlass:
    try:
        asked = _access(rest)
    except InvalidInput as error:
        raise _usage_error("break-glass", "Say which resource and account you need, and why.") from error
    if not has_visible_text(asked.reason):
        raise _usage_error("break-glass", "Break-glass needs a reason: say what is on fire (an incident id helps).")
    if asked.start is not None:
        raise _usage_error("break-glass", "Break-glass is for now; to start later, ask with `/pam access … at HH:MM`.")
    return BreakGlass(asked.resource, asked.account, asked.duration, asked.reason)


def _person(name: str, word: str) -> str | None:
    try:
        return mentions.person(word)
    except InvalidInput as error:
        raise _usage_error(name, error.user_message) from error


def _sessions(rest: str) -> Sessions:
    words = _words(rest)
    if not words or (len(words) == 1 and words[0].lower() == "mine"):
        return Sessions()
    if len(words) == 1 and words[0].lower() == "all":
        return Sessions(all_users=True)
    user = _person("sessions", words[0]) if len(words) == 1 else None
    if user is None:
        raise _usage_error("sessions", "Say `all`, or mention one person.")
    return Sessions(user=user)


def _ref(name: str, rest: str, prefix: str, kind: str) -> str:
    word, _ = _take(rest, 0)
    if word is None:
        raise _usage_error(name, f"Say which {kind}, for example {prefix}-7KQ2MX.")
    try:
        return normalise_ref(unescape_slack(word), prefix)
    except InvalidInput as error:
        raise _usage_error(name, error.user_message) from error


def _filter_value(key: str, value: str) -> str:
    """A user filter is a person (an actor such as `pam-bot` stays as typed); a target may be any mention."""
    if key == "user":
        return _person("audit", value) or unescape_slack(value)
    if key == "target":
        return mentions.mentioned(value) or unescape_slack(value)
    return unescape_slack(value)


def _audit(rest: str) -> Audit:
    filters: dict[str, str] = {}
    page = 1
    for word in _words(rest):
        key, eq, value = word.partition("=")
        key = key.lower()
        if not eq and word.isdigit():
            key, value = "page", word
        if key == "page" and value.isdigit() and len(value) <= 6 and int(value) >= 1:
            page = int(value)
        elif key in AUDIT_FILTERS and value:
            filters[key] = _filter_value(key, value)
        else:
            raise _usage_error("audit", f"I can't filter by {quote(unescape_slack(word), otherwise='that')}.")
    return Audit(filters, page)


_PARSERS: dict[str, Callable[[str], Command]] = {
    "access": _access,
    "break-glass": _break_glass,
    "sessions": _sessions,
    "revoke": lambda rest: Revoke(_ref("revoke", rest, "S", "session")),
    "cancel": lambda rest: Cancel(_ref("cancel", rest, "R", "request")),
    "audit": _audit,
}
