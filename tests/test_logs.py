"""Logging configuration: JSON or readable lines, levels, quiet libraries, and the redaction safety net."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logs import configure_logging, redact


def configure(buffer: io.StringIO, **env: str) -> None:
    configure_logging(env)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)


def test_json_format_writes_one_object_per_line_with_extra_fields(log_buffer: io.StringIO) -> None:
    configure(log_buffer, PAM_LOG_FORMAT="json")
    log = logging.getLogger("bot.test")
    log.info("request %s granted", "R-7KQ2MX", extra={"request": "R-7KQ2MX"})
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        log.exception("unexpected error (ref %s)", "ab12cd34")
    lines = log_buffer.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "request R-7KQ2MX granted" and first["request"] == "R-7KQ2MX"
    assert first["level"] == "INFO" and first["logger"] == "bot.test" and first["time"].endswith("+00:00")
    assert second["level"] == "ERROR" and "ValueError: boom" in second["exception"]


def test_text_format_is_one_readable_line(log_buffer: io.StringIO) -> None:
    configure(log_buffer)
    logging.getLogger("bot.test").warning("could not update Slack for %s", "R-7KQ2MX")
    (line,) = log_buffer.getvalue().splitlines()
    assert line.endswith("WARNING bot.test: could not update Slack for R-7KQ2MX")


def test_bad_level_falls_back_to_info_and_debug_keeps_libraries_quiet(log_buffer: io.StringIO) -> None:
    configure(log_buffer, PAM_LOG_LEVEL="chatty")
    assert logging.getLogger().level == logging.INFO
    configure(log_buffer, PAM_LOG_LEVEL="debug")
    assert logging.getLogger().level == logging.DEBUG
    for name in ("botocore.parsers", "botocore.auth", "slack_sdk.web.base_client", "urllib3.connectionpool"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
    logging.getLogger("botocore.parsers").debug("Response body: b'<SessionToken>FQoG</SessionToken>'")
    logging.getLogger("bot.test").debug("kept")
    assert log_buffer.getvalue().count("\n") == 1 and "kept" in log_buffer.getvalue()


@pytest.mark.parametrize("line", [
    "Response body: b'<Credentials><SecretAccessKey>wJalrXUtnFEMI/K7MDENG+bPxRfiCY</SecretAccessKey>"
    "<SessionToken>FQoGZXIvYXdzEJr//////////wEaDM</SessionToken></Credentials>'",
    "Sending request: headers={'X-Amz-Security-Token': b'FQoGZXIvYXdzEJr//////////wEaDM', 'Authorization': 'x'}",
    "CanonicalRequest: host:sts.amazonaws.com\nx-amz-security-token:FQoGZXIvYXdzEJr//////////wEaDM",
    "body_params: {'blocks': [{'url': 'https://signin.aws.amazon.com/federation?Action=login&SigninToken=FQoGZXIvYXdz'}]}",
    "GET /federation?Action=getSigninToken&Session=%7B%22sessionId%22%3A%22ASIA%22%2C%22sessionKey%22%3A%22FQoGZXIvYXdz",
    '{"sessionId": "ASIA", "sessionKey": "FQoGZXIvYXdz", "sessionToken": "FQoGZXIvYXdz"}',
    "Authorization: Bearer xoxb-123-456-FQoGZXIvYXdz and xapp-1-A0-FQoGZXIvYXdz",
])
def test_redact_removes_what_libraries_would_print(line: str) -> None:
    cleaned = redact(line)
    assert "FQoGZXIvYXdz" not in cleaned and "wJalrXUtnFEMI" not in cleaned, cleaned
    assert "REDACTED" in cleaned


def test_redaction_covers_the_formatted_line_and_the_traceback(log_buffer: io.StringIO) -> None:
    configure(log_buffer, PAM_LOG_FORMAT="json")
    try:
        raise RuntimeError("token xoxb-123-FQoGZXIvYXdz")
    except RuntimeError:
        logging.getLogger("bot.test").exception("failed with %s", "SigninToken=FQoGZXIvYXdz")
    assert "FQoGZXIvYXdz" not in log_buffer.getvalue()
    assert json.loads(log_buffer.getvalue())["level"] == "ERROR"
