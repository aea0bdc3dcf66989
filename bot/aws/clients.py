"""boto3 clients: the bot's own, built once from the environment, and clients signed with role credentials."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3.session
from botocore.config import Config

from bot.services.ports import Credentials

if TYPE_CHECKING:  # boto3-stubs: installed with the dev extra, for mypy only
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sts import STSClient

DEFAULT_REGION = "us-east-1"  # STS is called on this Region's endpoint when AWS_REGION names none
DEFAULT_MAX_ATTEMPTS = 3  # botocore's "standard" retries: throttling and transient errors, with backoff


def client_config(*, http_timeout: float, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Config:
    return Config(connect_timeout=http_timeout, read_timeout=http_timeout,
                  retries={"mode": "standard", "total_max_attempts": max_attempts})


def session_from(env: Mapping[str, str] | None) -> tuple[boto3.session.Session, str | None]:
    """A boto3 session and endpoint override from `env`; with None, boto3 reads os.environ and its files itself.

    boto3 honours AWS_ENDPOINT_URL on its own; it is read here only when the variables come as a mapping.
    """
    if env is None:
        session = boto3.session.Session()
        # Without a region botocore calls STS's global endpoint, whose tokens opt-in Regions refuse.
        return (session if session.region_name else boto3.session.Session(region_name=DEFAULT_REGION)), None
    options: dict[str, Any] = {
        "aws_access_key_id": env.get("AWS_ACCESS_KEY_ID") or None,
        "aws_secret_access_key": env.get("AWS_SECRET_ACCESS_KEY") or None,
        "aws_session_token": env.get("AWS_SESSION_TOKEN") or None,
        "profile_name": env.get("AWS_PROFILE") or None,
    }
    session = boto3.session.Session(region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
                                    **options)
    if not session.region_name:  # neither the variables nor the profile name one
        session = boto3.session.Session(region_name=DEFAULT_REGION, **options)
    return session, env.get("AWS_ENDPOINT_URL") or None


class RoleClients:
    """Makes clients for temporary credentials, in the bot's region, endpoint and retry settings.

    boto3 sessions are not thread-safe, so client creation is serialised; the clients themselves are.
    """

    def __init__(self, session: boto3.session.Session, *, region: str | None, endpoint_url: str | None,
                 config: Config | None) -> None:
        self._session = session
        self._region = region
        self._endpoint_url = endpoint_url
        self._config = config
        self._lock = threading.Lock()

    @overload
    def client(self, service: Literal["sts"], credentials: Credentials) -> STSClient: ...
    @overload
    def client(self, service: Literal["iam"], credentials: Credentials) -> IAMClient: ...

    def client(self, service: Literal["sts", "iam"], credentials: Credentials) -> STSClient | IAMClient:
        with self._lock:
            return self._session.client(
                service, region_name=self._region, config=self._config, endpoint_url=self._endpoint_url,
                aws_access_key_id=credentials.access_key_id, aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token)
