"""The buttons of a desk page, each a small declared action.

A desk page is a model's change page in the admin with forms around it (the incident's
timeline and lifecycle, a complaint's reply box). Each form posts to one
``DeskAction``: the permission it needs, its form, the one service it calls and
where the page scrolls back to. ``DeskMixin`` mounts every action of a model admin
at ``<object_id>/<slug>/`` under the URL name ``<app>_<model>_<name>`` and runs it:

- without the permission: 403, for GET and POST alike;
- a GET: back to the change page (the actions only act on POST);
- a form that does not validate: the change page again, the form still filled in
  and its errors beside the fields (nothing typed is lost);
- the service refuses (``DomainError``, ``PermissionDenied``): the reason as an
  error message, back to the change page;
- ``Done``: its message, back to the change page at the action's anchor;
- ``Shown``: the change page rendered with what the action found (a preview, a
  report of a pasted list), the form still filled in.

``perform`` takes the object, the user and the form's cleaned data, so an action is
tested on its own without a request.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.users import request_user

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Done:
    """The action took effect: say so and go back to the page."""

    message: str
    level: int = messages.SUCCESS


@dataclass(frozen=True)
class Shown:
    """The action found something to show: the page again, with ``context`` added."""

    context: Mapping[str, Any]
    message: str = ""
    level: int = messages.INFO


Outcome = Done | Shown


@dataclass(frozen=True)
class DeskAction(Generic[M]):
    """One button of a desk page.

    ``name`` is the URL name's last part (``incidents_incident_<name>``) and, with
    dashes, the path. ``form`` is bound to the POST (and files); its unbound copy is
    put in the page's context under ``form_key`` with ``auto_id`` so several forms on
    one page keep their labels apart. ``initial`` gives the unbound form its initial
    data from the object.
    """

    name: str
    permissions: tuple[str, ...]
    perform: Callable[[M, User, dict[str, Any]], Outcome]
    form: type[forms.Form] | None = None
    form_key: str = ""
    auto_id: str = "id_%s"
    anchor: str = ""
    initial: Callable[[M], dict[str, Any]] = field(default=lambda obj: {})

    @property
    def slug(self) -> str:
        return self.name.replace("_", "-")

    def unbound_form(self, obj: M) -> forms.Form | None:
        return self.form(auto_id=self.auto_id, initial=self.initial(obj)) if self.form else None


class DeskMixin(admin.ModelAdmin[M]):
    """Mounts ``desk_actions`` and puts their forms and ``desk_context`` on the change page."""

    desk_actions: tuple[DeskAction[M], ...] = ()

    def desk_context(self, request: HttpRequest, obj: M) -> Mapping[str, Any]:
        """What the page shows around the form; a selector's dataclass, flattened."""
        return {}

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        context: dict[str, Any] = {}
        if obj is not None:
            context.update(self.desk_context(request, obj))
            for action in self.desk_actions:
                if action.form_key:
                    context[action.form_key] = action.unbound_form(obj)
        context.update(extra_context or {})
        return super().change_view(request, object_id, form_url, extra_context=context)

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        wrap = self.admin_site.admin_view
        mounted = [
            path(
                f"<int:{opts.model_name}_id>/{action.slug}/",
                wrap(self._action_view(action)),
                name=f"{opts.app_label}_{opts.model_name}_{action.name}",
            )
            for action in self.desk_actions
        ]
        return [*mounted, *super().get_urls()]

    def _action_view(self, action: DeskAction[M]) -> Callable[..., HttpResponse]:
        def view(request: HttpRequest, **kwargs: int) -> HttpResponse:
            (object_id,) = kwargs.values()
            return self.desk_action_run(request, action, object_id)

        return view

    def desk_action_run(self, request: HttpRequest, action: DeskAction[M], object_id: int) -> HttpResponse:
        if not request.user.has_perms(action.permissions):
            raise PermissionDenied
        obj = get_object_or_404(self.model, pk=object_id)
        if request.method != "POST":
            return self._back(obj, action)
        form = action.form(request.POST, request.FILES, auto_id=action.auto_id) if action.form else None
        if form is not None and not form.is_valid():
            messages.error(request, _("Please correct the errors below."))
            return self._page(request, obj, {action.form_key: form})
        try:
            outcome = action.perform(obj, request_user(request), dict(form.cleaned_data) if form else {})
        except (DomainError, PermissionDenied) as error:
            messages.error(request, str(error) or _("You may not do that."))
            return self._back(obj, action)
        if isinstance(outcome, Shown):
            if outcome.message:
                messages.add_message(request, outcome.level, outcome.message)
            return self._page(request, obj, {**outcome.context, **({action.form_key: form} if form else {})})
        messages.add_message(request, outcome.level, outcome.message)
        return self._back(obj, action)

    def _back(self, obj: M, action: DeskAction[M]) -> HttpResponseRedirect:
        opts = self.model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        return HttpResponseRedirect(url + (f"#{action.anchor}" if action.anchor else ""))

    def _page(self, request: HttpRequest, obj: M, context: dict[str, Any]) -> HttpResponse:
        """The change page as a GET would show it, with ``context`` laid over the desk's."""
        reading = copy.copy(request)
        reading.method = "GET"
        reading.POST = QueryDict()
        opts = self.model._meta
        form_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        return self.change_view(reading, str(obj.pk), form_url=form_url, extra_context=context)
