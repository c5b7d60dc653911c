"""Rebuild the published status page after any change to what it shows.

Connected to the models' save and delete signals; the rebuild runs once per
transaction, after it commits (never for a rolled-back change). Bulk
``.update()`` calls send no signal: the beat rebuild every few minutes catches
those, and the day's roll-over of the history bars.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from components.models import ComponentGroup, ComponentStatusChange, Maintenance, ServiceComponent
from incidents.models import Incident, IncidentComponent, IncidentUpdate
from portal.published import mark_changed


def _rebuild_after_commit() -> None:
    mark_changed()


def status_page_touched(**_kwargs: object) -> None:
    # Once per transaction: a rolled-back one drops its callbacks, and with them this one.
    if any(entry[1] is _rebuild_after_commit for entry in connection.run_on_commit):
        return
    transaction.on_commit(_rebuild_after_commit)


def connect() -> None:
    for model in (Incident, IncidentUpdate, IncidentComponent, ServiceComponent, ComponentGroup, Maintenance):
        post_save.connect(status_page_touched, sender=model, dispatch_uid=f"status-page-save-{model.__name__}")
        post_delete.connect(status_page_touched, sender=model, dispatch_uid=f"status-page-delete-{model.__name__}")
    post_save.connect(status_page_touched, sender=ComponentStatusChange, dispatch_uid="status-page-change")
    m2m_changed.connect(
        status_page_touched, sender=Maintenance.components.through, dispatch_uid="status-page-maintenance-components"
    )
