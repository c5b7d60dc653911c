"""What a link names: the criteria that choose orders, and the new delivery estimate."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import DateTimeField, ExpressionWrapper, F, Value
from django.db.models.functions import Cast


@dataclass
class LinkCriteria:
    hubs: list[str] = field(default_factory=list)
    origin_cities: list[str] = field(default_factory=list)
    destination_cities: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    created_from: datetime | None = None
    created_to: datetime | None = None
    promised_from: datetime | None = None
    promised_to: datetime | None = None

    def is_empty(self) -> bool:
        return not any(asdict(self).values())

    def as_json(self) -> dict[str, Any]:
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in asdict(self).items()
            if value
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinkCriteria:
        values = dict(data)
        for key in ("created_from", "created_to", "promised_from", "promised_to"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        return cls(**values)


@dataclass(frozen=True)
class Estimate:
    """A new delivery estimate: a delay added to each parcel's promise, or one fixed time."""

    delay: timedelta | None = None
    fixed: datetime | None = None

    def expression(self) -> Any:
        if self.fixed is not None:
            return Value(self.fixed, output_field=DateTimeField())
        if self.delay is not None:
            return ExpressionWrapper(F("promised_delivery") + Value(self.delay), output_field=DateTimeField())
        # A bare NULL in the sub-select would be typed text on PostgreSQL.
        return Cast(Value(None), output_field=DateTimeField())
