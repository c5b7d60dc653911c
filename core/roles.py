"""Staff roles as Django groups, and the permissions each one needs.

The groups are created and kept in step by data migrations that call
``sync_role_groups``; each app that adds models adds a migration calling it again.
"""

from __future__ import annotations

from typing import Any

CUSTOMER_SERVICE_AGENT = "Customer service agent"
INCIDENT_MANAGER = "Incident manager"
SUPERVISOR = "Supervisor"
INTEGRATION = "Integration (API client)"

_VIEW_PARCELS = [
    "customers.view_customer",
    "orders.view_order",
    "orders.view_trackingevent",
]
_VIEW_INCIDENTS = [
    "incidents.view_incident",
    "incidents.view_incidentupdate",
    "incidents.view_affectedorder",
    "incidents.view_incidentcategory",
    "incidents.view_linkjob",
    "components.view_servicecomponent",
    "components.view_componentgroup",
    "components.view_maintenance",
    "components.view_componentstatuschange",
]
# Agents file complaints taken on the phone, assign, reply and note.
_WORK_COMPLAINTS = [
    "complaints.view_complaint",
    "complaints.add_complaint",
    "complaints.change_complaint",
    "complaints.view_complaintmessage",
    "complaints.view_cannedresponse",
]
_VIEW_NOTIFICATIONS = ["notifications.view_notification", "notifications.view_notificationtemplate"]
# The evaluation dashboard, post-incident reports and their follow-up items:
# the people who run incidents and review them, not the complaint queue.
_REVIEW_INCIDENTS = [
    "reports.view_reports",
    "reports.view_followup",
    "reports.add_followup",
    "reports.change_followup",
    "reports.delete_followup",
]
_COMMAND_INCIDENTS = [
    *_VIEW_INCIDENTS,
    # Managers set an incident's compensation table and ask for it to be issued.
    "compensation.view_compensationrule",
    "compensation.add_compensationrule",
    "compensation.change_compensationrule",
    "compensation.delete_compensationrule",
    "compensation.view_compensationrequest",
    "compensation.request_incident_compensation",
    "compensation.view_coupon",
    *_VIEW_NOTIFICATIONS,
    # Retrying failed messages is a change of their status.
    "notifications.change_notification",
    "incidents.add_incident",
    "incidents.change_incident",
    "incidents.manage_incident",
    "incidents.link_orders",
    "incidents.view_targetalert",
    # The affected-components inline on the incident page.
    "incidents.view_incidentcomponent",
    "incidents.add_incidentcomponent",
    "incidents.change_incidentcomponent",
    "incidents.delete_incidentcomponent",
    "components.add_maintenance",
    "components.change_maintenance",
    "components.change_servicecomponent",
    *_REVIEW_INCIDENTS,
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    CUSTOMER_SERVICE_AGENT: [
        *_VIEW_PARCELS,
        "compensation.view_coupon",
        # Goodwill coupons from a complaint, within the agent's limit.
        "compensation.add_compensationrequest",
        "compensation.view_compensationrequest",
        *_VIEW_INCIDENTS,
        *_VIEW_NOTIFICATIONS,
        *_WORK_COMPLAINTS,
        # Agents record a customer's consent change made on the phone.
        "customers.change_customer",
    ],
    INCIDENT_MANAGER: [
        *_VIEW_PARCELS,
        *_COMMAND_INCIDENTS,
        "orders.change_order",
    ],
    SUPERVISOR: [
        *_VIEW_PARCELS,
        "compensation.view_coupon",
        "compensation.change_coupon",
        "compensation.view_compensationrule",
        "compensation.add_compensationrule",
        "compensation.change_compensationrule",
        "compensation.delete_compensationrule",
        "compensation.view_compensationrequest",
        "compensation.add_compensationrequest",
        "compensation.approve_compensation",
        *_COMMAND_INCIDENTS,
        *_WORK_COMPLAINTS,
        "complaints.view_replydeadline",
        "complaints.add_cannedresponse",
        "complaints.change_cannedresponse",
        "incidents.close_incident",
        "incidents.change_incidentcategory",
        "notifications.change_notificationtemplate",
        # Who asked for status notices: addresses, so supervisors only.
        "notifications.view_statussubscription",
        "components.add_servicecomponent",
        "components.add_componentgroup",
        "components.change_componentgroup",
        "customers.change_customer",
        "orders.change_order",
        "core.view_workerheartbeat",
    ],
    # The order system, TMS/WMS and monitoring push data through the API.
    INTEGRATION: [
        *_VIEW_PARCELS,
        *_VIEW_INCIDENTS,
        # Monitoring opens incidents from alerts (internal until a person publishes them)
        # and links the parcels it knows; it never posts updates nor moves a person's incident.
        "incidents.add_incident",
        "incidents.link_orders",
        "customers.add_customer",
        "customers.change_customer",
        "orders.add_order",
        "orders.change_order",
        "orders.add_trackingevent",
        # The shop redeems coupons at checkout.
        "compensation.view_coupon",
        "compensation.change_coupon",
    ],
}


def sync_role_groups(apps: Any, schema_editor: Any = None) -> None:
    """Create each role's group and set its permissions to exactly ``ROLE_PERMISSIONS``.

    Usable as a ``RunPython`` function: it first creates the permissions of every
    migrated model (Django otherwise does that only after ``migrate`` finishes).
    Permissions of models not migrated yet are left for a later migration.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # create_permissions skips app configs without a models module, which is
        # how migrations' historical app configs look; restore it afterwards.
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = original

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, permission_names in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for name in permission_names:
            app_label, codename = name.split(".")
            permission = permission_model.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                wanted.append(permission)
        group.permissions.set(wanted)
