"""Pytest fixtures for the AWS side: one sandbox and federation stub per run, the bot's identity, brokers, roles."""
# Loaded through `pytest_plugins` in the top-level conftest.

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3.session
import pytest
from botocore.config import Config

from bot.aws.broker import AwsBroker
from sandbox.aws import AwsSandbox
from sandbox.federation import FederationStub

AWS_EXTERNAL_ID = "pam-aws-test-external-id-42"
REGION = "us-east-1"


@dataclass(frozen=True)
class BotIdentity:
    """The bot's IAM user in the sandbox and its static keys."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    arn: str


@dataclass(frozen=True)
class RoleChain:
    """A Resource Role trusting the bot and a Target Role trusting it, both with the same ExternalId."""

    resource_role_arn: str
    target_role_arn: str
    external_id: str

    @property
    def target_name(self) -> str:
        return self.target_role_arn.rsplit("/", 1)[-1]


def unique(prefix: str) -> str:
    """A role or user name no other test uses (moto's state lives as long as the process)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def aws_env(sandbox: AwsSandbox, identity: BotIdentity) -> dict[str, str]:
    """The AWS_* variables a deployment pointed at the sandbox would have."""
    return {"AWS_ENDPOINT_URL": sandbox.endpoint_url, "AWS_ACCESS_KEY_ID": identity.access_key_id,
            "AWS_SECRET_ACCESS_KEY": identity.secret_access_key, "AWS_DEFAULT_REGION": REGION}


def client(sandbox: AwsSandbox, service: str, access_key_id: str, secret: str, token: str | None = None,
           **config: Any) -> Any:
    """A boto3 client on the sandbox signed with these credentials (no retries unless asked)."""
    session = boto3.session.Session(aws_access_key_id=access_key_id, aws_secret_access_key=secret,
                                    aws_session_token=token, region_name=REGION)
    settings = Config(**{"retries": {"mode": "standard", "total_max_attempts": 1}, **config})
    return session.client(service, endpoint_url=sandbox.endpoint_url, config=settings)


@pytest.fixture(scope="session")
def aws_sandbox() -> Iterator[AwsSandbox]:
    """moto's STS/IAM behind the enforcing layer, for the whole run (use unique role names)."""
    with AwsSandbox(region=REGION) as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def federation_stub(aws_sandbox: AwsSandbox) -> Iterator[FederationStub]:
    with FederationStub(aws_sandbox) as stub:
        yield stub


@pytest.fixture
def federation(federation_stub: FederationStub, aws_sandbox: AwsSandbox) -> Iterator[FederationStub]:
    """The shared stub, back up, without planned faults and with default tokens after the test."""
    yield federation_stub
    federation_stub.reset()
    aws_sandbox.clear_faults()


@pytest.fixture(scope="session")
def bot_identity(aws_sandbox: AwsSandbox) -> BotIdentity:
    key, secret, arn = aws_sandbox.create_bot_identity(unique("pam-bot"))
    return BotIdentity(key, secret, arn)


@pytest.fixture
def make_role_chain(aws_sandbox: AwsSandbox, bot_identity: BotIdentity) -> Callable[..., RoleChain]:
    """`make_role_chain(external_id=..., allow_revocation=...)`: fresh, uniquely named roles."""

    def make(*, external_id: str = AWS_EXTERNAL_ID, allow_revocation: bool = True) -> RoleChain:
        resource = aws_sandbox.create_resource_role(unique("pam-resource"), bot_identity.arn, external_id,
                                                    allow_revocation=allow_revocation)
        target = aws_sandbox.create_target_role(unique("pam-target"), resource, external_id)
        return RoleChain(resource, target, external_id)

    return make


@pytest.fixture
def role_chain(make_role_chain: Callable[..., RoleChain]) -> RoleChain:
    return make_role_chain()


@pytest.fixture
def make_broker(aws_sandbox: AwsSandbox, bot_identity: BotIdentity,
                federation: FederationStub) -> Callable[..., AwsBroker]:
    """`make_broker(**overrides)`: an AwsBroker built from the environment a deployment would have."""

    def make(*, external_id: str = AWS_EXTERNAL_ID, signin_url: str | None = None, max_attempts: int = 1,
             identity: BotIdentity | None = None, http_timeout: float = 5) -> AwsBroker:
        env = aws_env(aws_sandbox, identity or bot_identity)
        return AwsBroker.from_environment(external_id=external_id, signin_url=signin_url or federation.url,
                                          env=env, http_timeout=http_timeout, max_attempts=max_attempts)

    return make


@pytest.fixture
def broker(make_broker: Callable[..., AwsBroker]) -> AwsBroker:
    return make_broker()
