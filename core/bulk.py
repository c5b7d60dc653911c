"""Set-based writes the ORM has no method for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def insert_from_select(
    model: type[models.Model],
    columns: Sequence[str],
    select: models.QuerySet[Any, Any],
    *,
    conflict_fields: Sequence[str],
) -> int:
    """``INSERT INTO model (columns) SELECT … ON CONFLICT (conflict_fields) DO NOTHING``.

    ``select`` is a ``values_list`` queryset whose columns line up with
    ``columns`` (Django keeps the order given to ``values_list``). Rows that
    already exist are skipped, so running it twice inserts nothing the second
    time. Returns the number of rows inserted. One statement on PostgreSQL and
    SQLite alike, whatever the number of rows.
    """
    select_sql, params = select.order_by().query.sql_with_params()
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column_list = ", ".join(quote(_column(model, name)) for name in columns)
    conflict_list = ", ".join(quote(_column(model, name)) for name in conflict_fields)
    # "WHERE true" keeps SQLite from reading ON CONFLICT as a join clause; PostgreSQL does not mind.
    sql = f"INSERT INTO {table} ({column_list}) SELECT * FROM ({select_sql}) AS selected WHERE true ON CONFLICT ({conflict_list}) DO NOTHING"  # noqa: S608 - identifiers quoted, values parametrised
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted: int = cursor.rowcount
        return inserted


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or field.column is None:  # a reverse relation has no column
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return field.column
