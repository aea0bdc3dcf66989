"""Many rows in one INSERT whose text does not depend on how many there are, their ids in the rows' order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import JSON, Insert, String, Table, TypeDecorator, bindparam, cast, column, func, insert, select
from sqlalchemy.dialects.postgresql import JSON as PG_JSON
from sqlalchemy.orm import Session


def insert_in_order(session: Session, table: Table, rows: Sequence[Mapping[str, Any]], **same: Any) -> None:
    """Insert `rows` (dicts with the same keys, JSON-ready values) with the values `same` for every row.

    On PostgreSQL the rows travel as one JSON array, taken apart by the server in order (`ORDER BY` the
    ordinality hands out the serial ids in the rows' order, the way SQLAlchemy's own ordered multi-row INSERT
    does it): one parameter, one parse, one statement whatever the count, where a multi-row VALUES would
    carry a parameter per value and a new statement text for every count. SQLite's executemany inserts the
    rows one after another.
    """
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.connection().execute(insert(table), [{**row, **same} for row in rows])
        return
    names = tuple(dict.fromkeys(name for row in rows for name in row))  # a key a row lacks is NULL there
    statement = _unnested(table, names, tuple(same))
    session.connection().execute(statement, {"rows": list(rows), **same})


@cache
def _unnested(table: Table, names: tuple[str, ...], same: tuple[str, ...]) -> Insert:
    """INSERT … SELECT from the JSON array `rows` in its order, with `same` as parameters of their own."""
    items = func.json_array_elements(bindparam("rows", type_=JSON)).table_valued(
        column("value", PG_JSON), with_ordinality="n").render_derived(name="item")

    def value(name: str) -> Any:
        field, kind = items.c.value[name], table.c[name].type
        if isinstance(kind, TypeDecorator):
            kind = kind.impl_instance
        if isinstance(kind, JSON):
            return field
        # Text as it is: the column's own length check then refuses what is too long (a CAST would cut it).
        return field.astext if isinstance(kind, String) else cast(field.astext, kind)

    source = select(*map(value, names), *(bindparam(name, type_=table.c[name].type) for name in same))
    return insert(table).from_select([*names, *same], source.order_by(items.c.n))
