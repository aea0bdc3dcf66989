"""Bench set-up: the stand-ins in this process, a database, a seeded workspace and the bot's environment."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from sandbox.aws import AwsSandbox  # noqa: E402
from sandbox.federation import FederationStub  # noqa: E402
from sandbox.slack_api import SlackApiStandIn  # noqa: E402
from storage.db import create_db_engine  # noqa: E402

BOT_TOKEN = "xoxb-pam-bench-token"
SIGNING_SECRET = "pam-bench-signing-secret"
EXTERNAL_ID = "pam-bench-external-id-0123456789"
ADMIN, APPROVERS, CHANNEL = "UBENCHADMIN", ("UBENCHAPPR1", "UBENCHAPPR2"), "CBENCHAPPROVALS"
POSTGRES = os.environ.get("PAM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@dataclass
class Sandbox:
    """The Slack Web API stand-in, moto behind the enforcing STS layer, the federation stub and the bot's keys."""

    slack: SlackApiStandIn
    aws: AwsSandbox
    federation: FederationStub
    key_id: str
    secret: str
    bot_arn: str


def arguments(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """--db and --quick for every script (run_all.py passes them on), plus the script's own (`extra`)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite", help="database of the bot")
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run, not for figures)")
    if extra is not None:
        extra(parser)
    return parser.parse_args()


@contextmanager
def sandbox() -> Iterator[Sandbox]:
    with SlackApiStandIn(BOT_TOKEN) as slack, AwsSandbox() as aws, FederationStub(aws) as federation:
        key_id, secret, arn = aws.create_bot_identity(f"pam-bench-{uuid.uuid4().hex[:8]}")
        slack.add_channel(CHANNEL)
        for user_id in (ADMIN, *APPROVERS):
            slack.add_user(user_id, name=user_id.lower(), email=f"{user_id.lower()}@example.com")
        yield Sandbox(slack, aws, federation, key_id, secret, arn)


def add_requesters(slack: SlackApiStandIn, count: int, prefix: str = "UR") -> list[str]:
    """`count` new people in the workspace, each with an email (so each gets its own role session name)."""
    tag = uuid.uuid4().hex[:4].upper()
    ids = [f"{prefix}{tag}{i:06d}" for i in range(count)]
    for user_id in ids:
        slack.add_user(user_id, name=user_id.lower(), email=f"{user_id.lower()}@example.com")
    return ids


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh database URL: a SQLite file in `workdir`, or a PostgreSQL schema of its own (dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'pam-bench.db'}"
        return
    schema = f"pam_bench_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        separator = "&" if "?" in POSTGRES else "?"
        yield f"{POSTGRES}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def bot_env(box: Sandbox, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a deployment pointed at the stand-ins."""
    return {
        "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": box.slack.base_url,
        "DATABASE_URL": database_url, "PAM_EXTERNAL_ID": EXTERNAL_ID, "PAM_ADMINS": ADMIN,
        "PAM_SIGNIN_URL": box.federation.url, "PAM_LOG_LEVEL": "WARNING",
        "AWS_ENDPOINT_URL": box.aws.endpoint_url, "AWS_ACCESS_KEY_ID": box.key_id,
        "AWS_SECRET_ACCESS_KEY": box.secret, "AWS_DEFAULT_REGION": "us-east-1", **extra,
    }


def seed(box: Sandbox, env: dict[str, str], accounts: int = 1) -> list[str]:
    """Register one resource and `accounts` accounts the way an admin would; returns `resource account` names."""
    from bot.config import Settings
    from bot.runtime.container import build
    from bot.services.admin import AccountSpec

    container = build(Settings.from_env(env), aws_env=env, migrate=True)
    try:
        admin = container.services.admin
        resource_arn = box.aws.create_resource_role(f"pam-bench-res-{uuid.uuid4().hex[:8]}", box.bot_arn,
                                                    EXTERNAL_ID)
        admin.save_resource(actor=ADMIN, name="bench", role_arn=resource_arn)
        names = []
        for i in range(accounts):
            target = box.aws.create_target_role(f"pam-bench-tgt-{uuid.uuid4().hex[:8]}", resource_arn, EXTERNAL_ID)
            admin.save_account(actor=ADMIN, spec=AccountSpec(
                resource="bench", name=f"acct{i}", role_arn=target, duration="1h", approver_ids=APPROVERS,
                approval_channel=CHANNEL, requesters_everyone=True))
            names.append(f"bench acct{i}")
        return names
    finally:
        container.close()


def machine() -> str:
    """nproc, memory and Python, for the results file."""
    memory = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.splitlines()
    total = memory[1].split()[1] if len(memory) > 1 else "?"
    return f"{os.cpu_count()} CPUs, {total} RAM, Python {platform.python_version()} ({platform.machine()})"
