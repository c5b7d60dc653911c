"""The expressions the figures are made of, on PostgreSQL and on the embedded SQLite.

PostgreSQL computes them itself (``percentile_cont``, ``date_part``). SQLite has no
percentile: ``register_sqlite_functions`` gives each SQLite connection one written in
Python — the way Django itself adds ``STDDEV_POP`` there — so the same queries, with
the same grouping, give the same figures on both.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Aggregate, Expression, F, FloatField, Func
from django.db.models.expressions import Combinable
from django.db.models.sql.compiler import SQLCompiler

_SQLITE_MICROSECONDS = 1_000_000.0  # SQLite keeps a duration, and a datetime difference, in microseconds


class Percentile(Aggregate):
    """``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``: the
    interpolated percentile, NULLs ignored, computed by the database in one pass."""

    function = "PERCENTILE_CONT"
    name = "Percentile"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: str | Combinable, fraction: float, **extra: Any) -> None:
        if not 0 <= float(fraction) <= 1:
            raise ValueError("fraction must lie between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any) -> tuple[str, Any]:
        return self.as_sql(compiler, connection, template="%(function)s(%(expressions)s, %(fraction)s)", **extra)


class _SqlitePercentile:
    """SQLite's ``PERCENTILE_CONT(value, fraction)``, interpolating as PostgreSQL's does."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.0

    def step(self, value: float | None, fraction: float) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        if not self.values:
            return None
        self.values.sort()
        position = self.fraction * (len(self.values) - 1)
        lower = math.floor(position)
        upper = math.ceil(position)
        return self.values[lower] + (self.values[upper] - self.values[lower]) * (position - lower)


def register_sqlite_functions(
    sender: type[BaseDatabaseWrapper], connection: BaseDatabaseWrapper, **kwargs: object
) -> None:
    """``connection_created`` receiver: the percentile on every new SQLite connection."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("PERCENTILE_CONT", 2, _SqlitePercentile)


class Seconds(Func):
    """Seconds from ``start`` to ``end`` (two datetime columns), NULL when either is.

    ``date_part`` rather than ``EXTRACT``: since PostgreSQL 14 ``EXTRACT`` returns
    numeric, and numeric arithmetic over 100,000 rows costs twice the time of double.
    """

    template = "date_part('epoch', (%(expressions)s))"
    arg_joiner = " - "
    output_field = FloatField()

    def __init__(self, end: str | Expression, start: str | Expression) -> None:
        super().__init__(F(end) if isinstance(end, str) else end, F(start) if isinstance(start, str) else start)

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any) -> tuple[str, Any]:
        end, start = (compiler.compile(expression) for expression in self.get_source_expressions())
        difference, params = connection.ops.subtract_temporals("DateTimeField", end, start)
        return f"({difference} / {_SQLITE_MICROSECONDS})", params


class IntervalSeconds(Func):
    """Seconds in an interval column."""

    template = "date_part('epoch', %(expressions)s)"
    output_field = FloatField()

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any) -> tuple[str, Any]:
        return self.as_sql(compiler, connection, template=f"(%(expressions)s / {_SQLITE_MICROSECONDS})", **extra)
