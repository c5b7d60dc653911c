"""Reference data the migrations create; also used to restore it in tests."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.apps.registry import Apps
    from django.db.backends.base.schema import BaseDatabaseSchemaEditor

# Seed 000 (快递行业技术故障应急处理措施): first response and recovery targets.
# "Immediate isolation" for a cyber-security event is taken as 15 minutes.
CATEGORIES = [
    ("information_system", "信息系统故障", "Information-system failure", timedelta(minutes=30), timedelta(hours=2)),
    ("equipment", "设备故障", "Equipment failure", timedelta(hours=1), timedelta(hours=24)),
    ("cyber_security", "网络安全事件", "Cyber-security event", timedelta(minutes=15), timedelta(hours=24)),
    ("logistics", "物流异常", "Logistics disruption", None, None),
]


def create_categories(apps: Apps, schema_editor: BaseDatabaseSchemaEditor | None) -> None:
    category_model = apps.get_model("incidents", "IncidentCategory")
    for position, (code, name_zh, name_en, response, recovery) in enumerate(CATEGORIES):
        category_model.objects.get_or_create(
            code=code,
            defaults={"name_zh": name_zh, "name_en": name_en, "response_target": response, "recovery_target": recovery, "position": position},
        )
