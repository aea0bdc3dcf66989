"""Settings: one frozen object built from the environment, with one error listing every problem."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pytimeparse import parse as parse_time

from bot.domain.audit_settings import AuditSettings
from bot.domain.iam_policies import validate_target_path
from bot.domain.arns import parse_role_arn
from bot.domain.errors import ConfigError, InvalidInput
from bot.domain.external_id import validate_external_id

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# The console's Issuer: where AWS sends people whose console session ended. Slack, where they can ask again.
DEFAULT_ISSUER_URL = "https://slack.com/"
DEFAULT_DATABASE_URL = "sqlite:///pam.db"  # relative to the working directory; the CLI names the resolved path
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment; secrets never appear in repr."""

    slack_bot_token: str = field(repr=False)
    slack_signing_secret: str = field(repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)
    external_id: str | None = None
    admins: frozenset[str] = frozenset()
    approval_channel: str | None = None
    admin_channel: str | None = None
    signin_url: str | None = None
    issuer_url: str = DEFAULT_ISSUER_URL
    tick_seconds: int = 30
    expiry_warning_seconds: int = 300
    request_timeout_seconds: int = 3600
    daily_cap_seconds: int = 8 * 3600  # access one person may have on one account in 24 hours, extensions included
    reminder_seconds: tuple[int, ...] = ()  # offsets from a request's creation; empty: one reminder half-way
    port: int = 3000
    worker_nice: int = 10  # PAM_WORKER_NICE: `pam-bot work` runs this much below the web processes' CPU priority
    auto_migrate: bool = True
    log_format: str = "text"
    log_level: str = "INFO"
    target_path: str | None = None  # PAM_TARGET_PATH: Resource Roles may reach the Target Roles under this IAM path
    permissions_boundary: str | None = None  # PAM_PERMISSIONS_BOUNDARY: revocation writes need it on the role
    bot_role_arn: str | None = None  # PAM_BOT_ROLE_ARN: pam-bot's own role with its path, when it cannot read it
    audit: AuditSettings = field(default_factory=AuditSettings)  # PAM_AUDIT_*: key and sinks

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, require_slack: bool = True, socket_mode: bool = False) -> Settings:
        """Build settings from a mapping (usually os.environ); raise ConfigError naming every problem.

        Socket Mode needs no signing secret: Slack's events arrive over the app token's WebSocket, not HTTP."""
        reader = _Reader(env)
        settings = cls(
            slack_bot_token=reader.text("SLACK_BOT_TOKEN", required=require_slack, prefix="xoxb-"),
            slack_signing_secret=reader.text("SLACK_SIGNING_SECRET", required=require_slack and not socket_mode),
            slack_app_token=reader.text("SLACK_APP_TOKEN", prefix="xapp-") or None,
            slack_api_url=reader.url("SLACK_API_URL", "https://slack.com/api/", trailing_slash=True),
            database_url=reader.text("DATABASE_URL") or DEFAULT_DATABASE_URL,
            external_id=reader.text("PAM_EXTERNAL_ID") or None,
            admins=reader.user_ids("PAM_ADMINS"),
            approval_channel=reader.text("PAM_APPROVAL_CHANNEL") or None,
            admin_channel=reader.text("PAM_ADMIN_CHANNEL") or None,
            signin_url=reader.url("PAM_SIGNIN_URL", "") or None,
            issuer_url=reader.url("PAM_ISSUER_URL", DEFAULT_ISSUER_URL),
            tick_seconds=reader.seconds("PAM_TICK_SECONDS", "30", minimum=1),
            expiry_warning_seconds=reader.seconds("PAM_EXPIRY_WARNING", "5m", minimum=0),
            request_timeout_seconds=reader.seconds("PAM_REQUEST_TIMEOUT", "1h", minimum=60),
            reminder_seconds=reader.schedule("PAM_REMINDERS"),
            daily_cap_seconds=reader.seconds("PAM_DAILY_CAP", "8h", minimum=900),
            port=reader.integer("PORT", "3000", minimum=1, maximum=65535),
            worker_nice=reader.integer("PAM_WORKER_NICE", "10", minimum=0, maximum=19),
            auto_migrate=reader.flag("PAM_AUTO_MIGRATE", True),
            log_format=reader.choice("PAM_LOG_FORMAT", "text", {"text", "json"}),
            log_level=reader.choice("PAM_LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"}),
            target_path=reader.text("PAM_TARGET_PATH") or None,
            permissions_boundary=reader.text("PAM_PERMISSIONS_BOUNDARY") or None,
            bot_role_arn=reader.text("PAM_BOT_ROLE_ARN") or None,
            audit=AuditSettings.read(reader),
        )
        for name, value, check in (("PAM_TARGET_PATH", settings.target_path, validate_target_path),
                                   ("PAM_BOT_ROLE_ARN", settings.bot_role_arn, parse_role_arn)):
            try:
                if value is not None:
                    check(value)
            except InvalidInput as error:
                reader.problems.append(f"{name}: {error.user_message}")
        late = [s for s in settings.reminder_seconds if s >= settings.request_timeout_seconds]
        if late:
            reader.problems.append("PAM_REMINDERS: every reminder must come before PAM_REQUEST_TIMEOUT "
                                   f"({settings.request_timeout_seconds}s), when the request expires")
        if settings.external_id is not None:
            try:
                validate_external_id(settings.external_id)
            except InvalidInput as error:
                reader.problems.append(f"PAM_EXTERNAL_ID: {error.user_message}")
        if reader.problems:
            raise ConfigError(
                "pam-bot is not configured correctly:\n  - " + "\n  - ".join(reader.problems),
                code="config_invalid",
            )
        return settings


def is_secure_url(url: str) -> bool:
    """https to anywhere, or http to a loopback address (127.0.0.0/8, ::1, localhost)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme != "http" or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Reader:
    """Reads variables and collects every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def _raw(self, name: str) -> str:
        return (self.env.get(name) or "").strip()

    def text(self, name: str, *, required: bool = False, prefix: str | None = None) -> str:
        value = self._raw(name)
        if required and not value:
            self.problems.append(f"{name} is required")
        elif value and prefix and not value.startswith(prefix):
            self.problems.append(f"{name} should start with {prefix!r}")
        return value

    def url(self, name: str, default: str, *, trailing_slash: bool = False) -> str:
        """An https URL; plain http only to this machine (tokens and credentials would travel in clear)."""
        value = self._raw(name) or default
        if value and not re.match(r"^https?://[^\s/]+", value):
            self.problems.append(f"{name} must be an https:// URL")
        elif value and not is_secure_url(value):
            self.problems.append(f"{name} must be an https:// URL (plain http:// only to 127.0.0.1, ::1 or "
                                 f"localhost): secrets sent to it would travel in clear")
        if value and trailing_slash and not value.endswith("/"):
            value += "/"
        return value

    def user_ids(self, name: str) -> frozenset[str]:
        ids = [part.strip() for part in self._raw(name).split(",") if part.strip()]
        bad = [user_id for user_id in ids if not _USER_ID.match(user_id)]
        if bad:
            self.problems.append(f"{name} must list Slack user ids like U012ABC (not {', '.join(bad)})")
        return frozenset(ids)

    def seconds(self, name: str, default: str, *, minimum: int) -> int:
        raw = self._raw(name) or default
        parsed = parse_time(raw)
        if parsed is None and raw.isdigit():
            parsed = int(raw)
        if parsed is None or parsed < minimum or parsed != int(parsed):
            self.problems.append(f"{name} must be a duration like 30s, 5m or 1h (at least {minimum}s), not {raw!r}")
            return int(parse_time(default) or 0)
        return int(parsed)

    def schedule(self, name: str) -> tuple[int, ...]:
        """Comma-separated durations in increasing order (`15m,30m,1h`); empty when unset."""
        raw = self._raw(name)
        if not raw:
            return ()
        parsed = [parse_time(part.strip()) for part in raw.split(",")]
        seconds = [int(p) for p in parsed if p is not None and p >= 60 and p == int(p)]
        if len(seconds) != len(parsed) or seconds != sorted(set(seconds)):
            self.problems.append(f"{name} must be durations of at least 1m in increasing order, like 15m,30m,1h")
            return ()
        return tuple(seconds)

    def integer(self, name: str, default: str, *, minimum: int, maximum: int) -> int:
        raw = self._raw(name) or default
        if not raw.isdigit() or not minimum <= int(raw) <= maximum:
            self.problems.append(f"{name} must be a whole number from {minimum} to {maximum}, not {raw!r}")
            return int(default)
        return int(raw)

    def flag(self, name: str, default: bool) -> bool:
        raw = self._raw(name).lower()
        if not raw:
            return default
        if raw in _TRUE:
            return True
        if raw not in _FALSE:
            self.problems.append(f"{name} must be true or false, not {raw!r}")
        return False

    def choice(self, name: str, default: str, options: set[str]) -> str:
        raw = self._raw(name) or default
        value = raw.upper() if default.isupper() else raw.lower()
        if value not in options:
            self.problems.append(f"{name} must be one of {', '.join(sorted(options))}, not {raw!r}")
            return default
        return value
