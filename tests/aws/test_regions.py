"""Regions: a regional STS endpoint by default, and a RegionDisabledException hint naming the right account."""

from __future__ import annotations

import logging

import pytest

from bot.aws.broker import AwsBroker
from bot.domain.errors import AwsError
from sandbox.aws import AwsSandbox
from tests.fixtures_aws import AWS_EXTERNAL_ID, RoleChain


def test_without_a_region_sts_is_called_on_a_regional_endpoint(caplog: pytest.LogCaptureFixture) -> None:
    env = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00", "AWS_SECRET_ACCESS_KEY": "secret"}  # no region, no endpoint
    with caplog.at_level(logging.INFO, logger="bot.aws.broker"):
        broker = AwsBroker.from_environment(external_id=AWS_EXTERNAL_ID, env=env)
    assert broker.sts_endpoint == "https://sts.us-east-1.amazonaws.com"
    assert [r.getMessage() for r in caplog.records] == [
        "AWS STS endpoint https://sts.us-east-1.amazonaws.com (region us-east-1)"]
    chosen = AwsBroker.from_environment(external_id=AWS_EXTERNAL_ID, env={**env, "AWS_REGION": "af-south-1"})
    assert chosen.sts_endpoint == "https://sts.af-south-1.amazonaws.com"


@pytest.mark.parametrize("hop", [1, 2])
def test_region_disabled_names_the_account_that_owns_the_role(hop: int, broker: AwsBroker,
                                                              aws_sandbox: AwsSandbox, role_chain: RoleChain) -> None:
    role = role_chain.resource_role_arn if hop == 1 else role_chain.target_role_arn
    calls = len(aws_sandbox.assume_role_calls())
    aws_sandbox.fail_next("AssumeRole", "RegionDisabledException", "STS is not activated in this region for "
                          "account:123456789012.", status=403, role_arn=role)
    with pytest.raises(AwsError) as caught:
        broker.validate_account(role_chain.resource_role_arn, role_chain.target_role_arn)
    error = caught.value
    assert error.code == "RegionDisabledException"
    assert f"Region us-east-1 for AWS account 123456789012, which owns {role}" in error.user_message
    caller = "pam-bot's own AWS account" if hop == 1 else "the Resource Role's account 123456789012"
    assert f"also be enabled in {caller}" in error.user_message
    assert "pam-bot's AWS region" not in error.user_message  # the old hint blamed pam-bot's side only
    assert len(aws_sandbox.assume_role_calls()) == calls + hop
