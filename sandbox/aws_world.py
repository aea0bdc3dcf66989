"""Building the sandbox's AWS world: the bot's IAM user, Resource Roles and Target Roles, set up like the docs say."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

import boto3.session

from bot.domain import iam_policies as policies

ASSUME_ANY_ROLE = "sts:AssumeRole"
BOUNDARY_NAME = "pam-sandbox-target-boundary"


class AwsWorldBuilder:
    """Set-up helpers; calls go over HTTP with the sandbox's own key, which the enforcing layer lets through."""

    region: str

    @property
    def endpoint_url(self) -> str:
        raise NotImplementedError

    def __init__(self, *, admin_key_id: str) -> None:
        self._admin_key_id = admin_key_id
        self._admin_lock = threading.Lock()
        self._iam: Any = None
        self._boundary: str | None = None

    def iam(self) -> Any:
        """An IAM client with the sandbox's own (unrestricted) key, for set-up and inspection."""
        with self._admin_lock:
            return self._admin_client()

    def _admin_client(self) -> Any:
        if self._iam is None:
            session = boto3.session.Session(aws_access_key_id=self._admin_key_id,
                                            aws_secret_access_key="pam-sandbox", region_name=self.region)
            self._iam = session.client("iam", endpoint_url=self.endpoint_url)
        return self._iam

    def create_bot_identity(self, name: str = "pam-bot") -> tuple[str, str, str]:
        """An IAM user allowed to assume roles, with an access key: (access key id, secret, user ARN)."""
        iam = self.iam()
        arn = iam.create_user(UserName=name)["User"]["Arn"]
        iam.put_user_policy(UserName=name, PolicyName="assume-roles",
                            PolicyDocument=_policy([_allow(ASSUME_ANY_ROLE, "*")]))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"], arn

    def create_role(self, name: str, trust_policy: dict[str, Any], *, permissions: dict[str, Any] | None = None,
                    path: str = "/", max_session_duration: int = 3600, boundary: str | None = None) -> str:
        """A role with this trust policy and, when given, an inline permissions policy; returns its ARN."""
        iam = self.iam()
        extra = {"PermissionsBoundary": boundary} if boundary else {}
        arn: str = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust_policy),
                                   MaxSessionDuration=max_session_duration, **extra)["Role"]["Arn"]
        if permissions is not None:
            iam.put_role_policy(RoleName=name, PolicyName="permissions", PolicyDocument=json.dumps(permissions))
        return arn

    def boundary_policy(self) -> str:
        """The managed policy the sandbox's Target Roles carry as permissions boundary (created once)."""
        with self._admin_lock:
            if self._boundary is None:
                iam = self._admin_client()
                document = _policy([_allow("*", "*")])
                try:
                    created = iam.create_policy(PolicyName=BOUNDARY_NAME, PolicyDocument=document)
                    self._boundary = created["Policy"]["Arn"]
                except iam.exceptions.EntityAlreadyExistsException:  # moto's state outlives this sandbox object
                    self._boundary = next(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]
                                          if p["PolicyName"] == BOUNDARY_NAME)
            return self._boundary

    def create_resource_role(self, name: str, trusted_arn: str, external_id: str, *, targets: Sequence[str] = (),
                             target_path: str | None = None, allow_revocation: bool = False) -> str:
        """A Resource Role made from the documents `pam-bot setup` prints: trusting `trusted_arn` with the
        ExternalId, allowed the Target Roles `targets` (default: every role under `target_path_for` it)."""
        account, partition = _account_and_partition(trusted_arn)
        arn = f"arn:{partition}:iam::{account}:role/{name}"
        scope = policies.TargetScope(tuple(targets), target_path if targets or target_path else target_path_for(arn))
        permissions = policies.resource_role_permissions_policy(
            arn, scope, revocation=scope if allow_revocation else None,
            permissions_boundary=self.boundary_policy() if allow_revocation else None)
        return self.create_role(name, trusted_by(trusted_arn, external_id), permissions=permissions)

    def create_target_role(self, name: str, resource_role_arn: str, external_id: str, *,
                           path: str | None = None) -> str:
        """A Target Role trusting the Resource Role with the ExternalId, under the path that Resource Role may
        reach, carrying the sandbox's permissions boundary."""
        return self.create_role(name, trusted_by(resource_role_arn, external_id),
                                path=path or target_path_for(resource_role_arn), boundary=self.boundary_policy())

    def role_policy(self, role_arn: str, policy_name: str) -> dict[str, Any] | None:
        """An inline policy of a role as stored in IAM, or None when there is none by that name."""
        iam = self.iam()
        try:
            document: dict[str, Any] = iam.get_role_policy(RoleName=role_arn.rsplit("/", 1)[-1],
                                                           PolicyName=policy_name)["PolicyDocument"]
        except iam.exceptions.NoSuchEntityException:
            return None
        return document


def trusted_by(principal_arn: str, external_id: str) -> dict[str, Any]:
    """A trust policy letting one principal assume the role when it sends this ExternalId."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
    }]}


def target_path_for(resource_role_arn: str) -> str:
    """The sandbox's convention: a Resource Role reaches the roles under a path named after it."""
    return f"/{resource_role_arn.rsplit('/', 1)[-1]}/"


def _allow(action: str | list[str], resource: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _policy(statements: list[dict[str, Any]], *, raw: bool = False) -> Any:
    document = {"Version": "2012-10-17", "Statement": statements}
    return document if raw else json.dumps(document)


def _account_and_partition(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return parts[4], parts[1]
