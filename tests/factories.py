from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from customers.models import Customer
from incidents.models import IncidentCategory
from ops.demo import fictional_phone
from orders.models import Order, ParcelStatus, TrackingEvent


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"C{n:07d}")
    name = factory.Sequence(lambda n: f"客户{n}")
    phone = factory.Sequence(fictional_phone)
    email = factory.Sequence(lambda n: f"customer{n}@example.com")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    tracking_number = factory.Sequence(lambda n: f"SF{9_000_000_000_000 + n:013d}")
    customer = factory.SubFactory(CustomerFactory)
    origin_city = "上海"
    destination_city = "北京"
    hub = "上海转运中心"
    status = ParcelStatus.IN_TRANSIT
    promised_delivery = factory.LazyFunction(lambda: timezone.now() + timedelta(days=2))


class TrackingEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrackingEvent

    order = factory.SubFactory(OrderFactory)
    occurred_at = factory.LazyFunction(timezone.now)
    location = "上海转运中心"
    status = ParcelStatus.AT_HUB


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))
        if create:
            self.save()


def declare_incident(*, actor=None, category_code: str = "information_system", **overrides):
    """An incident made the way staff make one: through the service."""
    from core import roles
    from incidents.models import IncidentCategory, Severity
    from incidents.services import incident_declare

    actor = actor or UserFactory(role=roles.INCIDENT_MANAGER)
    fields = {
        "title_zh": "运单查询系统故障",
        "title_en": "Tracking system outage",
        "severity": Severity.MAJOR,
        "summary_zh": "部分运单无法查询。",
    }
    fields.update(overrides)
    return incident_declare(actor=actor, category=IncidentCategory.objects.get(code=category_code), **fields)


class MaintenanceFactory(factory.django.DjangoModelFactory):
    """A two-hour maintenance starting tomorrow."""

    class Meta:
        model = "components.Maintenance"

    title_zh = "数据库升级"
    title_en = "Database upgrade"
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    ends_at = factory.LazyAttribute(lambda maintenance: maintenance.starts_at + timedelta(hours=2))


def typhoon_outage(*, tracking_number: str = "SF7770000000001", minimum_spend: str = "0"):
    """An open logistics incident at the Guangzhou hub — its component (in the group 转运网络) in
    major outage, one public update — and a parcel there for 王芳 (phone ending 4321), delayed
    48 hours and compensated with a ¥5 coupon. Returns (incident, order)."""
    from decimal import Decimal

    from compensation.models import CompensationRule
    from compensation.rules import compensation_issue
    from components.models import ComponentGroup, ComponentStatus, ServiceComponent
    from core import roles
    from incidents.criteria import Estimate, LinkCriteria
    from incidents.linking import incident_link_orders
    from incidents.services import incident_post_update
    from tests.test_compensation_rules import approved_plan

    manager = UserFactory(role=roles.SUPERVISOR)
    group = ComponentGroup.objects.create(name_zh="转运网络", name_en="Hub network")
    hub = ServiceComponent.objects.create(name_zh="广州白云转运中心", name_en="Guangzhou Baiyun hub", group=group)
    incident = declare_incident(
        actor=manager,
        title_zh="台风:广州白云转运中心暂停作业",
        title_en="Typhoon: Guangzhou Baiyun hub has stopped",
        category_code="logistics",
        component_impacts={hub.pk: ComponentStatus.MAJOR_OUTAGE},
    )
    incident_post_update(
        incident_id=incident.pk, actor=manager, body_zh="包裹改由深圳中转。", body_en="Parcels now go through Shenzhen."
    )
    order = OrderFactory(
        tracking_number=tracking_number,
        hub="广州白云转运中心",
        customer=CustomerFactory(name="王芳", phone="+8613800134321", email="wang@example.com"),
    )
    incident_link_orders(
        incident=incident,
        criteria=LinkCriteria(hubs=["广州白云转运中心"]),
        estimate=Estimate(delay=timedelta(hours=48)),
        actor=manager,
    )
    CompensationRule.objects.create(
        incident=incident, min_delay=timedelta(hours=24), value=Decimal("5"), minimum_spend=Decimal(minimum_spend)
    )
    compensation_issue(request=approved_plan(incident, manager))
    return incident, order


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "compensation.Coupon"

    customer = factory.SubFactory(CustomerFactory)
    value = "20.00"
    minimum_spend = "50.00"
    valid_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    valid_until = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    source = "goodwill"


class ServiceComponentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "components.ServiceComponent"

    name_zh = factory.Sequence(lambda n: f"服务{n}")
    name_en = factory.Sequence(lambda n: f"Service {n}")


class AlertRuleFactory(factory.django.DjangoModelFactory):
    """A rule as staff write it; ``action`` defaults to opening an internal draft."""

    class Meta:
        model = "monitoring.AlertRule"

    name = factory.Sequence(lambda n: f"rule {n}")
    matchers = 'component="tracking-api"'
    component = factory.SubFactory(ServiceComponentFactory)
    category = factory.LazyFunction(lambda: IncidentCategory.objects.get(code="information_system"))
