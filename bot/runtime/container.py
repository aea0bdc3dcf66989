"""Composition root: settings → engine → clients → services → Slack app → web app and scheduler."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, \
    ServerErrorRetryHandler
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.runtime.audit_runner import AuditRunner
from bot.clock import utcnow
from bot.config import Settings
from bot.domain.errors import ConfigError
from bot.runtime.metrics import Metrics, delivery_retried
from bot.runtime.scheduler import Scheduler
from bot.services.access import AccessService
from bot.services.break_glass import BreakGlassService
from bot.services.admin import AdminService
from bot.services.audit import AuditService
from bot.services.audit_shipping import AuditShipper
from bot.sinks.build import build_sinks
from bot.services.grants import GrantService
from bot.services.installation import InstallationService
from bot.services.home import HomeService
from bot.services.revocations import RevocationService
from bot.services.sessions import SessionService
from bot.services.setup import SetupService
from bot.services.sweeps import SweepService
from bot.services.ports import AccessBroker
from bot.services.inbox import Inbox
from bot.slack.app import create_app, create_front_app, run_job
from bot.slack.context import Services
from bot.slack.guard import Members, installation_guard, told_later
from bot.slack.home import SlackHomePublisher
from bot.slack.id_check import SlackIdCheck
from bot.slack.installation import load_installation
from bot.slack.notifier import SlackDirectory, SlackNotifier
from bot.slack.people import RememberedPeople
from bot.slack.web_client import PooledWebClient
from bot.slack.recording import RecordDirectly, records_only
from bot.runtime.web import WebApp
from bot.runtime.deliverer import Deliverer
from bot.runtime.link_courier import LinkCourier
from bot.runtime.wakeups import Wakeups
from bot.runtime.worker import POLL_SECONDS, Worker
from bot.services.outbox import Outbox
from bot.slack.outbox_notifier import OutboxNotifier
from bot.slack.outbox_sender import SlackSender
from storage.db import create_db_engine, make_sessionmaker, ping, upgrade

log = logging.getLogger(__name__)


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
    inbox: Inbox
    worker: Worker
    outbox: Outbox
    deliverer: Deliverer
    courier: LinkCourier
    scheduler: Scheduler
    audit_runner: AuditRunner
    metrics: Metrics = field(default_factory=Metrics)

    def start_background(self) -> None:
        """Start the scheduler, the audit thread (checkpoints, sinks) and a worker: what a process that does the work
        runs (`pam-bot work`, `serve`, Socket Mode); the Procfile's web starts none of them (bot/runtime/wsgi.py)."""
        self.scheduler.start()
        self.audit_runner.start()
        self.worker.start()

    def close(self) -> None:
        self.scheduler.stop()
        self.audit_runner.stop()
        self.worker.stop()  # finishes the jobs in hand; unclaimed ones wait in the database for any worker
        self.courier.stop()  # links whose DM is still being retried cannot move: their requesters get a button
        self.engine.dispose()
        log.info("stopped: scheduler off, jobs in hand finished")


def build_storage(settings: Settings, *, migrate: bool | None = None) -> tuple[Engine, sessionmaker[Session]]:
    engine = create_db_engine(settings.database_url)
    if settings.auto_migrate if migrate is None else migrate:
        upgrade(engine)
    return engine, make_sessionmaker(engine, audit_key=settings.audit.key)


def build_broker(settings: Settings, external_id: str, aws_env: Mapping[str, str] | None = None) -> AccessBroker:
    """The AWS adapter with clients created once; boto3 reads AWS_* itself unless `aws_env` is given."""
    from bot.aws.broker import AwsBroker

    return AwsBroker.from_environment(external_id=external_id, signin_url=settings.signin_url, env=aws_env,
                                      issuer=settings.issuer_url)


def slack_client(settings: Settings, *, logger: logging.Logger | None = None) -> WebClient:
    """Web API client on SLACK_API_URL that retries 429 (honouring Retry-After), 5xx and dropped connections."""
    return PooledWebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10, logger=logger,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2), RateLimitErrorRetryHandler(max_retry_count=3),
                        ServerErrorRetryHandler(max_retry_count=2)],
    )


def outbox_client(settings: Settings) -> WebClient:
    """The outbox's client: no 429 retries of its own (the outbox waits out Retry-After and tries again)."""
    return PooledWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10)


def build(settings: Settings, *, clock: Callable[[], datetime] = utcnow, broker: AccessBroker | None = None,
          aws_env: Mapping[str, str] | None = None, migrate: bool | None = None,
          verify_token: bool = True, poll_seconds: float = POLL_SECONDS) -> Container:
    """Wire one process. Tests pass their own clock; everything else comes from settings."""
    engine, db = build_storage(settings, migrate=migrate)
    if settings.audit.key is None:
        try:  # a keyed chain: refuse to start, rather than refuse every action
            AuditService(db=db, clock=clock).require_writable()
        except ConfigError:
            engine.dispose()
            raise
        log.warning("PAM_AUDIT_KEY is not set: the audit chain uses plain SHA-256, which anyone who can write the "
                    "database can recompute; set PAM_AUDIT_KEY to key it (see README, Audit shipping)")
    inbox = Inbox(db=db, clock=clock)
    metrics = Metrics(queue=inbox.depth, clock=clock)
    metrics.watch(db)
    installation_settings = InstallationService(db=db, clock=clock)
    external_id = installation_settings.external_id(settings.external_id)
    broker = broker or build_broker(settings, external_id, aws_env)
    client = slack_client(settings)
    installation = load_installation(client)  # fail closed: no serving without knowing whose pam-bot this is
    admin = AdminService(db=db, clock=clock, broker=broker, env_admins=settings.admins,
                         slack=SlackIdCheck(client))
    directory = SlackDirectory(client)
    outbox = Outbox(db=db, clock=clock)
    notifier = OutboxNotifier(
        outbox, SlackNotifier(client), directory=directory, default_channel=settings.approval_channel,
        admin_ids=admin.admin_ids, admin_channel=settings.admin_channel)
    # Approvers and askers are remembered a few minutes, as at the edge; a grant asks Slack about its requester again.
    people = RememberedPeople(directory)
    courier = LinkCourier(clock)
    grants = GrantService(db=db, clock=clock, broker=broker, directory=directory, notifier=notifier,
                          courier=courier, on_link_sent=metrics.link_sent)
    access = AccessService(db=db, clock=clock, directory=people, notifier=notifier, grants=grants,
                           admin_ids=admin.admin_ids, daily_cap_seconds=settings.daily_cap_seconds)
    revocations = RevocationService(db=db, clock=clock, broker=broker, notifier=notifier)
    sessions = SessionService(db=db, clock=clock, broker=broker, notifier=notifier, admin_ids=admin.admin_ids,
                              revocations=revocations)
    sweeps = SweepService(db=db, clock=clock, notifier=notifier, grants=grants,
                          warning=timedelta(seconds=settings.expiry_warning_seconds),
                          request_timeout=timedelta(seconds=settings.request_timeout_seconds),
                          prune_revocations=sessions.prune_revocations, retry_revocations=revocations.retry_due,
                          reminders=[timedelta(seconds=s) for s in settings.reminder_seconds])
    deliverer = Deliverer(outbox, SlackSender(outbox_client(settings)), render=sweeps.render_notice,
                          on_retry=delivery_retried)
    break_glass = BreakGlassService(
        db=db, clock=clock, directory=people, notifier=notifier, admin_ids=admin.admin_ids,
        revoke=lambda actor, ref: sessions.revoke(actor=actor, ref=ref, authorized=True))
    services = Services(access=access, grants=grants, admin=admin, sweeps=sweeps, sessions=sessions,
                        break_glass=break_glass,
                        audit=AuditService(db=db, clock=clock, admin_ids=admin.admin_ids),
                        setup=SetupService(db=db, clock=clock, broker=broker, external_id=external_id, admin=admin,
                                           target_path=settings.target_path, bot_role_arn=settings.bot_role_arn,
                                           permissions_boundary=settings.permissions_boundary),
                        home=HomeService(db=db, clock=clock, directory=directory, admin_ids=admin.admin_ids,
                                         publisher=SlackHomePublisher(outbox)))
    members = Members(people, installation)
    front = create_front_app(signing_secret=settings.slack_signing_secret, client=client, services=services,
                             inbox=inbox, verify_token=verify_token,
                             guard=installation_guard(installation, members, services.audit.record,
                                                      checks_member=lambda body: not records_only(body)))
    app = create_app(signing_secret=settings.slack_signing_secret, client=client, services=services,
                     verify_token=verify_token,
                     guard=installation_guard(installation, members, services.audit.record, answer=told_later))
    worker = Worker(inbox, lambda job: run_job(app, job), poll_seconds=poll_seconds, outbox=deliverer,
                    wakeups=Wakeups(engine.url) if engine.dialect.name == "postgresql" else None)
    web = WebApp(front, healthy=lambda: ping(engine), metrics=metrics, signing_secret=settings.slack_signing_secret,
                 record=RecordDirectly(installation, inbox, client))
    shipper = AuditShipper(db=db, clock=clock, sinks=build_sinks(settings.audit, clock=clock, aws_env=aws_env),
                           batch=settings.audit.ship_batch)
    audit_runner = AuditRunner(services.audit, shipper, every_seconds=settings.audit.ship_seconds,
                               checkpoint_seconds=settings.audit.checkpoint_seconds)
    return Container(settings=settings, engine=engine, db=db, clock=clock, broker=broker,
                     external_id=external_id, services=services, slack=client, app=front, web=web,
                     inbox=inbox, worker=worker, outbox=outbox, deliverer=deliverer, courier=courier, metrics=metrics, audit_runner=audit_runner,
                     scheduler=Scheduler(sweeps, tick_seconds=settings.tick_seconds, on_tick=metrics.observe_tick,
                                         heartbeat=lambda: installation_settings.beat(socket.gethostname())))
