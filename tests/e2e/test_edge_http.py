"""POST /slack/events over real HTTP: size cap, signature checked before parsing, 400/401/413 but never 500."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from urllib.parse import quote, urlsplit

import pytest
from slack_bolt.request import BoltRequest

from sandbox.slack_signed import signature_headers
from tests.fixtures_bot import REQUESTER, Bot
from tests.fixtures_slack import SLACK_SIGNING_SECRET

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
CAP = 1024 * 1024  # 1 MiB, the documented limit


def raw_post(bot: Bot, head: dict[str, str], body: bytes, timeout: float = 5.0) -> tuple[int, float]:
    """Send headers (with whatever Content-Length they claim) and `body`; return the status and the wait."""
    where = urlsplit(bot.url)
    lines = ["POST /slack/events HTTP/1.1", f"Host: {where.netloc}", *(f"{k}: {v}" for k, v in head.items()), "", ""]
    started = time.monotonic()
    with socket.create_connection((where.hostname, where.port), timeout=timeout) as conn:
        conn.sendall("\r\n".join(lines).encode())
        with contextlib.suppress(OSError):  # the server answered and closed without reading it all: what a cap does
            conn.sendall(body)
        answer = conn.recv(4096).decode(errors="replace")
    return int(answer.split()[1]), time.monotonic() - started


def test_a_body_over_the_cap_gets_413_without_being_read(bot: Bot) -> None:
    # Claims 64 MiB but sends a few bytes: the answer must not wait for the rest.
    status, waited = raw_post(bot, {"Content-Type": FORM, "Content-Length": str(64 * 1024 * 1024)}, b"payload=")
    assert status == 413 and waited < 2


def test_a_signed_body_just_over_the_cap_gets_413_and_a_real_payload_size_passes(bot: Bot) -> None:
    reply = quote(bot.slack.response_url_for("cap"), safe="")
    head = f"team_id=T0PAM&user_id={REQUESTER}&command=%2Fpam&text=help&response_url={reply}&pad=".encode()
    fits = bot.driver.post_raw(head + b"x" * (CAP - len(head)), FORM)
    assert fits.status == 200
    over = head + b"x" * (CAP + 1 - len(head))
    signed = signature_headers(over, SLACK_SIGNING_SECRET, int(time.time()))
    assert raw_post(bot, {"Content-Type": FORM, "Content-Length": str(len(over)), **signed}, over)[0] == 413


def test_a_missing_or_bad_content_length_is_refused_cleanly(bot: Bot) -> None:
    assert raw_post(bot, {"Content-Type": JSON, "Content-Length": "-5"}, b"{}")[0] == 400
    assert raw_post(bot, {"Content-Type": JSON, "Content-Length": "lots"}, b"{}")[0] == 400


@pytest.mark.parametrize("body,content_type", [
    (b"{not json", JSON), (b"payload=%7Bnot+json", FORM), (b"[1, 2]", JSON), (b"\xff\xfe{}", JSON),
], ids=["json", "form payload", "json array", "not utf-8"])
def test_malformed_bodies_never_get_a_500(bot: Bot, body: bytes, content_type: str) -> None:
    unsigned = bot.driver.post_raw(body, content_type, signed=False)
    assert unsigned.status == 401 and "Traceback" not in unsigned.body
    if body.startswith(b"\xff"):
        return  # cannot be signed: Slack signs UTF-8 text
    signed = bot.driver.post_raw(body, content_type)
    assert signed.status == 400 and "Traceback" not in signed.body


def test_a_non_numeric_timestamp_is_401_not_500(bot: Bot) -> None:
    answer = bot.driver.post_raw(b"{}", JSON, timestamp="soon")
    assert answer.status == 401


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.runtime.web" and r.levelno >= logging.WARNING]


def test_each_refused_signature_logs_one_line_saying_what_to_check(bot: Bot,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    body = json.dumps({"type": "event_callback", "team_id": "T0PAM", "secret-ish": "do-not-log-me"}).encode()
    assert bot.driver.post_raw(body, JSON, secret="wrong-secret").status == 401
    assert bot.driver.post_raw(body, JSON, timestamp=int(time.time()) - 600).status == 401
    assert bot.driver.post_raw(body, JSON, signed=False).status == 401
    lines = [record.getMessage() for record in refusals(caplog)]
    assert len(lines) == 3, lines
    assert "SLACK_SIGNING_SECRET" in lines[0]
    assert "clock" in lines[1]
    assert "missing" in lines[2]
    logged = "\n".join(lines)
    assert "do-not-log-me" not in logged and SLACK_SIGNING_SECRET not in logged and "v0=" not in logged


def test_a_good_request_still_reaches_bolt_with_its_own_verification(bot: Bot,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert bot.driver.command(REQUESTER, "help").status == 200
    assert refusals(caplog) == []
    # Bolt verifies on its own as well: an unsigned request handed straight to it is refused.
    unsigned = BoltRequest(body="command=%2Fpam&text=help&user_id=U1&team_id=T0PAM", headers={"content-type": FORM})
    assert bot.container.app.dispatch(unsigned).status == 401
