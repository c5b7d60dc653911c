"""The estimate messages lead with the new expected recovery and the update's text.

Only templates still as first shipped are changed; wording staff edited is theirs.
"""

from django.db import migrations

FIRST_SHIPPED = {
    ("sms", "zh-hans"): "【快递服务】您的包裹{tracking_number}新的预计送达时间:{new_estimate}。原因:{incident_title}。详情:{link} 回复TD退订",
    ("sms", "en"): "Parcel service: new estimate for {tracking_number}: {new_estimate} ({incident_title}). {link} Reply STOP to opt out",
    ("email", "zh-hans"): "{customer_name},您好:\n\n因“{incident_title}”,您的包裹{tracking_number}新的预计送达时间为{new_estimate}。\n\n{update_text}\n\n查看详情:{link}",
    ("email", "en"): 'Dear {customer_name},\n\nBecause of "{incident_title}", your parcel {tracking_number} is now expected {new_estimate}.\n\n{update_text}\n\nDetails: {link}',
}


def forwards(apps, schema_editor):
    from notifications.default_templates import DEFAULT_TEMPLATES

    template_model = apps.get_model("notifications", "NotificationTemplate")
    for (channel, language), old_body in FIRST_SHIPPED.items():
        _subject, body = DEFAULT_TEMPLATES[("incident_estimate", channel, language)]
        template_model.objects.filter(
            event_type="incident_estimate", channel=channel, language=language, body=old_body
        ).update(body=body)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0009_inboundmessage_pendingreceipt_and_more")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
