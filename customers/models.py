from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.phones import validate_e164


class Language(models.TextChoices):
    CHINESE = "zh-hans", _("Simplified Chinese")
    ENGLISH = "en", _("English")


class Customer(models.Model):
    external_id = models.CharField(
        _("customer id in the order system"),
        max_length=64,
        unique=True,
        help_text=_("The key the order system uses; upserts match on it."),
    )
    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("mobile phone"), max_length=20, validators=[validate_e164], db_index=True)
    # Indexed: a bounce or a complaint looks customers up by address.
    email = models.EmailField(_("email"), blank=True, db_index=True)
    language = models.CharField(
        _("preferred language"), max_length=8, choices=Language.choices, default=Language.CHINESE
    )
    sms_consent = models.BooleanField(_("accepts SMS"), default=True)
    email_consent = models.BooleanField(_("accepts email"), default=True)
    consent_updated_at = models.DateTimeField(_("consent last changed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"
