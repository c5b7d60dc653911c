"""The portal side: file a complaint without an account, follow it by a private link."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from compensation.selectors import coupons_for_customer_view
from complaints.models import Complaint, ComplaintChannel, MessageKind
from complaints.services import ComplaintError, complaint_customer_message, complaint_file
from core.ratelimit import proof_attempt_refused, proof_failure_record
from portal.forms import CustomerMessageForm, PortalComplaintForm
from portal.selectors import order_for_proof
from portal.views import too_many_attempts

# Guessing tracking numbers or phone digits is slow work at this pace.
FILING_LIMIT_PER_IP = 10
FILING_LIMIT_PER_TRACKING_NUMBER = 5
FILING_WINDOW_SECONDS = 3600


@require_http_methods(["GET", "POST"])
def complaint_new(request: HttpRequest) -> HttpResponse:
    form = PortalComplaintForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        wait = proof_attempt_refused(
            request,
            scope="complaint",
            tracking_number=data["tracking_number"],
            per_ip=FILING_LIMIT_PER_IP,
            per_parcel=FILING_LIMIT_PER_TRACKING_NUMBER,
            window_seconds=FILING_WINDOW_SECONDS,
        )
        if wait:
            return too_many_attempts(request, "complaints/new.html", {"form": form}, wait)
        order = order_for_proof(tracking_number=data["tracking_number"], phone_last4=data["phone_last4"])
        if order is None:
            proof_failure_record(
                request,
                scope="complaint",
                tracking_number=data["tracking_number"],
                window_seconds=FILING_WINDOW_SECONDS,
            )
            form.add_error(
                None,
                _("We could not find a parcel with this tracking number and phone number. Check both and try again."),
            )
        else:
            try:
                complaint = complaint_file(
                    customer=order.customer,
                    order=order,
                    reason=data["reason"],
                    description=data["description"],
                    channel=ComplaintChannel.PORTAL,
                )
            except ComplaintError as error:
                form.add_error(None, str(error))
            else:
                return redirect("complaint-detail", token=complaint.access_token)
    return render(request, "complaints/new.html", {"form": form})


@require_http_methods(["GET", "POST"])
def complaint_detail(request: HttpRequest, token: str) -> HttpResponse:
    complaint = get_object_or_404(Complaint.objects.select_related("order"), access_token=token)
    form = CustomerMessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            complaint_customer_message(complaint_id=complaint.pk, body=form.cleaned_data["body"])
        except ComplaintError as error:
            form.add_error(None, str(error))
        else:
            return redirect("complaint-detail", token=token)
    conversation = complaint.messages.filter(kind__in=[MessageKind.CUSTOMER, MessageKind.REPLY]).order_by(
        "created_at", "id"
    )
    # The private link stands for the phone check: it shows this complaint's
    # coupons and the incident coupon of its parcel.
    coupons = coupons_for_customer_view(
        customer_id=complaint.customer_id, order_id=complaint.order_id, complaint_id=complaint.pk
    )
    context = {"complaint": complaint, "conversation": conversation, "form": form, "coupons": coupons}
    response = render(request, "complaints/detail.html", context)
    # The token is the key to this page: keep it out of referrers and caches.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response
