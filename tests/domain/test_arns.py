"""Role ARNs and the partitions' sign-in and console endpoints."""

from __future__ import annotations

import pytest

from bot.domain.arns import RoleArn, console_url, parse_role_arn, signin_host
from bot.domain.errors import InvalidInput


@pytest.mark.parametrize(("text", "expected"), [
    ("arn:aws:iam::123456789012:role/pam-readonly",
     RoleArn("arn:aws:iam::123456789012:role/pam-readonly", "aws", "123456789012", "/", "pam-readonly")),
    ("arn:aws-us-gov:iam::000000000001:role/team/ops/Admin+x=y,z.a@b-c",
     RoleArn("arn:aws-us-gov:iam::000000000001:role/team/ops/Admin+x=y,z.a@b-c", "aws-us-gov", "000000000001",
             "/team/ops/", "Admin+x=y,z.a@b-c")),
    ("  arn:aws-cn:iam::123456789012:role/r \n",
     RoleArn("arn:aws-cn:iam::123456789012:role/r", "aws-cn", "123456789012", "/", "r")),
])
def test_role_arns_are_taken_apart(text: str, expected: RoleArn) -> None:
    assert parse_role_arn(text) == expected


@pytest.mark.parametrize("text", [
    "",
    "readonly",
    "arn:aws:iam::123456789012:user/alice",
    "arn:aws:iam::123456789012:root",
    "arn:aws:sts::123456789012:assumed-role/pam-readonly/alice",
    "arn:aws:iam::12345678901:role/short-account",
    "arn:aws:iam::1234567890123:role/long-account",
    "arn:aws:iam:us-east-1:123456789012:role/regional",
    "arn:aws:iam::123456789012:role/",
    "arn:aws:iam::123456789012:role/space in name",
    "arn:aws:iam::123456789012:role/" + "n" * 65,
    "arn:aws:iam::123456789012:role/ok\nrole/other",
    "arn:aws:s3:::bucket",
])
def test_anything_else_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_role_arn(text, field="role_arn")
    assert "arn:aws:iam::123456789012:role/pam-readonly" in caught.value.user_message
    assert caught.value.field == "role_arn"


@pytest.mark.parametrize("partition", ["aws-iso", "aws-eusc", "amazon"])
def test_partitions_other_than_the_three_are_refused_by_name(partition: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_role_arn(f"arn:{partition}:iam::123456789012:role/r")
    assert partition in caught.value.user_message
    assert "aws, aws-us-gov, aws-cn" in caught.value.user_message


@pytest.mark.parametrize(("partition", "signin", "console"), [
    ("aws", "https://signin.aws.amazon.com", "https://console.aws.amazon.com/"),
    ("aws-us-gov", "https://signin.amazonaws-us-gov.com", "https://console.amazonaws-us-gov.com/"),
    ("aws-cn", "https://signin.amazonaws.cn", "https://console.amazonaws.cn/"),
])
def test_each_partition_has_its_own_endpoints(partition: str, signin: str, console: str) -> None:
    assert signin_host(partition) == signin
    assert console_url(partition) == console


def test_an_unknown_partition_has_no_endpoints() -> None:
    with pytest.raises(InvalidInput):
        signin_host("aws-iso")
    with pytest.raises(InvalidInput):
        console_url("")


def test_an_arn_parsed_again_is_not_taken_apart_again() -> None:
    """Every grant parses the same registered roles: the answer is remembered (a RoleArn is immutable)."""
    arn = "arn:aws:iam::123456789012:role/pam/cached-readonly"
    assert parse_role_arn(arn) is parse_role_arn(arn)
    with pytest.raises(InvalidInput):  # a refusal is not remembered as an answer
        parse_role_arn("arn:aws:iam::123:role/short-account")
    with pytest.raises(InvalidInput):
        parse_role_arn("arn:aws:iam::123:role/short-account")
