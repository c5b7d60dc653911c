from django.contrib import admin

from core.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["worker", "seen_at"]
    readonly_fields = ["worker", "seen_at"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
