"""IAM role ARNs and the sign-in and console endpoints of each AWS partition."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.domain.errors import InvalidInput

_SIGNIN = {
    "aws": "https://signin.aws.amazon.com",
    "aws-us-gov": "https://signin.amazonaws-us-gov.com",
    "aws-cn": "https://signin.amazonaws.cn",
}
_CONSOLE = {
    "aws": "https://console.aws.amazon.com/",
    "aws-us-gov": "https://console.amazonaws-us-gov.com/",
    "aws-cn": "https://console.amazonaws.cn/",
}
PARTITIONS = tuple(_SIGNIN)
EXAMPLE = "arn:aws:iam::123456789012:role/pam-readonly"

_ROLE_ARN = re.compile(
    r"arn:(?P<partition>[a-z-]+):iam::(?P<account>\d{12}):role(?P<path>/(?:[\x21-\x7e]+/)?)(?P<name>[\w+=,.@-]{1,64})",
    re.ASCII,
)
_MAX_LENGTH = 2048


@dataclass(frozen=True)
class RoleArn:
    """An IAM role ARN taken apart; `path` is `/` or `/a/b/`."""

    arn: str
    partition: str
    account_id: str
    path: str
    name: str


@lru_cache(maxsize=1024)  # the same few registered roles are parsed on every grant; a RoleArn is immutable
def parse_role_arn(text: str, *, field: str | None = None) -> RoleArn:
    """The parts of an IAM role ARN (`arn:<partition>:iam::<12 digits>:role/<path/>name`)."""
    arn = text.strip()
    match = _ROLE_ARN.fullmatch(arn) if len(arn) <= _MAX_LENGTH else None
    if match is None:
        raise InvalidInput(
            f"That is not an IAM role ARN. A role ARN looks like {EXAMPLE} "
            f"(copy it from the role's page in the IAM console).",
            field=field, detail=f"not a role arn (length {len(arn)})")
    partition = match["partition"]
    if partition not in _SIGNIN:
        raise InvalidInput(
            f"Unknown AWS partition {partition!r} in the role ARN; use one of {', '.join(PARTITIONS)}.",
            field=field, detail=f"unknown partition {partition[:20]}")
    return RoleArn(arn=arn, partition=partition, account_id=match["account"], path=match["path"],
                   name=match["name"])


def signin_host(partition: str) -> str:
    """Base URL of the partition's sign-in service, whose federation endpoint is `<host>/federation`."""
    return _SIGNIN[_known(partition)]


def console_url(partition: str) -> str:
    """The partition's AWS Management Console, with a trailing slash."""
    return _CONSOLE[_known(partition)]


def _known(partition: str) -> str:
    if partition not in _SIGNIN:
        raise InvalidInput(f"Unknown AWS partition {partition!r}; use one of {', '.join(PARTITIONS)}.",
                           detail="unknown partition")
    return partition
