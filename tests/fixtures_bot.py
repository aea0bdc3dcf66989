"""Fixtures that build the whole bot and serve it over HTTP against the local stand-ins."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import ManualClock, utcnow
from bot.config import Settings
from bot.runtime.container import Container, build
from sandbox.aws import AwsSandbox
from sandbox.federation import FederationStub
from sandbox.http import serve_wsgi
from sandbox.slack_api import SlackApiStandIn
from sandbox.slack_driver import SlackDriver
from bot.services.admin import AccountSpec
from storage.db import create_db_engine
from storage.models import AccessRequest, AccessSession, AuditEvent
from tests.e2e.helpers import wait_for
from tests.conftest import truncate
from tests.fixtures_slack import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET

EXTERNAL_ID = "pam-test-external-id-0123456789"
REQUESTER, APPROVER, APPROVER_2, ADMIN = "UREQUESTER", "UAPPROVER1", "UAPPROVER2", "UADMIN01"
OUTSIDER, GUEST, BOT_USER, DELETED = "UOUTSIDER1", "UGUEST001", "UBOTUSER1", "UDELETED1"
GROUP, GROUP_MEMBER = "SAPPROVERS", "UGROUPMEM1"
CHANNEL = "CAPPROVALS"


@dataclass
class AwsWorld:
    """The bot's AWS identity and a resource role it may assume (in moto, behind the enforcing layer)."""

    sandbox: AwsSandbox
    federation: FederationStub
    access_key: str
    secret_key: str
    bot_arn: str

    def resource_role(self, external_id: str = EXTERNAL_ID) -> str:
        return self.sandbox.create_resource_role(f"pam-resource-{uuid.uuid4().hex[:8]}", self.bot_arn, external_id,
                                                 allow_revocation=True)

    def target_role(self, resource_role_arn: str, external_id: str = EXTERNAL_ID) -> str:
        return self.sandbox.create_target_role(f"pam-target-{uuid.uuid4().hex[:8]}", resource_role_arn,
                                               external_id)


@pytest.fixture(scope="session")
def aws_world(aws_sandbox: AwsSandbox, federation_stub: FederationStub, bot_identity: Any) -> AwsWorld:
    """The one AWS sandbox of the run (moto's state is process-wide) with the bot's identity."""
    return AwsWorld(aws_sandbox, federation_stub, bot_identity.access_key_id, bot_identity.secret_access_key,
                    bot_identity.arn)


def bot_env(*, database_url: str, slack: SlackApiStandIn, aws: AwsWorld, **extra: str) -> dict[str, str]:
    """The environment a real deployment would have, pointed at the stand-ins."""
    return {
        "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN, "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url, "DATABASE_URL": database_url, "PAM_EXTERNAL_ID": EXTERNAL_ID,
        "PAM_ADMINS": ADMIN, "PAM_SIGNIN_URL": aws.federation.url, "AWS_ENDPOINT_URL": aws.sandbox.endpoint_url,
        "AWS_ACCESS_KEY_ID": aws.access_key, "AWS_SECRET_ACCESS_KEY": aws.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1", **extra,
    }


@dataclass
class Bot:
    """The running bot and everything around it."""

    url: str
    container: Container
    slack: SlackApiStandIn
    driver: SlackDriver
    aws: AwsWorld
    clock: ManualClock
    engine: Engine
    accounts: dict[str, str] = field(default_factory=dict)

    @property
    def db(self) -> sessionmaker[Session]:
        return self.container.db

    def add_account(self, resource: str = "prod-aws", name: str = "readonly", **policy: Any) -> str:
        """Register a resource (once) and an account through the admin service, like an admin would."""
        admin = self.container.services.admin
        if resource not in self.accounts:
            arn = self.aws.resource_role()
            admin.save_resource(actor=ADMIN, name=resource, role_arn=arn)
            self.accounts[resource] = arn
        target = policy.pop("role_arn", None) or self.aws.target_role(self.accounts[resource])
        policy.setdefault("approver_ids", (APPROVER, APPROVER_2))
        policy.setdefault("approval_channel", CHANNEL)
        policy.setdefault("duration", "1h")
        if not policy.get("requester_ids") and not policy.get("requester_group"):
            policy.setdefault("requesters_everyone", True)
        admin.save_account(actor=ADMIN, spec=AccountSpec(resource=resource, name=name, role_arn=target, **policy))
        return target

    def requests(self) -> list[AccessRequest]:
        with self.db.begin() as session:
            return list(session.query(AccessRequest).order_by(AccessRequest.id))

    def sessions(self) -> list[AccessSession]:
        with self.db.begin() as session:
            return list(session.query(AccessSession).order_by(AccessSession.id))

    def audit(self, action: str | None = None) -> list[AuditEvent]:
        with self.db.begin() as session:
            query = session.query(AuditEvent).order_by(AuditEvent.id)
            rows = list(query)
        return [row for row in rows if action is None or row.action == action]

    def card(self) -> dict[str, Any]:
        """The latest state of the newest message in the approval channel (once the outbox delivered its rows)."""
        self.settle_outbox()
        messages = self.slack.messages(CHANNEL)
        assert messages, "no approval card was posted"
        return messages[-1]

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until the worker has handled every acknowledged request."""
        wait_for(lambda: self.container.inbox.depth()[0] == 0, "the worker to drain its inbox", timeout)
        self.settle_outbox(timeout)

    def settle_outbox(self, timeout: float = 10.0) -> None:
        """Wait until the outbox has delivered every row that is due (rows waiting out a backoff do not count)."""
        wait_for(self.container.outbox.idle, "the outbox to deliver its due rows", timeout)

    def everything_slack_saw(self) -> str:
        return json.dumps([call.args for call in self.slack.calls], default=str)


def populate_directory(slack: SlackApiStandIn) -> None:
    slack.add_channel(CHANNEL)
    slack.add_user(REQUESTER, name="alice", email="alice@example.com")
    slack.add_user(APPROVER, name="bob", email="bob@example.com")
    slack.add_user(APPROVER_2, name="carol", email="carol@example.com")
    slack.add_user(ADMIN, name="dana", email="dana@example.com")
    slack.add_user(OUTSIDER, name="eve", email="eve@example.com")
    slack.add_user(GUEST, name="gus", email="gus@example.com", is_restricted=True)
    slack.add_user(BOT_USER, name="robot", is_bot=True)
    slack.add_user(DELETED, name="gone", email="gone@example.com", deleted=True)
    slack.add_user(GROUP_MEMBER, name="grace", email="grace@example.com")
    slack.add_usergroup(GROUP, [GROUP_MEMBER])


@pytest.fixture
def make_bot(database_url: str, slack_api: SlackApiStandIn, aws_world: AwsWorld) -> Iterator[Callable[..., Bot]]:
    """`make_bot(**env)` builds, migrates and serves the bot; everything is stopped after the test."""
    made: list[tuple[Container, Callable[[], None], Engine]] = []

    def make(**extra_env: str) -> Bot:
        engine = create_db_engine(database_url)
        truncate(engine)
        populate_directory(slack_api)
        clock = ManualClock(utcnow())
        settings = Settings.from_env(bot_env(database_url=database_url, slack=slack_api, aws=aws_world,
                                             **extra_env))
        container = build(settings, clock=clock, aws_env=bot_env(database_url=database_url, slack=slack_api,
                                                                  aws=aws_world), poll_seconds=0.05)
        container.worker.start()
        url, stop = serve_wsgi(container.web)
        made.append((container, stop, engine))
        driver = SlackDriver(f"{url}/slack/events", SLACK_SIGNING_SECRET, api=slack_api, team_id=slack_api.team_id)
        return Bot(url, container, slack_api, driver, aws_world, clock, engine)

    yield make
    for container, stop, engine in made:
        stop()
        container.close()
        engine.dispose()


@pytest.fixture
def bot(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot()
