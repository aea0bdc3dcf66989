"""Audit events leave the database: stdout lines, a webhook, S3 under Object Lock; once each, across restarts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.config import Settings
from bot.runtime.container import build
from bot.domain.audit import AuditEntry, AuditKey, Checkpoint, Link
from bot.domain.audit_chain import ChainCheck
from sandbox.webhook import Delivery, WebhookReceiver
from tests.e2e.helpers import wait_for
from tests.e2e.lifecycle_helpers import command
from tests.e2e.test_audit_cli import some_history
from storage.models import AuditSinkCursor
from tests.fixtures_aws import client, unique
from tests.fixtures_bot import OUTSIDER, Bot, bot_env

KEY = "shipping-key-" + "0123456789abcdef" * 2
SECRET = "webhook-signing-secret"


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def webhook_bot(make_bot: Callable[..., Bot], hook: WebhookReceiver, **env: str) -> Bot:
    return make_bot(PAM_AUDIT_SINKS="webhook", PAM_AUDIT_WEBHOOK_URL=hook.url, PAM_AUDIT_WEBHOOK_SECRET=SECRET,
                    PAM_AUDIT_KEY=KEY, **env)


def received(hook: WebhookReceiver) -> list[Delivery]:
    """Every POST the receiver got and did not refuse (an unanswered one included: it got the body)."""
    return [d for d in hook.deliveries if d.status == 0 or d.status < 300]


def once_each(deliveries: list[Delivery]) -> list[int]:
    """Event ids after the receiver drops repeats by Idempotency-Key; a repeat must carry the same events."""
    by_key: dict[str, list[int]] = {}
    for delivery in deliveries:
        assert by_key.setdefault(delivery.key, delivery.event_ids) == delivery.event_ids
    return [event_id for ids in by_key.values() for event_id in ids]


def recheck(events: list[dict[str, Any]], checkpoint: dict[str, Any], key: str) -> bool:
    """What a security team can do with the shipped copy alone: check the chain and the signed checkpoint."""
    signed = Checkpoint(checkpoint["head_id"], checkpoint["head_hash"], checkpoint["count"],
                        _time(checkpoint["at"]), checkpoint["scheme"], checkpoint["mac"])
    check = ChainCheck(AuditKey.of(key), signed)
    for e in events:
        entry = AuditEntry(e["actor"], e["action"], e["target"], e["outcome"], e["details"])
        if not check.add(Link(e["id"], e["prev_hash"], e["hash"], _time(e["at"]), e["scheme"], entry)):
            return False
    return check.finish()


def _time(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)


def test_stdout_sink_writes_each_event_once_with_the_checkpoint(make_bot: Callable[..., Bot],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    bot = make_bot(PAM_AUDIT_SINKS="stdout", PAM_AUDIT_KEY=KEY)
    some_history(bot)
    capsys.readouterr()
    runner = bot.container.audit_runner
    first = runner.run_once()  # checkpoints the head, then ships
    assert runner.run_once() == {"stdout": 0}  # nothing new: nothing twice
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    events = [line for line in lines if line["kind"] == "audit.event"]
    checkpoints = [line for line in lines if line["kind"] == "audit.checkpoint"]
    assert [e["id"] for e in events] == [e.id for e in bot.audit()] and first == {"stdout": len(events)}
    assert len(checkpoints) == 1 and lines[-1] == checkpoints[0]
    assert recheck(events, checkpoints[0], KEY)
    assert not recheck(events[:-1], checkpoints[0], KEY)  # a shipped copy missing its newest event shows it
    assert not recheck(events, checkpoints[0], "another-key-" + "x" * 32)


def test_webhook_failures_are_retried_with_the_same_key(make_bot: Callable[..., Bot],
                                                        hook: WebhookReceiver) -> None:
    bot = webhook_bot(make_bot, hook)
    some_history(bot)
    hook.fail_next(503, times=2)  # two refusals: the sink's own retries get it through
    assert bot.container.audit_runner.run_once()["webhook"] == len(bot.audit())
    assert [d.status for d in hook.deliveries] == [503, 503, 200]
    assert len({d.key for d in hook.deliveries}) == 1
    assert all(d.signed_with(SECRET) for d in hook.deliveries)
    assert once_each(hook.accepted()) == [e.id for e in bot.audit()]

    bot.container.services.audit.record("cli:ops", "admin.noop")
    hook.fail_next(500, times=3)  # more than the sink's retries: this run gives up, the cursor stays
    assert bot.container.audit_runner.run_once()["webhook"] == 0
    assert bot.container.audit_runner.run_once()["webhook"] == 0  # backing off: not even tried
    assert len(hook.deliveries) == 6
    bot.clock.advance(timedelta(seconds=6))
    assert bot.container.audit_runner.run_once()["webhook"] == 1
    assert once_each(hook.accepted()) == [e.id for e in bot.audit()]


def test_a_refused_batch_is_not_retried_at_once_and_nothing_is_lost(make_bot: Callable[..., Bot],
                                                                     hook: WebhookReceiver) -> None:
    bot = webhook_bot(make_bot, hook, PAM_AUDIT_SHIP_BATCH="2")
    some_history(bot)
    hook.fail_next(400)  # not worth retrying: one attempt, then back-off
    assert bot.container.audit_runner.run_once()["webhook"] == 0
    assert [d.status for d in hook.deliveries] == [400]
    bot.clock.advance(timedelta(seconds=6))
    assert bot.container.audit_runner.run_once()["webhook"] == len(bot.audit())
    assert once_each(hook.accepted()) == [e.id for e in bot.audit()]
    assert all(len(d.event_ids) <= 2 for d in hook.deliveries)


def _process(bot: Bot, hook: WebhookReceiver) -> subprocess.Popen[str]:
    env = {**os.environ, **bot_env(database_url=bot.container.settings.database_url, slack=bot.slack, aws=bot.aws),
           "PAM_AUDIT_SINKS": "webhook", "PAM_AUDIT_WEBHOOK_URL": hook.url, "PAM_AUDIT_KEY": KEY,
           "PAM_AUDIT_SHIP_BATCH": "3", "PAM_AUDIT_SHIP_INTERVAL": "1s", "PAM_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "tests.e2e.audit_ship_process"], env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def test_a_restart_mid_batch_neither_loses_nor_duplicates(make_bot: Callable[..., Bot],
                                                          hook: WebhookReceiver) -> None:
    bot = webhook_bot(make_bot, hook)
    some_history(bot)
    for _ in range(3):
        command(bot, OUTSIDER, "audit")  # refused, and audited: more events
    ids = [e.id for e in bot.audit()]
    assert len(ids) >= 7
    hook.hold(2)  # the second batch arrives, but its answer never does: the process dies waiting
    first = _process(bot, hook)
    try:
        assert hook.holding.wait(30), first.stderr.read() if first.stderr else ""
    finally:
        first.kill()
        first.wait(10)
    hook.release()
    assert once_each(received(hook)) == ids[:6]
    second = _process(bot, hook)
    try:
        wait_for(lambda: ids[-1] in once_each(received(hook)), "the rest of the trail", timeout=30)
    finally:
        assert second.stdin is not None
        second.stdin.close()
        second.wait(30)
    assert once_each(received(hook)) == ids
    keys = [d.key for d in received(hook)]
    assert len(keys) == len(set(keys)) + 1  # exactly the batch in flight at the crash came twice



def _s3(bot: Bot) -> Any:
    return client(bot.aws.sandbox, "s3", bot.aws.access_key, bot.aws.secret_key, s3={"addressing_style": "path"})


def _objects(store: Any, bucket: str, prefix: str) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    found = []
    for item in store.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        head = store.head_object(Bucket=bucket, Key=item["Key"])
        body = store.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
        found.append((item["Key"], head, [json.loads(line) for line in body.splitlines()]))
    return sorted(found, key=lambda found: found[0])


@pytest.mark.parametrize("lock", ["default-rule", "lock-only", "none"])
def test_s3_sink_puts_one_object_per_batch_under_object_lock(make_bot: Callable[..., Bot], aws_world: Any,
                                                             lock: str) -> None:
    store = client(aws_world.sandbox, "s3", aws_world.access_key, aws_world.secret_key,
                   s3={"addressing_style": "path"})
    bucket = unique("pam-audit")
    store.create_bucket(Bucket=bucket, **({"ObjectLockEnabledForBucket": True} if lock != "none" else {}))
    if lock == "default-rule":
        store.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 3}}})
    bot = make_bot(PAM_AUDIT_SINKS="s3", PAM_AUDIT_S3_BUCKET=bucket, PAM_AUDIT_S3_PREFIX="trail",
                   PAM_AUDIT_S3_RETENTION="2d", PAM_AUDIT_SHIP_BATCH="4")
    some_history(bot)
    ids = [e.id for e in bot.audit()]
    assert bot.container.audit_runner.run_once()["s3"] == len(ids)
    objects = _objects(_s3(bot), bucket, "trail/")
    assert len(objects) == -(-len(ids) // 4)
    shipped = [line["id"] for _, _, lines in objects for line in lines if line["kind"] == "audit.event"]
    assert shipped == ids
    name, head, _ = objects[0]
    assert name == f"trail/events-{ids[0]:012d}-{ids[3]:012d}.jsonl"  # the event ids name the object
    if lock == "none":
        assert "ObjectLockMode" not in head
        return
    mode, days = ("COMPLIANCE", 3) if lock == "default-rule" else ("GOVERNANCE", 2)
    assert head["ObjectLockMode"] == mode
    until = head["ObjectLockRetainUntilDate"]
    assert abs(until - (bot.clock() + timedelta(days=days))) < timedelta(minutes=5)
    versions = store.list_object_versions(Bucket=bucket, Prefix=name)["Versions"]
    with pytest.raises(ClientError) as refused:
        store.delete_object(Bucket=bucket, Key=name, VersionId=versions[0]["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_s3_sink_that_cannot_reach_its_bucket_keeps_the_cursor(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(PAM_AUDIT_SINKS="s3", PAM_AUDIT_S3_BUCKET=unique("missing-bucket"))
    some_history(bot)
    assert bot.container.audit_runner.run_once()["s3"] == 0
    with bot.db.begin() as session:
        cursor = session.get(AuditSinkCursor, "s3")
        assert cursor is not None and cursor.last_event_id == 0


def test_replicas_on_postgresql_ship_a_sink_one_at_a_time(make_bot: Callable[..., Bot], hook: WebhookReceiver) -> None:
    bot = webhook_bot(make_bot, hook)
    if bot.engine.dialect.name != "postgresql":
        pytest.skip("replicas share PostgreSQL; SQLite serves one process")
    some_history(bot)
    env = {**bot_env(database_url=bot.container.settings.database_url, slack=bot.slack, aws=bot.aws),
           "PAM_AUDIT_SINKS": "webhook", "PAM_AUDIT_WEBHOOK_URL": hook.url, "PAM_AUDIT_KEY": KEY}
    replica = build(Settings.from_env(env), clock=bot.clock, aws_env=env, migrate=False)
    try:
        hook.hold(1)
        shipping = threading.Thread(target=bot.container.audit_runner.run_once)
        shipping.start()
        assert hook.holding.wait(10)
        started = time.monotonic()
        assert replica.audit_runner.run_once() == {"webhook": 0}  # the other replica has the sink: skip, no wait
        assert time.monotonic() - started < 5 and len(hook.deliveries) == 1
        hook.release()
        shipping.join(30)
        assert replica.audit_runner.run_once() == {"webhook": 0}  # and nothing is left for it
    finally:
        replica.close()
    assert once_each(received(hook)) == [e.id for e in bot.audit()]
