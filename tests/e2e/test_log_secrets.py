"""At DEBUG, with the product's own logging set-up, no log line carries a token, a secret key or a sign-in link."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from moto.sts.models import sts_backends

from bot.demo import run_demo
from bot.logs import configure_logging
from sandbox.aws_world import trusted_by
from tests.e2e.helpers import button_urls, wait_dm, wait_ephemeral
from tests.fixtures_bot import APPROVER, CHANNEL, REQUESTER, Bot
from tests.fixtures_slack import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET


def capture(buffer: io.StringIO, log_format: str) -> None:
    configure_logging({"PAM_LOG_LEVEL": "DEBUG", "PAM_LOG_FORMAT": log_format})
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)


def sandbox_credentials() -> set[str]:
    """Every secret key and session token moto's STS has issued in this process."""
    found: set[str] = set()
    for account in sts_backends.values():
        for backend in account.values():
            for role in backend.assumed_roles:
                found |= {role.secret_access_key, role.session_token}
    return found


def link_parts(link: str) -> set[str]:
    query = parse_qs(urlsplit(link).query)
    return {link, *query.get("SigninToken", [])}


def assert_clean(lines: list[str], secrets: set[str]) -> None:
    assert lines, "nothing was logged: the capture is broken"
    secrets = {s for s in secrets if s and len(s) >= 8}
    leaks = [(secret[:10] + "…", line[:200]) for line in lines for secret in secrets if secret in line]
    assert not leaks, leaks
    assert not [line for line in lines if re.search(r"xox[bpa]-|xapp-|SigninToken=|sessionToken", line)]
    # The formatter's safety net had nothing to catch: pam-bot and its libraries never tried to log a secret.
    assert not [line for line in lines if "REDACTED" in line]


def approve(bot: Bot, account: str, reason: str) -> str:
    bot.driver.command(REQUESTER, f"access prod-aws {account} 30m {reason}")
    wait_ephemeral(bot.slack, f"`prod-aws/{account}` (30m) is waiting for approval")
    ref = bot.requests()[-1].ref
    card = bot.card()
    assert bot.driver.click(APPROVER, "pam_approve", ref, channel_id=CHANNEL, message_ts=card["ts"]).status == 200
    return ref


def test_a_whole_flow_at_debug_logs_no_secret(bot: Bot, log_buffer: io.StringIO) -> None:
    capture(log_buffer, "text")
    bot.add_account(duration="1h")
    ref = approve(bot, "readonly", "checking INC-42")
    link = button_urls(wait_dm(bot.slack, REQUESTER, "Open AWS Console"))[0]
    (session,) = bot.sessions()
    bot.clock.set(session.expires_at - timedelta(minutes=4))
    bot.container.scheduler.tick()
    bot.clock.set(session.expires_at + timedelta(seconds=1))
    bot.container.scheduler.tick()
    wait_dm(bot.slack, REQUESTER, "has ended")

    broken = bot.add_account(name="broken", duration="1h")  # its trust policy names another installation
    bot.aws.sandbox.iam().update_assume_role_policy(
        RoleName=broken.rsplit("/", 1)[-1],
        PolicyDocument=json.dumps(trusted_by(bot.accounts["prod-aws"], "some-other-installation")))
    approve(bot, "broken", "second look")
    wait_dm(bot.slack, REQUESTER, "could not be created")
    assert bot.driver.post_raw(b"command=%2Fpam&text=help", "application/x-www-form-urlencoded",
                               secret="wrong").status == 401
    bot.settle()  # the worker is done writing

    lines = log_buffer.getvalue().splitlines()
    assert any(f"request {ref} granted" in line for line in lines)
    assert any("failed: AccessDenied" in line for line in lines)
    assert any("DEBUG" in line for line in lines)
    assert_clean(lines, {SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, bot.aws.secret_key, *link_parts(link),
                         *sandbox_credentials()})


def test_the_demo_at_debug_logs_json_lines_without_secrets(log_buffer: io.StringIO) -> None:
    capture(log_buffer, "json")
    result = run_demo(io.StringIO())
    assert result.ok, result.reason
    lines = log_buffer.getvalue().splitlines()
    entries = [json.loads(line) for line in lines]  # one JSON object per line, tracebacks included
    assert any(entry.get("request") == result.ref for entry in entries)
    link = result.secrets[-1]
    assert link.startswith("http")
    assert_clean(lines, {*result.secrets, *link_parts(link), *sandbox_credentials()})
