"""Error hierarchy: every error carries a message for a person and a code for the audit log."""

from __future__ import annotations


class PamError(Exception):
    """Base of all expected errors; `user_message` is safe to show, `code` goes to the audit log."""

    code = "error"

    def __init__(self, user_message: str, *, code: str | None = None, field: str | None = None,
                 detail: str | None = None) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        if code is not None:
            self.code = code
        self.field = field  # modal field (block id) the message belongs to, when there is one
        self.detail = detail  # technical detail for logs and audit, never secrets


class InvalidInput(PamError):
    """The person typed or submitted something that is not allowed."""

    code = "invalid_input"


class NotFound(PamError):
    """A named resource, account, request or session does not exist."""

    code = "not_found"


class NotAllowed(PamError):
    """The actor may not do this (not an approver, not an admin, own request, guest...)."""

    code = "not_allowed"


class Conflict(PamError):
    """The state changed under us: already decided, already pending, name taken."""

    code = "conflict"


class AwsError(PamError):
    """AWS refused or failed; `code` is the AWS error code (AccessDenied, ExpiredToken...)."""

    code = "aws_error"


class ConfigError(PamError):
    """The bot's own configuration is wrong or incomplete."""

    code = "config_error"


class NotifyFailed(PamError):
    """Slack would not take a message. `transient`: trying again may help (rate limited, a 5xx, no answer);
    `retry_after`: the seconds Slack asked to wait (a 429's Retry-After)."""

    code = "notify_failed"

    def __init__(self, user_message: str, *, code: str | None = None, detail: str | None = None,
                 transient: bool = False, retry_after: float | None = None) -> None:
        super().__init__(user_message, code=code, detail=detail)
        self.transient, self.retry_after = transient, retry_after
