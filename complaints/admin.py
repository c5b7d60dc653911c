"""Canned responses. The complaint queue and page, the agents' desk, are in
``ops/desk/complaint.py``."""

from django.contrib import admin

from complaints.models import CannedResponse


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin[CannedResponse]):
    list_display = ["title", "language", "position"]
    list_filter = ["language"]
    list_editable = ["position"]
