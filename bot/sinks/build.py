"""Build the configured audit sinks once at start (clients included), from settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.config import Config

from bot.domain.audit_settings import AuditSettings
from bot.aws.clients import session_from
from bot.services.audit_shipping import AuditSink

if TYPE_CHECKING:  # boto3-stubs: installed with the dev extra, for mypy only
    from mypy_boto3_s3 import S3Client


def build_sinks(settings: AuditSettings, *, clock: Callable[[], datetime],
                aws_env: Mapping[str, str] | None = None) -> list[AuditSink]:
    """The sinks PAM_AUDIT_SINKS names, in that order."""
    sinks: list[AuditSink] = []
    for name in settings.sinks:
        if name == "stdout":
            from bot.sinks.stdout import StdoutSink

            sinks.append(StdoutSink())
        elif name == "webhook" and settings.webhook_url:
            from bot.sinks.webhook import WebhookSink

            sinks.append(WebhookSink(settings.webhook_url, secret=settings.webhook_secret))
        elif name == "s3" and settings.s3_bucket:
            from bot.sinks.s3 import S3Sink

            sinks.append(S3Sink(s3_client(aws_env), bucket=settings.s3_bucket, prefix=settings.s3_prefix,
                                retention=timedelta(seconds=settings.s3_retention_seconds), clock=clock))
    return sinks


def s3_client(aws_env: Mapping[str, str] | None) -> S3Client:
    """The bot's own S3 client (path-style addressing when AWS_ENDPOINT_URL points somewhere local)."""
    session, endpoint = session_from(aws_env)
    config = Config(connect_timeout=10, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 3},
                    s3={"addressing_style": "path"} if endpoint else None)
    return session.client("s3", endpoint_url=endpoint, config=config)
