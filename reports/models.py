from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Who may read the dashboard and the post-incident reports.
VIEW_REPORTS_PERMISSION = "reports.view_reports"


class FollowUp(models.Model):
    """An improvement from a post-incident review, with an owner and a due date.

    Beat reminds the owner once a day from a few days before the due date until
    it is done; ``reminded_on`` is the claim that makes that once a day, with
    any number of beat processes.
    """

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("incident")
    )
    title = models.CharField(_("improvement"), max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="follow_ups",
        verbose_name=_("owner"),
        limit_choices_to={"is_staff": True},
    )
    due_on = models.DateField(_("due date"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    reminded_on = models.DateField(_("last reminded"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("follow-up item")
        verbose_name_plural = _("follow-up items")
        ordering = ["done_at", "due_on", "id"]
        permissions = [("view_reports", _("Can read the evaluation dashboard and post-incident reports"))]
        indexes = [
            # The reminder's whole working set: items not done yet, by due date.
            models.Index(fields=["due_on"], condition=models.Q(done_at__isnull=True), name="follow_up_open_due"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None
