"""Revoke one role session: an inline Deny on the Target Role naming that session's `aws:userid` only.

AWS's own "revoke active sessions" denies every holder of a role by `aws:TokenIssueTime`. pam-bot gives each
grant its own role session name, so `aws:userid` = `<role id>:<session name>` names exactly one session and
no clock is compared. Statements are grouped by when the named credentials expire (10-minute buckets,
`Sid` PamBotRevokeUntil<YYYYmmddHHMM>); a bucket goes once its credentials are dead, before every write.
All inline policies of a role share IAM's 10,240-character quota (whitespace not counted).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from bot.domain.errors import AwsError

if TYPE_CHECKING:  # boto3-stubs: installed with the dev extra, for mypy only
    from mypy_boto3_iam import IAMClient

POLICY_NAME = "pam-bot-revocations"
ROLE_POLICY_QUOTA = 10_240  # characters of all inline policies of one role, whitespace not counted
BUCKET = timedelta(minutes=10)
MARGIN = timedelta(minutes=5)  # a bucket outlives its credentials a little: clocks differ
_SID = re.compile(r"PamBotRevokeUntil(\d{12})")
_SID_FORMAT = "%Y%m%d%H%M"
_WHITESPACE = re.compile(r"\s")

Document = dict[str, Any]


def user_id_pattern(aws_user_id: str | None, session_name: str) -> str:
    """What the deny matches: the exact `aws:userid`, or any role id with the name (sessions granted before
    pam-bot kept the role id; their names were the person's alone, never another grant's)."""
    return aws_user_id if aws_user_id else f"*:{session_name}"


def with_revocation(document: Document | None, pattern: str, expires_at: datetime) -> Document:
    """The policy with `pattern` denied until its bucket (the credentials' expiry, rounded up) ends."""
    sid = _sid(_bucket_end(expires_at))
    statements = [dict(s) for s in _statements(document)]
    for index, statement in enumerate(statements):
        if statement.get("Sid") == sid:
            patterns = _patterns(statement)
            if pattern not in patterns:
                statements[index] = _statement(sid, [*patterns, pattern])
            return _document(statements)
    return _document([*statements, _statement(sid, [pattern])])


def without_expired(document: Document | None, now: datetime) -> tuple[Document | None, int]:
    """The policy without buckets whose credentials have all expired (None when nothing is left), and how
    many denied sessions went."""
    kept, removed = [], 0
    for statement in _statements(document):
        until = bucket_end(statement)
        if until is not None and until + MARGIN < _utc(now):
            removed += len(_patterns(statement))
        else:
            kept.append(statement)
    return (_document(kept) if kept else None), removed


def denied(document: Document | None) -> list[str]:
    """Every `aws:userid` pattern the policy denies."""
    return [p for s in _statements(document) if bucket_end(s) is not None for p in _patterns(s)]


def bucket_end(statement: dict[str, Any]) -> datetime | None:
    """When the credentials a statement names have all expired, or None when it is not one of ours."""
    match = _SID.fullmatch(str(statement.get("Sid", "")))
    return datetime.strptime(match[1], _SID_FORMAT).replace(tzinfo=UTC) if match else None


def policy_size(document: Document) -> int:
    """Characters IAM counts against the role's quota: the JSON text without whitespace."""
    return len(_WHITESPACE.sub("", json.dumps(document)))


def apply_revocation(iam: IAMClient, role_name: str, pattern: str, expires_at: datetime, now: datetime) -> int:
    """Read, prune, merge and write the inline policy on the role; return how many stale entries went."""
    current, removed = without_expired(read_policy(iam, role_name), now)
    document = with_revocation(current, pattern, expires_at)
    size = policy_size(document)
    if size > ROLE_POLICY_QUOTA:
        raise full(role_name, f"the revocation policy alone would be {size} characters")
    write(iam, role_name, document)
    return removed


def prune(iam: IAMClient, role_name: str, now: datetime) -> int:
    """Drop expired buckets (deleting the policy once empty); return how many denied sessions went."""
    current = read_policy(iam, role_name)
    if current is None:
        return 0
    document, removed = without_expired(current, now)
    if removed and document is None:
        iam.delete_role_policy(RoleName=role_name, PolicyName=POLICY_NAME)
    elif removed and document is not None:
        write(iam, role_name, document)
    return removed


def write(iam: IAMClient, role_name: str, document: Document) -> None:
    try:
        iam.put_role_policy(RoleName=role_name, PolicyName=POLICY_NAME,
                            PolicyDocument=json.dumps(document, separators=(",", ":")))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "LimitExceeded":
            raise full(role_name, "together with the role's other inline policies") from error
        raise


def full(role_name: str, why: str) -> AwsError:
    """The quota error, naming the role and the quota (not a permission problem)."""
    return AwsError(
        f"pam-bot could not add the deny rule: the inline policies of the Target Role {role_name} would "
        f"exceed IAM's quota of {ROLE_POLICY_QUOTA:,} characters per role ({why}). Wait until earlier revoked "
        f"sessions expire (their rules are removed then), or move other inline policies of {role_name} into "
        "managed policies.", code="LimitExceeded", detail=f"role {role_name}: {why}")


def read_policy(iam: IAMClient, role_name: str) -> Document | None:
    try:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=POLICY_NAME)["PolicyDocument"]
    except iam.exceptions.NoSuchEntityException:
        return None
    return json.loads(document) if isinstance(document, str) else dict(document)


def _statement(sid: str, patterns: list[str]) -> Document:
    return {"Sid": sid, "Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"StringLike": {"aws:userid": patterns}}}


def _patterns(statement: dict[str, Any]) -> list[str]:
    found = (statement.get("Condition") or {}).get("StringLike", {}).get("aws:userid", [])
    return [found] if isinstance(found, str) else [str(p) for p in found]


def _bucket_end(expires_at: datetime) -> datetime:
    moment = _utc(expires_at)
    start = moment.replace(minute=moment.minute - moment.minute % 10, second=0, microsecond=0)
    return start + BUCKET


def _sid(until: datetime) -> str:
    return "PamBotRevokeUntil" + until.strftime(_SID_FORMAT)


def _statements(document: Document | None) -> list[dict[str, Any]]:
    statements = (document or {}).get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _document(statements: list[dict[str, Any]]) -> Document:
    return {"Version": "2012-10-17", "Statement": statements}


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
