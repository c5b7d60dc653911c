"""Email backend used when no SMTP server is configured.

Messages are written to the log (one event each, recipients and subject; the
body only at DEBUG level because it may contain personal data) so that an
unconfigured deployment never drops email silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger("notifications.email")


class LoggingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            logger.info(
                "email not sent: no SMTP server configured",
                extra={"recipients": ",".join(message.recipients()), "subject": message.subject},
            )
            logger.debug("email body", extra={"body": message.body})
        return len(email_messages)
