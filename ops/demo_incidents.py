"""The demo's service components, incidents and maintenance, made through the services."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from complaints.models import Complaint
from complaints.services import complaint_file
from components.models import ComponentGroup, ComponentStatus, Maintenance, ServiceComponent
from incidents.criteria import Estimate, LinkCriteria
from incidents.linking import incident_link_orders
from incidents.models import Incident, IncidentCategory, Severity
from incidents.services import incident_declare, incident_post_update, incident_transition
from monitoring.models import AlertRule, AlertSource, RuleAction
from monitoring.services import Delivery, IncomingAlert, alerts_receive
from orders.models import Order

COMPONENTS = {
    ("信息系统", "Systems"): [
        ("官网与小程序", "Website and mini-program"),
        ("运单查询系统", "Parcel tracking"),
        ("在线下单接口", "Online ordering API"),
    ],
    ("转运网络", "Hub network"): [
        ("上海转运中心", "Shanghai hub"),
        ("广州白云转运中心", "Guangzhou Baiyun hub"),
        ("北京顺义转运中心", "Beijing Shunyi hub"),
        ("干线运输", "Line haul"),
    ],
}
TYPHOON_TITLE = "受台风影响,广州白云转运中心暂停作业"


def _components() -> dict[str, ServiceComponent]:
    by_name = {}
    for group_position, ((group_zh, group_en), components) in enumerate(COMPONENTS.items()):
        group, _ = ComponentGroup.objects.get_or_create(
            name_zh=group_zh, defaults={"name_en": group_en, "position": group_position}
        )
        for position, (name_zh, name_en) in enumerate(components):
            component, _ = ServiceComponent.objects.get_or_create(
                name_zh=name_zh, defaults={"name_en": name_en, "group": group, "position": position}
            )
            by_name[name_zh] = component
    return by_name


def seed_demo_incidents(*, manager: User, supervisor: User) -> int:
    """Idempotent: does nothing once the demo typhoon incident exists. Returns incidents created."""
    components = _components()
    if Incident.objects.filter(title_zh=TYPHOON_TITLE).exists():
        return 0
    now = timezone.now()
    with transaction.atomic():
        earlier = incident_declare(
            actor=supervisor,
            category=IncidentCategory.objects.get(code="information_system"),
            severity=Severity.MODERATE,
            title_zh="运单查询系统响应缓慢",
            title_en="Parcel tracking slow to respond",
            summary_zh="部分用户查询运单时出现超时。",
            summary_en="Some customers see time-outs when tracking a parcel.",
            component_impacts={components["运单查询系统"].pk: ComponentStatus.DEGRADED_PERFORMANCE},
            notify_customers=False,
        )
        for action in ("acknowledge", "investigate", "identify", "monitor", "resolve"):
            incident_transition(incident_id=earlier.pk, action=action, actor=supervisor)
        Incident.objects.filter(pk=earlier.pk).update(
            root_cause="数据库连接池耗尽。",
            measures_taken="扩大连接池并重启查询服务。",
            improvements="增加连接池使用率告警;季度压测。",
        )
        incident_transition(incident_id=earlier.pk, action="close", actor=supervisor)

        typhoon = incident_declare(
            actor=manager,
            category=IncidentCategory.objects.get(code="logistics"),
            severity=Severity.MAJOR,
            title_zh=TYPHOON_TITLE,
            title_en="Typhoon: Guangzhou Baiyun hub has stopped work",
            summary_zh="受台风影响,广州白云转运中心暂停作业,经该中心中转的包裹将延误约 48 小时。",
            summary_en="Because of the typhoon the Guangzhou Baiyun hub has stopped; parcels routed through it are about 48 hours late.",
            commander=manager,
            recovery_target=timedelta(hours=48),
            estimated_recovery_at=now + timedelta(hours=36),
            component_impacts={
                components["广州白云转运中心"].pk: ComponentStatus.MAJOR_OUTAGE,
                components["干线运输"].pk: ComponentStatus.DEGRADED_PERFORMANCE,
            },
        )
        incident_transition(incident_id=typhoon.pk, action="acknowledge", actor=manager)
        incident_transition(
            incident_id=typhoon.pk,
            action="investigate",
            actor=manager,
            body_zh="应急指挥部已启动,正在评估场地和车辆受损情况。",
            body_en="The emergency command is in place and assessing the site and vehicles.",
        )
        incident_post_update(
            incident_id=typhoon.pk,
            actor=manager,
            body_zh="部分包裹已改由深圳宝安转运中心中转。",
            body_en="Some parcels are being rerouted through the Shenzhen Bao'an hub.",
        )
        incident_link_orders(
            incident=typhoon,
            criteria=LinkCriteria(hubs=["广州白云转运中心"], statuses=["picked_up", "in_transit", "at_hub"]),
            estimate=Estimate(delay=timedelta(hours=48)),
            actor=manager,
        )
        maintenance = Maintenance.objects.create(
            title_zh="运单查询系统数据库升级",
            title_en="Tracking database upgrade",
            description_zh="升级期间运单查询可能短暂不可用。",
            description_en="Tracking may be briefly unavailable during the upgrade.",
            starts_at=now.replace(hour=2, minute=0, second=0, microsecond=0) + timedelta(days=1),
            ends_at=now.replace(hour=4, minute=0, second=0, microsecond=0) + timedelta(days=1),
            created_by=supervisor,
        )
        maintenance.components.add(components["运单查询系统"])
    return 2


def seed_demo_complaints() -> int:
    """A few complaints for the agents' queue, one close to its deadline. Idempotent."""
    if Complaint.objects.exists():
        return 0
    now = timezone.now()
    orders = list(Order.objects.filter(incident_links__isnull=False).select_related("customer").order_by("id")[:3])
    stories = [
        ("delay", "台风期间包裹一直显示在广州白云转运中心,什么时候能到?", 22),
        ("attitude", "打客服电话一直占线,希望尽快回复。", 6),
        ("lost", "物流信息三天没有更新,担心包裹丢失。", 1),
    ]
    for order, (reason, text, hours_ago) in zip(orders, stories, strict=False):
        complaint_file(
            customer=order.customer,
            order=order,
            reason=reason,
            description=text,
            channel="portal",
            now=now - timedelta(hours=hours_ago),
        )
    return len(orders)


def seed_demo_alerts(*, monitoring: User) -> int:
    """Two alert rules and one alert that fired and resolved. Idempotent: nothing once the
    rules exist. Returns the rules created."""
    if AlertRule.objects.exists():
        return 0
    components = _components()
    category = IncidentCategory.objects.get(code="information_system")
    AlertRule.objects.create(
        name="运单查询系统", matchers='component="tracking"', component=components["运单查询系统"], category=category
    )
    AlertRule.objects.create(
        name="在线下单接口",
        matchers='component="ordering-api"',
        component=components["在线下单接口"],
        category=category,
        action=RuleAction.STATUS,
        position=1,
    )
    labels = {"alertname": "OrderingApiSlow", "component": "ordering-api", "severity": "warning"}
    started = timezone.now() - timedelta(hours=3)
    for status, ended in (("firing", None), ("resolved", started + timedelta(minutes=12))):
        alert = IncomingAlert(
            fingerprint="demo-ordering-api-slow",
            status=status,
            labels=labels,
            annotations={"summary": "p99 of the ordering API above 2 s"},
            starts_at=started,
            ends_at=ended,
        )
        alerts_receive(delivery=Delivery(source=AlertSource.ALERTMANAGER, alerts=[alert]), actor=monitoring)
    return 2
