"""What listeners are given: the services and the settings they render with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.services.access import AccessService
from bot.services.admin import AdminService
from bot.services.grants import GrantService


@dataclass
class Services:
    """Everything the Slack layer may call; built once by the composition root."""

    access: AccessService
    grants: GrantService
    admin: AdminService
    sweeps: Any = None  # SweepService (the scheduler's work)
    sessions: Any = None  # SessionService (lifecycle)
    audit: Any = None  # AuditService
    setup: Any = None  # SetupService
    home: Any = None  # HomeService
    break_glass: Any = None  # BreakGlassService
