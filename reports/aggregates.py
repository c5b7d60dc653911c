"""PostgreSQL expressions the figures are made of."""

from __future__ import annotations

from typing import Any

from django.db.models import Aggregate, Expression, F, FloatField, Func


class Percentile(Aggregate):
    """``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``: the
    interpolated percentile, NULLs ignored, computed by the database in one pass."""

    function = "PERCENTILE_CONT"
    name = "Percentile"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= float(fraction) <= 1:
            raise ValueError("fraction must lie between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


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


class IntervalSeconds(Func):
    """Seconds in an interval column."""

    template = "date_part('epoch', %(expressions)s)"
    output_field = FloatField()
