"""Where the values of a message rendered at send time come from.

Most messages are rendered when they are written (a complaint reply, a coupon).
A fan-out to 10⁵ customers is written as bare rows in one ``INSERT … SELECT``
and rendered when it is sent, in batches; the app that owns the event supplies
the values. It registers a provider here for its event types (incidents does,
in its ``AppConfig.ready``), so the outbox never imports the apps that use it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from notifications.models import Notification

# Given a batch of messages of its event types, the placeholders' values for each (by id).
ContextProvider = Callable[[Sequence["Notification"]], Mapping[int, Mapping[str, str]]]

_providers: dict[str, ContextProvider] = {}


def context_provider_register(*, event_types: Iterable[str], provider: ContextProvider) -> None:
    for event_type in event_types:
        _providers[event_type] = provider


def contexts_for(notifications: Sequence[Notification]) -> dict[int, Mapping[str, str]]:
    """Each message's values, one provider call per event type in the batch."""
    by_type: dict[str, list[Notification]] = defaultdict(list)
    for notification in notifications:
        by_type[notification.event_type].append(notification)
    contexts: dict[int, Mapping[str, str]] = {}
    for event_type, batch in by_type.items():
        provider = _providers.get(event_type)
        if provider is None:
            raise LookupError(f"no context provider for {event_type!r} messages")
        contexts.update(provider(batch))
    return contexts
