"""Composition root: settings → engine → clients → services → Slack app → web app and scheduler."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, \
    ServerErrorRetryHandler
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import utcnow
from bot.config import Settings
from bot.services.access import AccessService
from bot.services.admin import AdminService
from bot.services.grants import GrantService
from bot.services.installation import InstallationService
from bot.services.ports import AccessBroker
from bot.slack.app import create_app
from bot.slack.context import Services
from bot.slack.notifier import SlackDirectory, SlackNotifier
from bot.web import WebApp
from storage.db import create_db_engine, make_sessionmaker, ping, upgrade

log = logging.getLogger(__name__)
BACKGROUND: list[Callable[[Container], Any]] = []  # starters with a stop(); the scheduler registers itself


@dataclass
class Container:
    """Everything one process runs with; `close()` drains in-flight work first."""

    settings: Settings
    engine: Engine
    db: sessionmaker[Session]
    clock: Callable[[], datetime]
    broker: AccessBroker
    external_id: str
    services: Services
    slack: WebClient
    app: App
    web: WebApp
    executor: ThreadPoolExecutor

    background: list[Any] = field(default_factory=list)

    def start_background(self) -> None:
        """Start the scheduler (and anything else that runs beside the listeners)."""
        for starter in BACKGROUND:
            self.background.append(starter(self))

    def close(self) -> None:
        for job in self.background:
            job.stop()
        self.executor.shutdown(wait=True)  # finish grants that were acknowledged already
        self.engine.dispose()


def build_storage(settings: Settings, *, migrate: bool | None = None) -> tuple[Engine, sessionmaker[Session]]:
    engine = create_db_engine(settings.database_url)
    if settings.auto_migrate if migrate is None else migrate:
        upgrade(engine)
    return engine, make_sessionmaker(engine)


def build_broker(settings: Settings, external_id: str) -> AccessBroker:
    """The AWS adapter with clients created once (boto3 reads AWS_* and AWS_ENDPOINT_URL itself)."""
    from bot.aws.broker import AwsBroker

    return AwsBroker.from_environment(external_id=external_id, signin_url=settings.signin_url)


def slack_client(settings: Settings) -> WebClient:
    """Web API client on SLACK_API_URL that retries 429 (honouring Retry-After), 5xx and dropped connections."""
    return WebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2), RateLimitErrorRetryHandler(max_retry_count=3),
                        ServerErrorRetryHandler(max_retry_count=2)],
    )


def build(settings: Settings, *, clock: Callable[[], datetime] = utcnow, broker: AccessBroker | None = None,
          migrate: bool | None = None, verify_token: bool = True) -> Container:
    """Wire one process. Tests pass their own clock; everything else comes from settings."""
    engine, db = build_storage(settings, migrate=migrate)
    external_id = InstallationService(db=db, clock=clock).external_id(settings.external_id)
    broker = broker or build_broker(settings, external_id)
    client = slack_client(settings)
    admin = AdminService(db=db, clock=clock, broker=broker, env_admins=settings.admins)
    directory = SlackDirectory(client)
    notifier = SlackNotifier(client, directory=directory, default_channel=settings.approval_channel,
                             admin_ids=admin.admin_ids)
    grants = GrantService(db=db, clock=clock, broker=broker, directory=directory, notifier=notifier)
    access = AccessService(db=db, clock=clock, directory=directory, notifier=notifier, grants=grants,
                           admin_ids=admin.admin_ids)
    services = Services(access=access, grants=grants, admin=admin)
    executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="pam-listener")
    app = create_app(signing_secret=settings.slack_signing_secret, client=client, services=services,
                     executor=executor, verify_token=verify_token)
    web = WebApp(app, healthy=lambda: ping(engine))
    return Container(settings=settings, engine=engine, db=db, clock=clock, broker=broker,
                     external_id=external_id, services=services, slack=client, app=app, web=web,
                     executor=executor)
