import logging

from django.core.mail import EmailMessage, get_connection


def test_without_smtp_email_goes_to_the_log_not_nowhere(caplog):
    caplog.set_level(logging.INFO, logger="notifications.email")
    connection = get_connection("notifications.backends.LoggingEmailBackend")

    sent = connection.send_messages([EmailMessage("包裹延误通知", "body", to=["wang@example.com"])])

    assert sent == 1
    record = caplog.records[-1]
    assert record.recipients == "wang@example.com"
    assert record.subject == "包裹延误通知"
