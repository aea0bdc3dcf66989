"""The audit trail's settings: PAM_AUDIT_KEY, the sinks that ship events out, how often they run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.domain.audit import MIN_KEY_LENGTH, AuditKey

SINKS = ("stdout", "webhook", "s3")
DEFAULT_PREFIX = "pam-audit/"


@dataclass(frozen=True)
class AuditSettings:
    """PAM_AUDIT_*; the key and the webhook's secret never appear in repr."""

    key: AuditKey | None = field(default=None, repr=False)
    sinks: tuple[str, ...] = ()
    webhook_url: str | None = field(default=None, repr=False)  # a URL may carry a token in its query
    webhook_secret: str | None = field(default=None, repr=False)
    s3_bucket: str | None = None
    s3_prefix: str = DEFAULT_PREFIX
    s3_retention_seconds: int = 365 * 86400  # Object Lock retention when the bucket has no default rule
    ship_seconds: int = 10
    ship_batch: int = 500  # events per webhook POST / S3 object
    checkpoint_seconds: int = 300

    @classmethod
    def read(cls, reader: Any) -> AuditSettings:
        """Read through config's reader, which collects every problem into one error."""
        key = reader.text("PAM_AUDIT_KEY")
        if key and len(key) < MIN_KEY_LENGTH:
            reader.problems.append(f"PAM_AUDIT_KEY must be at least {MIN_KEY_LENGTH} characters "
                                   "(for example the output of `openssl rand -hex 32`)")
        sinks = tuple(dict.fromkeys(part.strip().lower() for part in reader.text("PAM_AUDIT_SINKS").split(",")
                                    if part.strip()))
        unknown = [sink for sink in sinks if sink not in SINKS]
        if unknown:
            reader.problems.append(f"PAM_AUDIT_SINKS may name {', '.join(SINKS)}, not {', '.join(unknown)}")
        webhook_url = reader.url("PAM_AUDIT_WEBHOOK_URL", "") or None
        if "webhook" in sinks and not webhook_url:
            reader.problems.append("PAM_AUDIT_WEBHOOK_URL is required when PAM_AUDIT_SINKS names webhook")
        bucket = reader.text("PAM_AUDIT_S3_BUCKET") or None
        if "s3" in sinks and not bucket:
            reader.problems.append("PAM_AUDIT_S3_BUCKET is required when PAM_AUDIT_SINKS names s3")
        prefix = reader.text("PAM_AUDIT_S3_PREFIX") or DEFAULT_PREFIX
        return cls(key=AuditKey.of(key), sinks=sinks, webhook_url=webhook_url,
                   webhook_secret=reader.text("PAM_AUDIT_WEBHOOK_SECRET") or None, s3_bucket=bucket,
                   s3_prefix=prefix if prefix.endswith("/") else prefix + "/",
                   s3_retention_seconds=reader.seconds("PAM_AUDIT_S3_RETENTION", "365d", minimum=86400),
                   ship_seconds=reader.seconds("PAM_AUDIT_SHIP_INTERVAL", "10s", minimum=1),
                   ship_batch=reader.integer("PAM_AUDIT_SHIP_BATCH", "500", minimum=1, maximum=10000),
                   checkpoint_seconds=reader.seconds("PAM_AUDIT_CHECKPOINT_INTERVAL", "5m", minimum=10))
