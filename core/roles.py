"""Staff roles as Django groups, and the permissions each one needs.

The groups are created and kept in step by data migrations that call
``sync_role_groups``; each app that adds models adds a migration calling it again.
"""

from __future__ import annotations

CUSTOMER_SERVICE_AGENT = "Customer service agent"
INCIDENT_MANAGER = "Incident manager"
SUPERVISOR = "Supervisor"
INTEGRATION = "Integration (API client)"
MONITORING = "Monitoring (alert source)"

_VIEW_PARCELS = [
    "customers.view_customer",
    "orders.view_order",
    "orders.view_trackingevent",
    "orders.view_merchant",
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
    # What monitoring's alerts do (rules) and what arrived; a rule that declares
    # public incidents needs a supervisor (monitoring.declare_from_alerts).
    "monitoring.view_alertrule",
    "monitoring.add_alertrule",
    "monitoring.change_alertrule",
    "monitoring.delete_alertrule",
    "monitoring.view_alert",
    "monitoring.view_alertreceipt",
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
        # Where webhooks and staff alerts go (secrets, chat tokens): supervisors only.
        "notifications.view_webhookendpoint",
        "notifications.add_webhookendpoint",
        "notifications.change_webhookendpoint",
        "notifications.delete_webhookendpoint",
        "notifications.view_chatdestination",
        "notifications.add_chatdestination",
        "notifications.change_chatdestination",
        "notifications.delete_chatdestination",
        "components.add_servicecomponent",
        "components.add_componentgroup",
        "components.change_componentgroup",
        "customers.change_customer",
        "orders.change_order",
        "core.view_workerheartbeat",
        "monitoring.declare_from_alerts",
    ],
    # The order system, TMS/WMS and the shop push data through the API.
    INTEGRATION: [
        *_VIEW_PARCELS,
        *_VIEW_INCIDENTS,
        # A client system opens incidents (internal until a person publishes them) and
        # links the parcels it knows; it never posts updates nor moves a person's incident.
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
    # Alertmanager, Grafana: its token posts alerts and can do nothing else; what an
    # alert does (status, draft or public incident) is the rules staff wrote.
    MONITORING: ["monitoring.receive_alerts"],
}


def role_groups_sync(**_: object) -> None:
    """Create each role's group and set its permissions to exactly ``ROLE_PERMISSIONS``.

    A ``post_migrate`` receiver (``CoreConfig.ready``), as Django creates
    permissions itself: after every ``migrate`` and every test database flush, so a
    role never lags behind the table and no migration carries live code. Makes the
    permissions of every app first: the signal reaches ``core`` before the apps above it.
    """
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    by_name = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.values_list("pk", "content_type__app_label", "codename")
    }
    for role, permission_names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set([by_name[name] for name in permission_names if name in by_name])
