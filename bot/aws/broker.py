"""AccessBroker on AWS: chain Resource Role → Target Role with the ExternalId, make console links, revoke."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import unquote

import boto3.session
import botocore.session

from bot.aws import federation, revocation
from bot.domain import iam_policies as policies
from bot.aws.clients import DEFAULT_MAX_ATTEMPTS, RoleClients, RoleStsClients, client_config, session_from, \
    shared_loader
from bot.aws.errors import SOURCE_IDENTITY_HINT, TRUST_HINT, TRUST_READ_HINT, hop2_hint, region_hint, request_id, \
    translated
from bot.domain.arns import parse_role_arn
from bot.domain.errors import AwsError
from bot.domain.external_id import validate_external_id
from bot.services.ports import Credentials, Grant

if TYPE_CHECKING:  # boto3-stubs: installed with the dev extra, for mypy only
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sts import STSClient
    from mypy_boto3_sts.type_defs import AssumeRoleResponseTypeDef

log = logging.getLogger(__name__)
VALIDATION_SESSION_NAME = "pam-bot-validation"
REVOCATION_SESSION_NAME = "pam-bot-revocation"
MIN_SECONDS = 900  # hop 1 and validations ask for the shortest session STS grants
REVOKE_HINT = ("Revoking in AWS needs the Resource Role to be allowed iam:GetRolePolicy, iam:PutRolePolicy and "
               "iam:DeleteRolePolicy on the Target Role (`/pam setup` shows the policy).")


class AwsBroker:
    """Role chaining over STS; clients are shared across threads, hop-2 clients are pooled (RoleStsClients)."""

    def __init__(self, *, external_id: str, sts_client: STSClient, session: boto3.session.Session | None = None,
                 endpoint_url: str | None = None, signin_url: str | None = None, http_timeout: float = 10,
                 issuer: str = federation.DEFAULT_ISSUER, iam_client: IAMClient | None = None,
                 loader: Any = None) -> None:
        """`sts_client` is the bot's own; `session` and `endpoint_url` build clients for role credentials
        in the same region with the same retry settings (`endpoint_url` None: boto3's own resolution)."""
        self.external_id = validate_external_id(external_id)
        self._sts = sts_client
        self._iam = iam_client  # the bot's own, only to read its own role's path
        self._region = str(sts_client.meta.region_name)
        self._roles = RoleClients(session or boto3.session.Session(), region=sts_client.meta.region_name,
                                  endpoint_url=endpoint_url, config=sts_client.meta.config)
        self._hop2 = RoleStsClients(region=sts_client.meta.region_name, endpoint_url=endpoint_url,
                                    config=sts_client.meta.config, loader=loader)
        self._signin_url = signin_url
        self._http_timeout = http_timeout
        self._issuer = issuer
        self._revocations = threading.Lock()  # one read-merge-write of a revocation policy at a time

    @classmethod
    def from_environment(cls, *, external_id: str, signin_url: str | None = None,
                         env: Mapping[str, str] | None = None, http_timeout: float = 10,
                         max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                         issuer: str = federation.DEFAULT_ISSUER) -> AwsBroker:
        """Build the clients once from AWS_* variables (`env`, or os.environ and boto3's usual chain)."""
        core = botocore.session.Session()
        core.register_component("data_loader", shared_loader())
        session, endpoint_url = session_from(env, core=core)
        config = client_config(http_timeout=http_timeout, max_attempts=max_attempts)
        sts = session.client("sts", config=config, endpoint_url=endpoint_url)
        log.info("AWS STS endpoint %s (region %s)", sts.meta.endpoint_url, sts.meta.region_name)
        return cls(external_id=external_id, sts_client=sts, session=session, endpoint_url=endpoint_url,
                   signin_url=signin_url, http_timeout=http_timeout, issuer=issuer,
                   iam_client=session.client("iam", config=config, endpoint_url=endpoint_url),
                   loader=core.get_component("data_loader"))

    @property
    def hop2_clients_built(self) -> int:
        """STS clients built for hop 2 so far: as many as grants ever ran at once, not one per grant."""
        return self._hop2.built

    @property
    def sts_endpoint(self) -> str:
        """The STS endpoint pam-bot's own calls go to (regional unless AWS_ENDPOINT_URL says otherwise)."""
        return str(self._sts.meta.endpoint_url)

    def caller_identity(self) -> str:
        with translated("ask AWS which principal pam-bot is"):
            return str(self._sts.get_caller_identity()["Arn"])

    def validate_resource(self, resource_role_arn: str, *, source_identity: bool = False) -> None:
        self._hop1(resource_role_arn, VALIDATION_SESSION_NAME, _validation_identity(source_identity))

    def validate_account(self, resource_role_arn: str, target_role_arn: str, *,
                         source_identity: bool = False) -> None:
        self._chain(resource_role_arn, target_role_arn, VALIDATION_SESSION_NAME, MIN_SECONDS,
                    _validation_identity(source_identity))

    def target_trust_policy(self, resource_role_arn: str, target_role_arn: str) -> dict[str, Any]:
        target = parse_role_arn(target_role_arn)
        iam = self._roles.client("iam", self._hop1(resource_role_arn, VALIDATION_SESSION_NAME))
        with translated(f"read the trust policy of the Target Role {target.arn}", denied_hint=TRUST_READ_HINT):
            document = iam.get_role(RoleName=target.name)["Role"]["AssumeRolePolicyDocument"]
        return json.loads(unquote(document)) if isinstance(document, str) else dict(document)

    def own_role_path(self, caller_arn: str) -> str | None:
        name = policies.session_role_name(caller_arn)
        if name is None or self._iam is None:
            return None
        try:
            with translated("read pam-bot's own role"):
                return str(self._iam.get_role(RoleName=name)["Role"]["Path"])
        except AwsError as error:  # not permitted or not reachable: the caller falls back and says so
            log.info("could not read the path of pam-bot's own role %s: %s", name, error.code)
            return None

    def grant(self, *, resource_role_arn: str, target_role_arn: str, session_name: str,
              duration_seconds: int, source_identity: str | None = None) -> Grant:
        hop1, answer = self._chain(resource_role_arn, target_role_arn, session_name, duration_seconds,
                                   source_identity)
        user = answer["AssumedRoleUser"]
        return Grant(session_name=session_name, assumed_role_arn=str(user["Arn"]),
                     expires_at=_utc(answer["Credentials"]["Expiration"]),
                     credentials=_credentials(answer),
                     aws_request_ids=(request_id(hop1), request_id(answer)),
                     aws_user_id=str(user.get("AssumedRoleId") or ""), source_identity=source_identity)

    def console_link(self, grant: Grant) -> str:
        partition = grant.assumed_role_arn.split(":")[1] if grant.assumed_role_arn.count(":") >= 5 else ""
        return federation.console_link(grant.credentials, partition=partition, signin_url=self._signin_url,
                                       issuer=self._issuer, timeout=self._http_timeout)

    def revoke_session(self, *, resource_role_arn: str, target_role_arn: str, session_name: str,
                       aws_user_id: str | None, expires_at: datetime, now: datetime) -> None:
        target = parse_role_arn(target_role_arn)
        iam = self._roles.client("iam", self._hop1(resource_role_arn, REVOCATION_SESSION_NAME))
        pattern = revocation.user_id_pattern(aws_user_id, session_name)
        with self._revocations, translated(f"revoke {session_name} on {target.arn}", denied_hint=REVOKE_HINT):
            revocation.apply_revocation(iam, target.name, pattern, expires_at, now)

    def prune_revocations(self, *, resource_role_arn: str, target_role_arn: str, now: datetime) -> int:
        target = parse_role_arn(target_role_arn)
        iam = self._roles.client("iam", self._hop1(resource_role_arn, REVOCATION_SESSION_NAME))
        with self._revocations, translated(f"clean up revocations on {target.arn}", denied_hint=REVOKE_HINT):
            return revocation.prune(iam, target.name, now)

    def _chain(self, resource_role_arn: str, target_role_arn: str, session_name: str,
               duration_seconds: int, source_identity: str | None = None,
               ) -> tuple[AssumeRoleResponseTypeDef, AssumeRoleResponseTypeDef]:
        """Hop 1 with the bot's client, hop 2 signed with hop 1's credentials; both carry `session_name`
        (and `source_identity` when given). Returns both AssumeRole answers."""
        target = parse_role_arn(target_role_arn).arn
        hop1 = self._assume_resource_role(resource_role_arn, session_name, source_identity)
        resource = parse_role_arn(resource_role_arn).arn
        with translated(f"assume the Target Role {target}", denied_hint=hop2_hint(resource, source_identity),
                        region_hint=region_hint(self._region, target, caller_account=resource.split(":")[4])), \
                self._hop2.client(_credentials(hop1)) as sts:
            hop2: AssumeRoleResponseTypeDef = sts.assume_role(
                RoleArn=target, RoleSessionName=session_name, ExternalId=self.external_id,
                DurationSeconds=duration_seconds, **_source(source_identity))
        return hop1, hop2

    def _hop1(self, resource_role_arn: str, session_name: str, source_identity: str | None = None) -> Credentials:
        return _credentials(self._assume_resource_role(resource_role_arn, session_name, source_identity))

    def _assume_resource_role(self, resource_role_arn: str, session_name: str,
                              source_identity: str | None = None) -> AssumeRoleResponseTypeDef:
        resource = parse_role_arn(resource_role_arn).arn
        with translated(f"assume the Resource Role {resource}", region_hint=region_hint(self._region, resource),
                        denied_hint=TRUST_HINT + (SOURCE_IDENTITY_HINT if source_identity else "")):
            answer = self._sts.assume_role(RoleArn=resource, RoleSessionName=session_name,
                                                           ExternalId=self.external_id, DurationSeconds=MIN_SECONDS,
                                                           **_source(source_identity))
        return answer


class _SourceIdentity(TypedDict, total=False):
    SourceIdentity: str


def _source(source_identity: str | None) -> _SourceIdentity:
    return {"SourceIdentity": source_identity} if source_identity else {}


def _validation_identity(on: bool) -> str | None:
    return VALIDATION_SESSION_NAME if on else None


def _credentials(answer: Mapping[str, Any]) -> Credentials:
    found = answer["Credentials"]
    return Credentials(access_key_id=found["AccessKeyId"], secret_access_key=found["SecretAccessKey"],
                       session_token=found["SessionToken"])


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
