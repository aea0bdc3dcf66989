"""The one conditional status change every repository uses, checked against the declared life cycle first.

`transition` moves a row (`UPDATE ... WHERE id = :id AND status = :expected RETURNING ...`) and gives the row as
it is now to the caller that moved it, None to any other; a move `bot.domain.states` does not declare raises
`IllegalTransition` before any SQL runs, so it cannot be written. `claim` is the bookkeeping kind: a conditional
UPDATE that leaves the status as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar, cast

from sqlalchemy import (ClauseElement, ColumnElement, CursorResult, Integer, String, Update, any_, bindparam,
                        inspect, literal, update)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from bot.domain.states import StatusT, require_transition
from storage.models import AccessRequest, AccessSession
from storage.repositories._rows import mapped_columns

Row = TypeVar("Row", AccessRequest, AccessSession)
_UNSET = object()


def transition(session: Session, model: type[Row], row_id: int, expected: StatusT, new: StatusT,
               *conditions: ColumnElement[bool], **values: Any) -> Row | None:
    """Move one row from `expected` to `new` (and set `values`) if it is still `expected` and meets
    `conditions`; the row as it is now for the caller that changed it, None for any other."""
    if not conditions and not any(isinstance(value, ClauseElement) for value in values.values()):
        require_transition(expected, new)
        return _moved(session, model, row_id, _prebuilt(model, tuple(sorted(values))),
                      {"row_id": row_id, "expected": expected, "new": new,
                       **{f"set_{key}": value for key, value in values.items()}})
    return _one(session, model, row_id, _statement(model, expected, new, model.id == row_id, *conditions, **values))


def transition_all(session: Session, model: type[Row], expected: StatusT, new: StatusT,
                   *conditions: ColumnElement[bool], **values: Any) -> int:
    """Move every row in `expected` that meets `conditions`; how many moved."""
    return _run(session, model, _statement(model, expected, new, *conditions, **values))


def claim(session: Session, model: type[Row], row_id: int, status: StatusT,
          *conditions: ColumnElement[bool], **values: Any) -> Row | None:
    """Set `values` on one row still in `status` and meeting `conditions`, keeping its status; the row as it is
    now for the caller that changed it (a grant's or a revocation's next attempt), None for any other."""
    if "status" in values:
        raise ValueError("a claim keeps the status; use transition to change it")
    return _one(session, model, row_id, update(model).where(model.id == row_id, model.status == status, *conditions)
                .values(**values))


def mark_all(session: Session, model: type[Row], ids: Sequence[int], current: StatusT, **values: Any) -> int:
    """A sweep's marks on the rows `ids` it claimed that are still `current`, in one UPDATE (a new status
    among `values` is checked like `transition`'s); how many rows changed."""
    new = values.pop("status", None)
    if new is not None:
        return _run(session, model, _statement(model, current, new, among(session, model.id, ids), **values))
    return _run(session, model, update(model).where(among(session, model.id, ids), model.status == current)
                .values(**values))


def among(session: Session, column: Any, ids: Sequence[int] | Sequence[str]) -> ColumnElement[bool]:
    """`column IN ids` (ids, or text keys). On PostgreSQL `= ANY` of one array parameter: the statement's text
    stays the same for any number of values, so neither the driver nor the server parses a new one for each
    batch size."""
    if session.get_bind().dialect.name == "postgresql":
        item = String() if ids and isinstance(ids[0], str) else Integer()
        return cast("ColumnElement[bool]", column == any_(literal(list(ids), ARRAY(item))))
    return cast("ColumnElement[bool]", column.in_(ids))


def _statement(model: type[Row], expected: StatusT, new: StatusT, *conditions: ColumnElement[bool],
         **values: Any) -> Update:
    """The checked UPDATE statement itself."""
    require_transition(expected, new)
    return update(model).where(model.status == expected, *conditions).values(status=new, **values)


def _one(session: Session, model: type[Row], row_id: int, statement: Update) -> Row | None:
    """Run a one-row statement with RETURNING: the changed row comes back with the UPDATE (the copy this session
    had loaded, if any, refreshed with it), so nobody reads it again. A row left as it was (someone else moved it)
    is read again on its next use, to say what it is now; the session's other rows stay as they are."""
    changed = session.scalars(statement.returning(model), execution_options={
        "synchronize_session": False, "populate_existing": True}).one_or_none()
    if changed is None and (loaded := session.identity_map.get(identity_key(model, row_id))) is not None:
        session.expire(loaded)
    return changed


@cache
def _prebuilt(model: type[Row], keys: tuple[str, ...]) -> Update:
    """`transition`'s UPDATE for one model and one set of values, built once: a Core statement with its values as
    parameters, RETURNING every column (the ORM's UPDATE … RETURNING builds and loads through its unit of work on
    every call, about twice the cost of the round trip)."""
    columns = inspect(model).columns
    table = cast(Any, model).__table__
    status = columns["status"]
    return (update(table).where(table.c.id == bindparam("row_id"), status == bindparam("expected", type_=status.type))
            .values({status: bindparam("new", type_=status.type),
                     **{columns[key]: bindparam(f"set_{key}", type_=columns[key].type) for key in keys}})
            .returning(*table.c))


def _moved(session: Session, model: type[Row], row_id: int, statement: Update, parameters: dict[str, Any]) -> Row | None:
    """Run a prebuilt one-row UPDATE … RETURNING in the session's transaction; the changed row as the session's
    object: the copy it had loaded, given the row's values where they differ, or a new one in the session. Changes
    the session holds are flushed first, as the ORM's own UPDATE would (a pending change to the loaded copy would
    otherwise be overwritten by the row as it is)."""
    session.flush()
    row = session.connection().execute(statement, parameters).one_or_none()
    loaded = session.identity_map.get(identity_key(model, row_id))
    if row is None:
        if loaded is not None:
            session.expire(loaded)  # someone else moved it: read again on its next use, to say what it is now
        return None
    mapping = row._mapping
    if loaded is not None:
        held = loaded.__dict__
        for key, column in mapped_columns(model):
            if (value := mapping[column]) != held.get(key, _UNSET):  # set only what differs: most of it does not
                set_committed_value(loaded, key, value)
        return loaded
    values = {key: mapping[column] for key, column in mapped_columns(model)}
    fresh = model(**values)
    make_transient_to_detached(fresh)  # as if loaded: no change of its own to flush
    session.add(fresh)
    return fresh


def _run(session: Session, model: type[Row], statement: Update) -> int:
    """Run it; the session's loaded rows of `model` are read again on their next use (the statement changed only
    that table: the accounts, decisions… a transaction loaded stay as they are, without a query each)."""
    result = cast("CursorResult[Any]", session.execute(statement.execution_options(synchronize_session=False)))
    for loaded in [row for row in session.identity_map.values() if isinstance(row, model)]:
        session.expire(loaded)
    return int(result.rowcount or 0)
