"""Resources, accounts, admins and installation settings."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from storage.models import Account, Admin, InstallationSetting, Resource


class ConfigRepository:
    """Resources, accounts, admins and installation settings."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def resource(self, name: str) -> Resource | None:
        if not _storable(name):
            return None
        return self.session.scalar(select(Resource).where(Resource.name == name))

    def resources(self) -> Sequence[Resource]:
        return self.session.scalars(select(Resource).order_by(Resource.name)).all()

    def account(self, resource_name: str, account_name: str) -> tuple[Resource, Account] | None:
        if not _storable(resource_name, account_name):
            return None
        row = self.session.execute(
            select(Resource, Account).join(Account, Account.resource_id == Resource.id)
            .where(Resource.name == resource_name, Account.name == account_name)
        ).first()
        return (row[0], row[1]) if row else None

    def accounts(self, resource_name: str | None = None) -> Sequence[tuple[Resource, Account]]:
        query = select(Resource, Account).join(Account, Account.resource_id == Resource.id)
        if resource_name is not None:
            if not _storable(resource_name):
                return []
            query = query.where(Resource.name == resource_name)
        rows = self.session.execute(query.order_by(Resource.name, Account.name)).all()
        return [(row[0], row[1]) for row in rows]

    def account_rows(self) -> Sequence[Row[Any]]:
        """Every account as a Core row, read by column name like the ORM object, ordered by resource and account
        name: what a list of accounts needs, without building an ORM object for each of a thousand. Reads what
        this transaction has flushed, as its other prebuilt statements do."""
        return self.session.connection().execute(_ACCOUNT_ROWS).all()

    def account_count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(Account)) or 0

    def account_by_id(self, account_id: int) -> tuple[Resource, Account] | None:
        row = self.session.execute(
            select(Resource, Account).join(Account, Account.resource_id == Resource.id)
            .where(Account.id == account_id)
        ).first()
        return (row[0], row[1]) if row else None

    def accounts_by_ids(self, account_ids: Collection[int]) -> dict[int, Account]:
        """Several accounts in one query, by id."""
        if not account_ids:
            return {}
        return {a.id: a for a in self.session.scalars(select(Account).where(Account.id.in_(list(account_ids))))}

    def add(self, row: Resource | Account | Admin) -> None:
        self.session.add(row)
        self.session.flush()

    def delete(self, row: Resource | Account | Admin) -> None:
        self.session.delete(row)
        self.session.flush()

    def admin_ids(self) -> set[str]:
        return set(self.session.scalars(select(Admin.user_id)).all())

    def admin(self, user_id: str) -> Admin | None:
        return self.session.get(Admin, user_id)

    def setting(self, key: str) -> str | None:
        row = self.session.get(InstallationSetting, key)
        return row.value if row else None

    def set_setting(self, key: str, value: str, now: datetime) -> None:
        row = self.session.get(InstallationSetting, key)
        if row is None:
            self.session.add(InstallationSetting(key=key, value=value, updated_at=now))
        else:
            row.value, row.updated_at = value, now
        self.session.flush()


_ACCOUNT_ROWS = (select(*Account.__table__.c).join(Resource.__table__, Account.resource_id == Resource.id)
                 .order_by(Resource.name, Account.name))


def _storable(*names: str) -> bool:
    """Whether a name typed by someone could be stored at all: no NUL, which PostgreSQL refuses in any text (a
    statement carrying one fails rather than matching nothing)."""
    return not any("\x00" in name for name in names)
