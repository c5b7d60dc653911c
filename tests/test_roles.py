import pytest
from django.contrib.auth.models import Group

from core.roles import ROLE_PERMISSIONS

pytestmark = pytest.mark.django_db


def test_migrations_create_each_role_with_exactly_its_permissions():
    for role, permissions in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        granted = {
            f"{app}.{codename}"
            for app, codename in group.permissions.values_list("content_type__app_label", "codename")
        }
        assert granted == set(permissions), role


def test_agent_cannot_change_orders_but_manager_can():
    agent = set(ROLE_PERMISSIONS["Customer service agent"])
    manager = set(ROLE_PERMISSIONS["Incident manager"])

    assert "orders.change_order" not in agent
    assert "orders.change_order" in manager
