"""boto3 clients: the bot's own, built once from the environment, and clients signed with role credentials."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3.session
import botocore.credentials
import botocore.session
from botocore.config import Config

from bot.services.ports import Credentials

if TYPE_CHECKING:  # boto3-stubs: installed with the dev extra, for mypy only
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sts import STSClient

DEFAULT_REGION = "us-east-1"  # STS is called on this Region's endpoint when AWS_REGION names none
DEFAULT_MAX_ATTEMPTS = 3  # botocore's "standard" retries: throttling and transient errors, with backoff


_LOADER: list[Any] = []  # botocore's service data, read once per process
_LOADER_LOCK = threading.Lock()


def shared_loader() -> Any:
    """One botocore data loader for the process: the service models it reads (a few MB of JSON, ~0.1 s each) are
    the same for every client, so a broker built again (a test, a reload) does not read them again."""
    with _LOADER_LOCK:
        if not _LOADER:
            _LOADER.append(botocore.session.Session().get_component("data_loader"))
        return _LOADER[0]


def client_config(*, http_timeout: float, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Config:
    return Config(connect_timeout=http_timeout, read_timeout=http_timeout,
                  retries={"mode": "standard", "total_max_attempts": max_attempts})


def session_from(env: Mapping[str, str] | None, *, core: botocore.session.Session | None = None,
                 ) -> tuple[boto3.session.Session, str | None]:
    """A boto3 session and endpoint override from `env`; with None, boto3 reads os.environ and its files itself.

    boto3 honours AWS_ENDPOINT_URL on its own; it is read here only when the variables come as a mapping.
    `core`: the botocore session under it (so its service data can be shared with RoleStsClients).
    """
    if env is None:
        session = boto3.session.Session(botocore_session=core)
        # Without a region botocore calls STS's global endpoint, whose tokens opt-in Regions refuse.
        return (session if session.region_name else
                boto3.session.Session(region_name=DEFAULT_REGION, botocore_session=core)), None
    options: dict[str, Any] = {
        "aws_access_key_id": env.get("AWS_ACCESS_KEY_ID") or None,
        "aws_secret_access_key": env.get("AWS_SECRET_ACCESS_KEY") or None,
        "aws_session_token": env.get("AWS_SESSION_TOKEN") or None,
        "profile_name": env.get("AWS_PROFILE") or None,
    }
    session = boto3.session.Session(region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
                                    botocore_session=core, **options)
    if not session.region_name:  # neither the variables nor the profile name one
        session = boto3.session.Session(region_name=DEFAULT_REGION, botocore_session=core, **options)
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


class RoleStsClients:
    """STS clients for hop 2, built once and lent out one caller at a time, each signing with the credentials of
    the hop 1 it is lent for.

    Building a botocore client costs about 10 ms of CPU (its event handlers are copied, its configuration looked
    up), more than the rest of a grant; hop-1 credentials are new on every grant, so a client per credentials
    would be built on every grant. Instead each pooled client signs with a `botocore.credentials.Credentials` of
    its own (its session's, `get_credentials()`), whose public fields are set to hop 1's while the client is
    lent and cleared when it comes back; the signer reads them on every request. A client is lent to one
    caller at a time, so no call is ever signed with another grant's credentials. (botocore has no public
    per-call credentials; that is the gap this fills.)
    """

    def __init__(self, *, region: str | None, endpoint_url: str | None, config: Config | None,
                 loader: Any = None) -> None:
        self._region, self._endpoint_url, self._config = region, endpoint_url, config
        self._free: list[tuple[Any, botocore.credentials.Credentials]] = []
        self._lock = threading.Lock()
        # The service data, read once and shared (a loader per client would be ~8 MB): the bot's own session's.
        self._loader: Any = loader
        self.built = 0  # clients built so far: at most as many as grants ever ran at once

    @contextmanager
    def client(self, credentials: Credentials) -> Iterator[Any]:
        with self._lock:
            lent = self._free.pop() if self._free else None
        if lent is None:
            lent = self._build()
        sts, signing = lent
        signing.access_key, signing.secret_key = credentials.access_key_id, credentials.secret_access_key
        signing.token = credentials.session_token
        try:
            yield sts
        finally:
            signing.access_key = signing.secret_key = _UNSET
            signing.token = None
            with self._lock:
                self._free.append(lent)

    def _build(self) -> tuple[Any, botocore.credentials.Credentials]:
        with self._lock:  # one at a time: the shared loader fills its cache on the first
            session = botocore.session.Session()  # its own credentials; the service data is shared
            if self._loader is None:
                self._loader = session.get_component("data_loader")
            session.register_component("data_loader", self._loader)
            session.set_credentials(_UNSET, _UNSET)
            options: dict[str, Any] = {"endpoint_url": self._endpoint_url} if self._endpoint_url else {}
            sts = session.create_client("sts", region_name=self._region, config=self._config, **options)
            self.built += 1
            signing = session.get_credentials()
        assert signing is not None, "set_credentials gave this session credentials of its own"
        return sts, signing


_UNSET = "unset"  # what a pooled client signs with while nobody holds it (AWS refuses it)
