"""The AWS sandbox keeps connections open as AWS's endpoints do (HTTP/1.1): botocore's pool sends call after call
on one connection. A server that closed each one would charge every call a new connection that AWS does not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

from sandbox.aws import AwsSandbox
from tests.fixtures_aws import BotIdentity, client


@pytest.fixture
def own_sandbox() -> Iterator[AwsSandbox]:
    """A sandbox of this test's own (moto's accounts are shared; its connections and call log are not)."""
    with AwsSandbox() as sandbox:
        yield sandbox


def test_one_client_sends_its_calls_on_one_connection(own_sandbox: AwsSandbox, bot_identity: BotIdentity) -> None:
    sts = client(own_sandbox, "sts", bot_identity.access_key_id, bot_identity.secret_access_key)
    iam = client(own_sandbox, "iam", bot_identity.access_key_id, bot_identity.secret_access_key)
    for _ in range(5):
        assert sts.get_caller_identity()["Arn"] == bot_identity.arn
        iam.list_roles(MaxItems=1)  # a call whose answer is larger, then more calls on the same connection
    assert own_sandbox.connections == 2  # one per client
    assert len(own_sandbox.calls()) == 10


def test_a_stopped_sandbox_answers_nothing_on_a_connection_kept_open(own_sandbox: AwsSandbox,
                                                                   bot_identity: BotIdentity) -> None:
    sts = client(own_sandbox, "sts", bot_identity.access_key_id, bot_identity.secret_access_key)
    assert sts.get_caller_identity()
    own_sandbox.stop()
    with pytest.raises((EndpointConnectionError, ConnectionClosedError)):
        sts.get_caller_identity()
