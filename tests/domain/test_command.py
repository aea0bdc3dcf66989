"""Parsing `/pam` text into commands."""

from __future__ import annotations

import pytest

from bot.domain.command import (
    HELP_TEXT, USAGE, Access, Admin, Audit, Cancel, Help, ListAccounts, Revoke, Sessions, Setup, parse_command,
)
from bot.domain.errors import InvalidInput


@pytest.mark.parametrize(("text", "expected"), [
    ("", Help()), ("   ", Help()), ("help", Help()), ("HELP", Help()), ("help access", Help()),
    ("list", ListAccounts()), ("admin", Admin()), ("setup", Setup()), (" Setup ", Setup()),
    ("sessions", Sessions()), ("sessions mine", Sessions()), ("sessions all", Sessions(all_users=True)),
    ("sessions ALL", Sessions(all_users=True)),
    ("sessions <@U123ABC|bob>", Sessions(user="U123ABC")), ("sessions <@W42>", Sessions(user="W42")),
    ("sessions U123ABC", Sessions(user="U123ABC")),
    ("revoke S-7KQ2MX", Revoke("S-7KQ2MX")), ("revoke s7kq2mx", Revoke("S-7KQ2MX")),
    ("cancel r-7kq2mx", Cancel("R-7KQ2MX")), ("cancel 7KQ2MX", Cancel("R-7KQ2MX")),
    ("audit", Audit({}, 1)), ("audit 3", Audit({}, 3)), ("audit page=2", Audit({}, 2)),
    ("audit user=<@U1|al> action=request.create", Audit({"user": "U1", "action": "request.create"}, 1)),
    ("audit TARGET=prod-aws/readonly outcome=refused page=4",
     Audit({"target": "prod-aws/readonly", "outcome": "refused"}, 4)),
])
def test_commands(text: str, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("access prod-aws readonly", Access("prod-aws", "readonly", None, "")),
    ("access prod-aws readonly 30m", Access("prod-aws", "readonly", "30m", "")),
    ("access prod-aws readonly 30m checking INC-42", Access("prod-aws", "readonly", "30m", "checking INC-42")),
    ("ACCESS Prod-AWS ReadOnly 1h x", Access("Prod-AWS", "ReadOnly", "1h", "x")),
    ("access prod-aws readonly checking INC-42", Access("prod-aws", "readonly", None, "checking INC-42")),
    ("access prod-aws readonly INC-42 is down", Access("prod-aws", "readonly", None, "INC-42 is down")),
    # a bad duration is still a duration: the service refuses it rather than taking it as the reason
    ("access prod ro 2h need it", Access("prod", "ro", "2h", "need it")),
    ("access prod ro -5m", Access("prod", "ro", "-5m", "")),
    ("access prod ro 5m", Access("prod", "ro", "5m", "")),
    ("access prod ro 15 servers down", Access("prod", "ro", "15", "servers down")),
    ("access prod ro 45 minutes deploy", Access("prod", "ro", "45 minutes", "deploy")),
    ("access prod ro 1 hour", Access("prod", "ro", "1 hour", "")),
    ("access prod ro 30m 5 servers", Access("prod", "ro", "30m", "5 servers")),
    ("access prod-aws/readonly 30m why", Access("prod-aws", "readonly", "30m", "why")),
    ("access prod-aws/readonly", Access("prod-aws", "readonly", None, "")),
    ("  access   prod   ro   30m   a  b\n\nc   ", Access("prod", "ro", "30m", "a  b\n\nc")),
    ("access prod ro ping <@U123|bob> & <!here>", Access("prod", "ro", None, "ping <@U123|bob> & <!here>")),
])
def test_access(text: str, expected: Access) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(("text", "usage_of", "says"), [
    ("access", "access", "Say which resource and account"),
    ("access prod", "access", "Say which resource and account"),
    ("access prod/", "access", "Say which resource and account"),
    ("access /ro", "access", "Say which resource and account"),
    ("sessions bob", "sessions", "Say `all`, or mention one person"),
    ("sessions all mine", "sessions", "Say `all`"),
    ("sessions u123", "sessions", "Say `all`"),
    ("revoke", "revoke", "Say which session, for example S-7KQ2MX"),
    ("revoke nope", "revoke", "`nope` is not a session reference"),
    ("cancel", "cancel", "Say which request"),
    ("cancel S-7KQ2MX", "cancel", "is not a request reference"),
    ("audit foo", "audit", "I can't filter by `foo`"),
    ("audit colour=red", "audit", "I can't filter by `colour=red`"),
    ("audit user=", "audit", "I can't filter by"),
    ("audit page=0", "audit", "I can't filter by"),
    ("audit page=x", "audit", "I can't filter by"),
    ("audit page=" + "9" * 5000, "audit", "I can't filter by `page=" + "9" * 54 + "…`"),
])
def test_usage_errors(text: str, usage_of: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_command(text)
    message = caught.value.user_message
    assert says in message
    assert f"Usage: `{USAGE[usage_of][0]}`" in message
    assert "/pam help" in message


@pytest.mark.parametrize(("text", "says"), [
    ("frobnicate", "I don't know the command `frobnicate`"),
    ("<!channel>", "I don't know the command `&lt;!channel&gt;`"),
    ("&lt;!channel&gt;", "I don't know the command `&lt;!channel&gt;`"),
    ("\u200b", "I don't know the command you typed"),
    ("acess prod ro", "`acess`"),
])
def test_unknown_subcommand(text: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_command(text)
    assert says in caught.value.user_message
    assert "/pam help" in caught.value.user_message
    assert "<" not in caught.value.user_message


def test_help_lists_every_subcommand_plainly() -> None:
    for name in ("help", "access", "list", "sessions", "revoke", "cancel", "admin", "setup", "audit"):
        assert f"/pam {name}" in HELP_TEXT
    assert "<" not in HELP_TEXT and ">" not in HELP_TEXT and "&" not in HELP_TEXT
    assert len(HELP_TEXT) < 1500


@pytest.mark.parametrize(("text", "expected"), [
    # with the manifest's should_escape: true, Slack sends mentions as entities and typed &, <, > escaped once
    ("sessions <@U123ABC|alice>", Sessions(user="U123ABC")), ("sessions <@U123ABC>", Sessions(user="U123ABC")),
    ("sessions <@U1|alice smith>", Sessions(user="U1")),
    ("audit user=<@W42|al> target=<#C0APPROVE|approvals>", Audit({"user": "W42", "target": "C0APPROVE"}, 1)),
    ("audit target=<#C0APPROVE>", Audit({"target": "C0APPROVE"}, 1)),
    ("audit target=<!subteam^S0OPS|@ops>", Audit({"target": "S0OPS"}, 1)),
    ("audit target=<!subteam^S0OPS>", Audit({"target": "S0OPS"}, 1)),
    ("audit target=R&amp;D/x user=pam-bot", Audit({"target": "R&D/x", "user": "pam-bot"}, 1)),
    ("audit action=&lt;x&gt;", Audit({"action": "<x>"}, 1)),
    ("access R&amp;D ro 30m a &amp;lt; b &lt;@U1&gt; &amp;", Access("R&D", "ro", "30m", "a &lt; b <@U1> &")),
    ("access R&amp;D/ro fix &gt; wait", Access("R&D", "ro", None, "fix > wait")),
    ("access prod ro <@U123|bob> please", Access("prod", "ro", None, "<@U123|bob> please")),
])
def test_slack_escaped_text(text: str, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(("text", "usage_of", "says"), [
    ("sessions @alice", "sessions", "Slack sent `@alice` as plain text, not as a mention"),
    ("audit user=@alice", "audit", "Slack sent `@alice` as plain text, not as a mention"),
    ("audit user=@R&amp;D", "audit", "Slack sent `@R&amp;D` as plain text"),
    ("sessions <!subteam^S0OPS|@ops>", "sessions", "Mention one person, not a group or a channel."),
    ("sessions <!subteam^S0OPS>", "sessions", "Mention one person, not a group or a channel."),
    ("sessions <#C0APPROVE|approvals>", "sessions", "Mention one person, not a group or a channel."),
    ("audit user=<#C0APPROVE>", "audit", "Mention one person, not a group or a channel."),
])
def test_mention_problems_get_a_clear_answer(text: str, usage_of: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_command(text)
    assert says in caught.value.user_message
    assert f"Usage: `{USAGE[usage_of][0]}`" in caught.value.user_message
    if "@" in text and "<" not in text:
        assert "pick the person from the list" in caught.value.user_message
