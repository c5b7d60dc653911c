"""The lookup result page: the portal's layout around what the lookup found, written out.

A crowd of worried customers runs the lookup in an outage, and rendering the result
through the template engine cost a third of each lookup's CPU (1.16 of 3.5 million
instructions) for a page whose shape is fixed: a heading, the parcel's incidents, its
coupons, what happens next. So the layout (``templates/portal/track_result.html``, the
portal's ``base.html``) is rendered by the template engine once per process for each
language and URL (``page_frame``), and the part that is the parcel's is written here.

Every value is escaped as the template engine escapes it (``html.escape`` is what
Django's ``escape`` runs), and so is every label, as ``{% translate %}`` does. The
sentences come from ``portal/lookup_result.py``; the labels are looked up once per
language and kept with the frame, since translations do not change while a process runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import localize
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from compensation.models import Coupon
from portal.lookup_result import DelayLine, LookupResult
from portal.templatetags.portal_layout import kept_per_process, page_frame


@dataclass(frozen=True)
class _Labels:
    """The page's fixed words in one language, escaped."""

    your_parcel: str
    promised: str
    now_expected: str
    no_incident: str
    your_coupon: str
    valid_until: str  # "valid until %(until)s": translated, not escaped, as {% blocktranslate %} leaves it
    what_happens_next: str
    not_satisfied: str
    file_a_complaint: str
    another_parcel: str
    complaint_url: str
    track_url: str


def _labels() -> _Labels:
    return kept_per_process(("lookup result labels", get_language()), _labels_now)


def _labels_now() -> _Labels:
    return _Labels(
        your_parcel=escape(_("Your parcel")),
        promised=escape(_("Promised")),
        now_expected=escape(_("Now expected")),
        no_incident=escape(_("No incident affects this parcel.")),
        your_coupon=escape(_("Your coupon")),
        valid_until=_("valid until %(until)s"),
        what_happens_next=escape(_("What happens next")),
        not_satisfied=escape(
            _("Not satisfied? File a complaint and a customer-service agent replies within 24 hours.")
        ),
        file_a_complaint=escape(_("File a complaint")),
        another_parcel=escape(_("Look up another parcel")),
        complaint_url=escape(reverse("complaint-new")),
        track_url=escape(reverse("track")),
    )


def lookup_result_page(request: HttpRequest, result: LookupResult) -> str:
    """The whole page for ``result``, in the language in force."""
    labels = _labels()
    before_title, before_content, after_content = page_frame(request, "portal/track_result.html", ("title", "content"))
    title = f"{labels.your_parcel} {escape(result.tracking_number)}"
    return before_title + title + before_content + _result_section(result, labels) + after_content


def _result_section(result: LookupResult, labels: _Labels) -> str:
    delays = "".join(_delay(delay, labels) for delay in result.delays) or (
        f"<p>{labels.no_incident} {labels.promised} {escape(result.promised)}.</p>\n"
    )
    messages = f'<p class="meta">{escape(result.messages_sent)}</p>\n' if result.messages_sent else ""
    coupons = "".join(_coupon(coupon, labels) for coupon in result.coupons)
    steps = "".join(f"<li>{escape(step)}</li>" for step in result.next_steps)
    # The result stands alone (no form): it is the page a customer prints or keeps open.
    return (
        '<section class="card parcel-result" aria-labelledby="parcel-heading">\n'
        f'<h1 id="parcel-heading">{labels.your_parcel} <span class="reference">{escape(result.tracking_number)}</span></h1>\n'
        f'<p class="meta">{escape(result.recipient)} · {escape(result.route)} · '
        f'<span class="pill">{escape(result.status)}</span></p>\n'
        f"{delays}{messages}{coupons}"
        f"<h2>{labels.what_happens_next}</h2>\n"
        '<ul class="next-steps">\n'
        f"{steps}\n"
        f'<li>{labels.not_satisfied} <a href="{labels.complaint_url}">{labels.file_a_complaint}</a></li>\n'
        "</ul>\n"
        f'<p class="screen-only"><a href="{labels.track_url}">{labels.another_parcel}</a></p>\n'
        "</section>"
    )


def _delay(delay: DelayLine, labels: _Labels) -> str:
    expected = (
        f"<dt>{labels.now_expected}</dt><dd><strong>{escape(delay.now_expected)}</strong></dd>\n"
        if delay.now_expected
        else ""
    )
    return (
        '<div class="update">\n'
        f'<h2>{escape(delay.heading)}: <a href="{escape(delay.incident_url)}">{escape(delay.title)}</a></h2>\n'
        '<dl class="dates">\n'
        f"<dt>{labels.promised}</dt><dd>{escape(delay.promised)}</dd>\n"
        f"{expected}"
        "</dl>\n"
        "</div>\n"
    )


def _coupon(coupon: Coupon, labels: _Labels) -> str:
    until = labels.valid_until % {"until": escape(timezone.localtime(coupon.valid_until).strftime("%Y-%m-%d"))}
    return (
        f'<p>{labels.your_coupon}: <span class="reference">{escape(coupon.code)}</span> · '
        f"¥{escape(localize(coupon.value))} · {until} · {escape(coupon.get_status_display())}</p>\n"
    )
