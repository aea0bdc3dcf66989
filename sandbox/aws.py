"""A local AWS for the demo and the tests: moto's STS, IAM and S3 behind a layer that enforces what AWS enforces.

moto keeps its state in process-wide globals and this server runs moto in-process: every sandbox in a
process sees the same accounts, users and roles (each keeps its own call log and faults). Nothing resets
moto, so one sandbox per process is the intended use, with unique role names instead of resets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from sandbox.aws_identity import Caller, find_caller
from sandbox.aws_layer import EnforcingLayer, signed_service
from sandbox.aws_probe import would_deny
from sandbox.aws_records import ApiCall, CallLog, Fault, Faults
from sandbox.aws_world import AwsWorldBuilder
from sandbox.http import KeepAliveWSGIServer, Stop, serve_wsgi_kept_alive

ACCOUNT_ID = "123456789012"  # moto's default account: everything the sandbox creates lives there
ADMIN_KEY_ID = "AKIAPAMSANDBOXADMIN0"  # signs the sandbox's own set-up calls, which the layer lets through


class _ServiceRouter:
    """Sends SigV4-signed STS and IAM calls straight to moto's app for that service.

    moto's own dispatcher finds the service anew for every request, scanning its package directory under one
    process-wide lock; under load that lock, not the emulated AWS, becomes the bottleneck. Anything else
    (moto's own API, unsigned calls) still goes through it.
    """

    SERVICES = frozenset({"sts", "iam"})

    def __init__(self) -> None:
        self._dispatcher = DomainDispatcherApplication(create_backend_app)
        self._apps: dict[str, Callable[..., Iterable[bytes]]] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        service = signed_service(environ)
        if service not in self.SERVICES:
            return self._dispatcher(environ, start_response)
        with self._lock:
            app = self._apps.get(service)
            if app is None:
                app = self._apps[service] = create_backend_app(service)  # type: ignore[arg-type]
        return app(environ, start_response)


class AwsSandbox(AwsWorldBuilder):
    """moto's server with the enforcing layer on 127.0.0.1 (a free port unless one is given), in a thread."""

    def __init__(self, *, region: str = "us-east-1", host: str = "127.0.0.1", port: int = 0) -> None:
        self.region = region
        self.host = host
        self.port = port
        self.log = CallLog()
        self.faults = Faults()
        self._server: KeepAliveWSGIServer | None = None
        self._stop: Stop | None = None
        super().__init__(admin_key_id=ADMIN_KEY_ID)

    @property
    def endpoint_url(self) -> str:
        """`http://127.0.0.1:PORT`, what AWS_ENDPOINT_URL should be."""
        if self._server is None:
            raise RuntimeError("the AWS sandbox is not started")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> AwsSandbox:
        if self._server is not None:
            return self
        app = EnforcingLayer(_ServiceRouter(), admin_key_id=ADMIN_KEY_ID, log=self.log, faults=self.faults)
        # HTTP/1.1 with persistent connections, as AWS's endpoints: botocore sends call after call on one.
        self._server, self._stop = serve_wsgi_kept_alive(app, host=self.host, port=self.port)
        return self

    @property
    def connections(self) -> int:
        """Connections accepted since the start (clients that keep theirs open connect once)."""
        return self._server.connections if self._server is not None else 0

    def served_seconds(self, start: float, end: float) -> float:
        """Seconds its server spent answering between `start` and `end` (`time.time()`), its HTTP handling
        included (sandbox.http.ServerTime)."""
        return self._server.busy.within(start, end) if self._server is not None else 0.0

    def stop(self) -> None:
        stop, self._server, self._stop = self._stop, None, None
        if stop is not None:
            stop()  # the connections clients keep open are closed too

    def __enter__(self) -> AwsSandbox:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def calls(self, action: str | None = None) -> list[ApiCall]:
        """Every STS/IAM call the layer saw (the sandbox's own set-up excluded), oldest first."""
        return self.log.snapshot(action)

    def assume_role_calls(self) -> list[ApiCall]:
        return self.log.snapshot("AssumeRole")

    def fail_next(self, action: str, code: str, message: str = "", *, status: int = 400, times: int = 1,
                  role_arn: str | None = None) -> None:
        """Answer the next `times` calls of `action` (AssumeRole, PutRolePolicy...) with this AWS error; with
        `role_arn`, only calls naming that RoleArn (hop 2 of a chain, say)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        self.faults.add(Fault(action=action, code=code, message=message, status=status, times=times,
                              role_arn=role_arn))

    def clear_faults(self) -> None:
        self.faults.clear()

    def identity(self, access_key_id: str) -> Caller | None:
        """The IAM user or assumed-role session an access key belongs to (`role_arn` set for sessions)."""
        return find_caller(access_key_id)

    def denies(self, access_key_id: str, action: str = "iam:ListRoles") -> bool:
        """Whether a call with these issued credentials would be refused (a revoked or expired session)."""
        return would_deny(access_key_id, action)

    def role_for_key(self, access_key_id: str) -> str | None:
        """The role ARN an access key issued by AssumeRole belongs to (None for users and unknown keys)."""
        caller = find_caller(access_key_id)
        return caller.role_arn if caller is not None else None

    def session_for_credentials(self, access_key_id: str, secret_access_key: str,
                                session_token: str) -> Caller | None:
        """The assumed-role session these exact credentials belong to, if STS issued them and they are live."""
        caller = find_caller(access_key_id)
        if caller is None or caller.kind != "session":
            return None
        if not (caller.secret_matches(secret_access_key) and caller.token_matches(session_token)):
            return None
        return caller

    def __repr__(self) -> str:
        where = self.endpoint_url if self._server is not None else "stopped"
        return f"AwsSandbox({where})"
