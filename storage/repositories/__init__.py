"""Repositories: queries and conditional updates; they flush but never commit."""

from storage.repositories.audit import AuditRepository
from storage.repositories.config import ConfigRepository
from storage.repositories.requests import RequestRepository
from storage.repositories.sessions import SessionRepository

__all__ = ["AuditRepository", "ConfigRepository", "RequestRepository", "SessionRepository"]
