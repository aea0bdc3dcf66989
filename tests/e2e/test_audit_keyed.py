"""A keyed audit chain: MAC'd events, signed checkpoints that catch a cut-off tail, CLI actors marked as such."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

import pytest
from sqlalchemy import delete, update

from bot.config import Settings
from bot.runtime.container import build
from bot.domain.audit import AuditEntry, chain_hash
from bot.domain.errors import ConfigError
from storage.models import AuditEvent
from tests.e2e.lifecycle_helpers import command
from tests.e2e.test_audit_cli import pam_bot, some_history
from tests.fixtures_bot import ADMIN, OUTSIDER, Bot, bot_env

KEY = "k" * 40
OTHER_KEY = "x" * 40


def forge(bot: Bot, victim: AuditEvent, **changes: object) -> None:
    """Rewrite one event and recompute its hash the way someone without the key would (plain SHA-256)."""
    entry = AuditEntry(victim.actor, victim.action, victim.target, victim.outcome, {**victim.details, **changes})
    with bot.db.begin() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == victim.id)
                        .values(details=entry.details, hash=chain_hash(victim.prev_hash, victim.at, entry)))


def test_cli_actor_is_marked_as_coming_from_the_cli(bot: Bot) -> None:
    result = pam_bot(bot, "--actor", "dana", "audit", "export", "--output", "-")
    assert result.returncode == 0, result.stderr
    assert [e.actor for e in bot.audit("audit.export")] == ["cli:dana"]


def test_events_are_keyed_when_the_key_is_set(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(PAM_AUDIT_KEY=KEY)
    some_history(bot)
    events = bot.audit()
    assert events and {e.scheme for e in events} == {"hmac-sha256"}
    assert all(e.hash != chain_hash(e.prev_hash, e.at, AuditEntry(e.actor, e.action, e.target, e.outcome,
                                                                  e.details)) for e in events)
    intact = pam_bot(bot, "audit", "verify", env={"PAM_AUDIT_KEY": KEY})
    assert intact.returncode == 0 and "intact" in intact.stdout, intact.stdout + intact.stderr
    assert "keyed" in intact.stdout


def test_tampering_without_the_key_is_detected(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(PAM_AUDIT_KEY=KEY)
    some_history(bot)
    victim = bot.audit("session.granted")[0]
    forge(bot, victim, role_session_name="someone-else")
    changed = pam_bot(bot, "audit", "verify", env={"PAM_AUDIT_KEY": KEY})
    assert changed.returncode == 1 and f"BROKEN at event {victim.id}" in changed.stdout, changed.stdout
    # Marking the event as unkeyed (a downgrade) does not help either.
    with bot.db.begin() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == victim.id).values(scheme="sha256"))
    downgraded = pam_bot(bot, "audit", "verify", env={"PAM_AUDIT_KEY": KEY})
    assert downgraded.returncode == 1 and f"BROKEN at event {victim.id}" in downgraded.stdout
    assert "not keyed" in downgraded.stdout


def test_keyed_chain_cannot_be_checked_without_its_key(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(PAM_AUDIT_KEY=KEY)
    some_history(bot)
    missing = pam_bot(bot, "audit", "verify")
    assert missing.returncode == 1 and "PAM_AUDIT_KEY" in missing.stdout, missing.stdout + missing.stderr
    wrong = pam_bot(bot, "audit", "verify", env={"PAM_AUDIT_KEY": OTHER_KEY})
    assert wrong.returncode == 1 and "BROKEN" in wrong.stdout and "key" in wrong.stdout


def test_writes_without_the_key_are_refused_once_the_chain_is_keyed(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(PAM_AUDIT_KEY=KEY)
    some_history(bot)
    before = len(bot.audit())
    result = pam_bot(bot, "audit", "export", "--output", "-")
    assert result.returncode != 0 and "PAM_AUDIT_KEY" in result.stderr and "Traceback" not in result.stderr
    assert len(bot.audit()) == before


def test_existing_plain_chain_keeps_verifying_after_the_key_is_set(make_bot: Callable[..., Bot]) -> None:
    plain = make_bot()
    some_history(plain)
    count = len(plain.audit())
    keyed = pam_bot(plain, "audit", "export", "--output", "-", env={"PAM_AUDIT_KEY": KEY})
    assert keyed.returncode == 0, keyed.stderr
    schemes = [e.scheme for e in plain.audit()]
    assert schemes == ["sha256"] * count + ["hmac-sha256"]
    result = pam_bot(plain, "audit", "verify", env={"PAM_AUDIT_KEY": KEY})
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("key", [None, KEY])
def test_verify_detects_deleted_newest_events(make_bot: Callable[..., Bot], key: str | None) -> None:
    bot = make_bot(**({"PAM_AUDIT_KEY": key} if key else {}))
    env = {"PAM_AUDIT_KEY": key} if key else {}
    some_history(bot)
    first = pam_bot(bot, "audit", "verify", env=env)  # verifies, then signs a checkpoint of the head
    assert first.returncode == 0, first.stdout + first.stderr
    newest = bot.audit()[-3:]
    with bot.db.begin() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id.in_([e.id for e in newest])))
    cut = pam_bot(bot, "audit", "verify", env=env)
    assert cut.returncode == 1, cut.stdout
    assert "deleted" in cut.stdout and str(newest[-1].id) in cut.stdout
    # New events on top of the cut do not launder it: the next checkpoint is refused, verify still fails.
    bot.container.services.audit.record(ADMIN, "admin.noop")
    assert bot.container.services.audit.checkpoint() is None
    assert pam_bot(bot, "audit", "verify", env=env).returncode == 1


def test_forged_checkpoint_is_detected(make_bot: Callable[..., Bot]) -> None:
    from storage.models import AuditCheckpoint

    bot = make_bot(PAM_AUDIT_KEY=KEY)
    some_history(bot)
    assert pam_bot(bot, "audit", "verify", env={"PAM_AUDIT_KEY": KEY}).returncode == 0
    newest = bot.audit()[-2:]
    with bot.db.begin() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id.in_([e.id for e in newest])))
        head = session.query(AuditEvent).order_by(AuditEvent.id.desc()).first()
        assert head is not None
        session.execute(update(AuditCheckpoint).values(head_id=head.id, head_hash=head.hash,
                                                       count=AuditCheckpoint.count - 2,
                                                       mac=hashlib.sha256(b"forged").hexdigest()))
    forged = pam_bot(bot, "audit", "verify", env={"PAM_AUDIT_KEY": KEY})
    assert forged.returncode == 1 and "checkpoint" in forged.stdout, forged.stdout


def test_startup_warns_once_without_a_key(make_bot: Callable[..., Bot], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        make_bot()
    warnings = [r for r in caplog.records if "PAM_AUDIT_KEY" in r.getMessage()]
    assert len(warnings) == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        bot = make_bot(PAM_AUDIT_KEY=KEY)
    assert not [r for r in caplog.records if "PAM_AUDIT_KEY" in r.getMessage()]
    assert KEY not in repr(bot.container.settings)
    command(bot, OUTSIDER, "audit")
    assert KEY not in caplog.text


def test_the_bot_does_not_start_without_the_key_of_a_keyed_chain(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(PAM_AUDIT_KEY=KEY)
    some_history(bot)
    env = bot_env(database_url=bot.container.settings.database_url, slack=bot.slack, aws=bot.aws)
    with pytest.raises(ConfigError) as refused:
        build(Settings.from_env(env), clock=bot.clock, aws_env=env, migrate=False)
    assert "PAM_AUDIT_KEY" in refused.value.user_message
