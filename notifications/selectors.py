from __future__ import annotations

from django.db.models import Count

from notifications.models import PERSON_CHANNELS, Notification, Status


def delivery_figures(*, incident_id: int) -> list[dict[str, object]]:
    """Per channel: how many messages are queued, sent, delivered, failed, suppressed."""
    counts = {
        (row["channel"], row["status"]): row["count"]
        for row in Notification.objects.filter(incident_id=incident_id)
        .values("channel", "status")
        .annotate(count=Count("id"))
        .order_by()
    }
    figures = []
    for channel, label in PERSON_CHANNELS:
        row = {status: counts.get((channel, status), 0) for status in Status.values}
        figures.append(
            {
                "channel": label,
                "queued": row[Status.PENDING] + row[Status.SENDING],
                "sent": row[Status.SENT],
                "delivered": row[Status.DELIVERED],
                "failed": row[Status.FAILED] + row[Status.UNDELIVERED],
                "suppressed": row[Status.SUPPRESSED],
                "total": sum(row.values()),
            }
        )
    return figures
