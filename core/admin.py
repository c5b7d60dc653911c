from django.contrib import admin

from core.forms import ThrottledAdminLoginForm
from core.models import WorkerHeartbeat

# Repeated failed sign-ins pause sign-in for that address and username.
admin.site.login_form = ThrottledAdminLoginForm


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["worker", "seen_at"]
    readonly_fields = ["worker", "seen_at"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
