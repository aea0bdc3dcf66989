"""What listeners are given: the services and the settings they render with."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.access import AccessService
from bot.services.admin import AdminService
from bot.services.audit import AuditService
from bot.services.break_glass import BreakGlassService
from bot.services.grants import GrantService
from bot.services.home import HomeService
from bot.services.sessions import SessionService
from bot.services.setup import SetupService
from bot.services.sweeps import SweepService


@dataclass(frozen=True)
class Services:
    """Everything the Slack layer may call; built once by the composition root (bot/runtime/container.py)."""

    access: AccessService
    grants: GrantService
    admin: AdminService
    sweeps: SweepService  # the scheduler's work
    sessions: SessionService  # lifecycle: list, revoke, extend
    audit: AuditService
    setup: SetupService
    home: HomeService
    break_glass: BreakGlassService
