"""What a conditional UPDATE run through the ORM session reports."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched.

    Session.execute is typed to return a Result; for DML it is a CursorResult, the only kind with a row count
    (SQLAlchemy documents the cast).
    """
    return cast("CursorResult[Any]", result).rowcount
