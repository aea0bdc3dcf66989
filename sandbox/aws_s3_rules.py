"""S3 Object Lock rules moto's S3 does not enforce: retention must end in the future, in a known mode."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from sandbox.aws_records import Refusal

MODES = frozenset({"GOVERNANCE", "COMPLIANCE"})


def check_s3(environ: dict[str, Any], now: datetime) -> Refusal | None:
    """The refusal S3 gives a PUT carrying Object Lock retention it does not accept, or None."""
    if environ.get("REQUEST_METHOD") != "PUT":
        return None
    mode = environ.get("HTTP_X_AMZ_OBJECT_LOCK_MODE")
    until = environ.get("HTTP_X_AMZ_OBJECT_LOCK_RETAIN_UNTIL_DATE")
    if mode is not None and mode not in MODES:
        return Refusal(400, "InvalidArgument", "Unknown wormMode directive.")
    if until is not None:
        try:
            moment = datetime.fromisoformat(until.replace("Z", "+00:00"))
        except ValueError:
            return Refusal(400, "InvalidArgument", "The retain until date is not a valid date.")
        if moment <= now:
            return Refusal(400, "InvalidArgument", "The retain until date must be in the future!")
    return None


def s3_error_body(refusal: Refusal) -> bytes:
    """S3's REST error document."""
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{escape(refusal.code)}</Code>"
            f"<Message>{escape(refusal.message)}</Message></Error>").encode()
