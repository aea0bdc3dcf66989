"""Who holds an access key, looked up in moto's in-process IAM and STS backends (the server runs here)."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends


@dataclass(frozen=True)
class Caller:
    """An IAM user or an assumed-role session, with the identity policies that apply to it."""

    kind: str  # "user" or "session"
    arn: str  # the user ARN, or the session ARN arn:<p>:sts::<acct>:assumed-role/<role>/<session>
    access_key_id: str
    account_id: str
    partition: str
    user_id: str  # what aws:userid is: the user id, or <role id>:<session name>
    active: bool = True
    role_arn: str | None = None
    session_name: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    policies: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    _token_digest: bytes = field(default=b"", repr=False)
    _secret_digest: bytes = field(default=b"", repr=False)

    def token_matches(self, token: str | None) -> bool:
        """True for a user, or for a session when `token` is the session token STS issued with the key."""
        return self.kind == "user" or hmac.compare_digest(_digest(token or ""), self._token_digest)

    def secret_matches(self, secret: str) -> bool:
        return hmac.compare_digest(_digest(secret), self._secret_digest)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def find_caller(access_key_id: str) -> Caller | None:
    """The user or session the key belongs to, or None when moto never issued it."""
    for account_id, account in list(iam_backends.items()):
        for partition, backend in list(account.items()):
            key = backend.access_keys.get(access_key_id)
            if key is None:
                continue
            if key.user_name:
                return _user(backend, key, partition)
            if key.role_arn:
                return _session(account_id, partition, key)
    return None


def find_role(role_arn: str) -> Any | None:
    """moto's Role for an exact ARN (path included), or None."""
    for _, account in list(iam_backends.items()):
        for _, backend in list(account.items()):
            for role in list(backend.roles.values()):
                if role.arn == role_arn:
                    return role
    return None


def role_named(account_id: str, partition: str, name: str) -> Any | None:
    backend = iam_backends[account_id][partition]
    return next((role for role in list(backend.roles.values()) if role.name == name), None)


def documents(holder: Any) -> tuple[dict[str, Any], ...]:
    """Inline and attached managed policy documents of a moto user or role, parsed."""
    texts = list(holder.policies.values())
    for policy in list(holder.managed_policies.values()):
        texts += [version.document for version in policy.versions if version.is_default]
    return tuple(_parse(text) for text in texts)


def _user(backend: Any, key: Any, partition: str) -> Caller:
    user = backend.get_user(key.user_name)
    return Caller(kind="user", arn=user.arn, access_key_id=key.access_key_id, account_id=user.account_id,
                  partition=partition, user_id=user.id, active=key.status == "Active",
                  policies=documents(user), _secret_digest=_digest(key.secret_access_key))


def _session(account_id: str, partition: str, key: Any) -> Caller | None:
    assumed = sts_backends[account_id][partition].get_assumed_role_from_access_key(key.access_key_id)
    if assumed is None:
        return None
    role = find_role(assumed.role_arn)
    return Caller(kind="session", arn=assumed.arn, access_key_id=key.access_key_id, account_id=account_id,
                  partition=partition, user_id=assumed.user_id, role_arn=assumed.role_arn,
                  session_name=assumed.session_name, issued_at=_utc(key.create_date),
                  expires_at=_utc(assumed.expiration), policies=documents(role) if role is not None else (),
                  _token_digest=_digest(assumed.session_token), _secret_digest=_digest(assumed.secret_access_key))


def _parse(text: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _digest(value: str) -> bytes:
    return hmac.digest(b"pam-sandbox", value.encode(), "sha256")
