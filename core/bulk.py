"""Set-based writes the ORM has no method for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

# After a write of this many rows the table's planner statistics are refreshed at once
# (``ANALYZE``), as after any bulk load. Left to autovacuum (a minute or more away, and off
# on some hosts) the planner still believes the table small: at 100,000 affected parcels
# the SMS and email sent next looked up each batch's parcels by walking every affected
# order of the incident, 350 ms a batch, and sending ran at a quarter of its pace.
ANALYZE_AFTER_ROWS = 10_000


def insert_from_select(
    model: type[models.Model],
    columns: Sequence[str],
    select: models.QuerySet[Any, Any],
    *,
    conflict_fields: Sequence[str],
    analyze_after: int = ANALYZE_AFTER_ROWS,
) -> int:
    """``INSERT INTO model (columns) SELECT … ON CONFLICT (conflict_fields) DO NOTHING``.

    ``select`` is a ``values_list`` queryset whose columns line up with
    ``columns`` (Django keeps the order given to ``values_list``). Rows that
    already exist are skipped, so running it twice inserts nothing the second
    time. Returns the number of rows inserted. One statement on PostgreSQL and
    SQLite alike, whatever the number of rows; when it inserted ``analyze_after``
    rows or more, the table is analysed in the same transaction.
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
    if inserted >= analyze_after:
        tables_analyze(model)
    return inserted


def tables_analyze(*tables: type[models.Model]) -> None:
    """Refresh the planner's statistics of these tables now (``ANALYZE``, PostgreSQL and
    SQLite alike), as after any bulk load; inside a transaction it counts its own rows."""
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or field.column is None:  # a reverse relation has no column
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return field.column
