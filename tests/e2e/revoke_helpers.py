"""Helpers for the revocation tests: which credentials a session got, and pam-bot's clock set against AWS's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.fixtures_bot import Bot


def hop2_keys(bot: Bot, target_role_arn: str) -> list[str]:
    """Access key ids the Target Role's sessions were issued, oldest first (what the console uses)."""
    return [c.issued_key_id for c in bot.aws.sandbox.assume_role_calls()
            if c.ok and c.role_arn == target_role_arn and c.issued_key_id
            and not (c.session_name or "").startswith("pam-bot-")]  # validations use a fixed name


def aws_time(bot: Bot, offset: timedelta = timedelta(0)) -> None:
    """Set pam-bot's clock to the AWS sandbox's (real) time plus `offset` (negative: pam-bot runs behind)."""
    bot.clock.set(datetime.now(UTC) + offset)
