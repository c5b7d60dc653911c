"""The wording each event starts with; staff edit their copies in the admin.

Chinese follows the carriers' emergency plans: tell customers quickly, the
cause, the expected recovery time, and keep them updated (seed 000 §5).
"""

from __future__ import annotations

SMS, EMAIL = "sms", "email"
ZH, EN = "zh-hans", "en"

DEFAULT_TEMPLATES: dict[tuple[str, str, str], tuple[str, str]] = {
    ("incident_declared", SMS, ZH): (
        "",
        "【快递服务】因“{incident_title}”,您的包裹{tracking_number}可能延误,预计送达时间{new_estimate}。详情:{link} 回复TD退订",
    ),
    ("incident_declared", SMS, EN): (
        "",
        'Parcel service: {tracking_number} may be late because of "{incident_title}". New estimate: {new_estimate}. {link} Reply STOP to opt out',
    ),
    ("incident_declared", EMAIL, ZH): (
        "您的包裹可能延误:{incident_title}",
        "{customer_name},您好:\n\n因“{incident_title}”,您的包裹{tracking_number}可能延误。\n\n{update_text}\n\n新的预计送达时间:{new_estimate}\n预计恢复时间:{estimated_recovery}\n\n我们会持续通报最新进展。查看详情:{link}",
    ),
    ("incident_declared", EMAIL, EN): (
        "Your parcel may be late: {incident_title}",
        'Dear {customer_name},\n\nBecause of "{incident_title}", your parcel {tracking_number} may be late.\n\n{update_text}\n\nNew delivery estimate: {new_estimate}\nExpected recovery: {estimated_recovery}\n\nWe will keep you posted. Details: {link}',
    ),
    ("incident_update", SMS, ZH): ("", "【快递服务】“{incident_title}”最新进展:{update_text} 详情:{link} 回复TD退订"),
    ("incident_update", SMS, EN): (
        "",
        'Parcel service: "{incident_title}" update: {update_text} {link} Reply STOP to opt out',
    ),
    ("incident_update", EMAIL, ZH): (
        "最新进展:{incident_title}",
        "{customer_name},您好:\n\n关于“{incident_title}”的最新进展:\n\n{update_text}\n\n您的包裹:{tracking_number}\n新的预计送达时间:{new_estimate}\n\n查看详情:{link}",
    ),
    ("incident_update", EMAIL, EN): (
        "Update: {incident_title}",
        'Dear {customer_name},\n\nAn update on "{incident_title}":\n\n{update_text}\n\nYour parcel: {tracking_number}\nNew delivery estimate: {new_estimate}\n\nDetails: {link}',
    ),
    # What changed leads: the incident's new expected recovery and the update itself
    # (the parcel's own estimate may not have moved).
    ("incident_estimate", SMS, ZH): (
        "",
        "【快递服务】“{incident_title}”预计恢复时间更新为{estimated_recovery}。{update_text} 您的包裹{tracking_number}预计{new_estimate}送达。详情:{link} 回复TD退订",
    ),
    ("incident_estimate", SMS, EN): (
        "",
        'Parcel service: "{incident_title}" is now expected to recover {estimated_recovery}. {update_text} {tracking_number}: expected {new_estimate}. {link} Reply STOP to opt out',
    ),
    ("incident_estimate", EMAIL, ZH): (
        "新的预计送达时间:{tracking_number}",
        "{customer_name},您好:\n\n因“{incident_title}”,您的包裹{tracking_number}新的预计送达时间为{new_estimate}。\n预计恢复时间:{estimated_recovery}\n\n{update_text}\n\n查看详情:{link}",
    ),
    ("incident_estimate", EMAIL, EN): (
        "New delivery estimate for {tracking_number}",
        'Dear {customer_name},\n\nBecause of "{incident_title}", your parcel {tracking_number} is now expected {new_estimate}.\nExpected recovery: {estimated_recovery}\n\n{update_text}\n\nDetails: {link}',
    ),
    ("incident_resolved", SMS, ZH): (
        "",
        "【快递服务】“{incident_title}”已恢复,您的包裹{tracking_number}将尽快派送,预计{new_estimate}送达。给您带来不便,敬请谅解。回复TD退订",
    ),
    ("incident_resolved", SMS, EN): (
        "",
        'Parcel service: "{incident_title}" is resolved. {tracking_number} is on its way, expected {new_estimate}. Sorry for the delay. Reply STOP to opt out',
    ),
    ("incident_resolved", EMAIL, ZH): (
        "已恢复:{incident_title}",
        "{customer_name},您好:\n\n“{incident_title}”已恢复正常。您的包裹{tracking_number}将尽快派送,预计{new_estimate}送达。\n\n{update_text}\n\n给您带来的不便,我们深表歉意。",
    ),
    ("incident_resolved", EMAIL, EN): (
        "Resolved: {incident_title}",
        'Dear {customer_name},\n\n"{incident_title}" is resolved. Your parcel {tracking_number} is on its way and expected {new_estimate}.\n\n{update_text}\n\nWe are sorry for the delay.',
    ),
    ("complaint_received", SMS, ZH): (
        "",
        "【快递服务】您的投诉{complaint_reference}已收到,我们将在24小时内回复。查看进度:{link} 回复TD退订",
    ),
    ("complaint_received", SMS, EN): (
        "",
        "Parcel service: complaint {complaint_reference} received; we reply within 24 hours. Follow it: {link} Reply STOP to opt out",
    ),
    ("complaint_received", EMAIL, ZH): (
        "投诉已收到:{complaint_reference}",
        "{customer_name},您好:\n\n您的投诉{complaint_reference}已收到,我们将在24小时内回复。\n\n查看进度或补充说明:{link}",
    ),
    ("complaint_received", EMAIL, EN): (
        "Complaint received: {complaint_reference}",
        "Dear {customer_name},\n\nWe have received your complaint {complaint_reference} and will reply within 24 hours.\n\nFollow it or add details: {link}",
    ),
    ("complaint_reply", SMS, ZH): ("", "【快递服务】关于投诉{complaint_reference}:{reply_text} 详情:{link} 回复TD退订"),
    ("complaint_reply", SMS, EN): (
        "",
        "Parcel service, complaint {complaint_reference}: {reply_text} {link} Reply STOP to opt out",
    ),
    ("complaint_reply", EMAIL, ZH): (
        "投诉回复:{complaint_reference}",
        "{customer_name},您好:\n\n{reply_text}\n\n如需补充,请访问:{link}",
    ),
    ("complaint_reply", EMAIL, EN): (
        "Reply to your complaint {complaint_reference}",
        "Dear {customer_name},\n\n{reply_text}\n\nTo answer, visit: {link}",
    ),
    ("compensation_issued", SMS, ZH): (
        "",
        "【快递服务】给您带来不便深表歉意,特赠{coupon_value}元优惠券,券码{coupon_code},{coupon_valid_until}前有效。回复TD退订",
    ),
    ("compensation_issued", SMS, EN): (
        "",
        "Parcel service: sorry for the trouble. A CNY {coupon_value} coupon for you: {coupon_code}, valid until {coupon_valid_until}. Reply STOP to opt out",
    ),
    ("compensation_issued", EMAIL, ZH): (
        "{coupon_value}元优惠券:给您的补偿",
        "{customer_name},您好:\n\n给您带来的不便,我们深表歉意。特赠您{coupon_value}元优惠券:\n\n券码:{coupon_code}\n有效期至:{coupon_valid_until}",
    ),
    ("compensation_issued", EMAIL, EN): (
        "A CNY {coupon_value} coupon to make up for the delay",
        "Dear {customer_name},\n\nWe are sorry for the trouble. Here is a CNY {coupon_value} coupon:\n\nCode: {coupon_code}\nValid until: {coupon_valid_until}",
    ),
    ("status_confirm", SMS, ZH): ("", "【快递服务】您的服务状态通知验证码:{code},10分钟内有效。如非本人操作请忽略。"),
    ("status_confirm", SMS, EN): ("", "Parcel service: your status notice code is {code}. It expires in 10 minutes."),
    ("status_confirm", EMAIL, ZH): (
        "请确认订阅服务状态通知",
        "您好:\n\n有人用此邮箱订阅了快递服务状态通知。如是您本人,请点击以下链接确认:\n\n{link}\n\n如非本人操作,请忽略本邮件,我们不会再发送。",
    ),
    ("status_confirm", EMAIL, EN): (
        "Please confirm your status notices",
        "Hello,\n\nSomeone signed this address up for parcel service status notices. If it was you, confirm here:\n\n{link}\n\nIf not, ignore this email and you will hear nothing more.",
    ),
    ("status_notice", SMS, ZH): ("", "【快递服务】{incident_title}({status}):{update_text} 详情:{link} 回复TD退订"),
    ("status_notice", SMS, EN): (
        "",
        "Parcel service: {incident_title} ({status}): {update_text} {link} Reply STOP to opt out",
    ),
    ("status_notice", EMAIL, ZH): (
        "[{status}] {incident_title}",
        "{incident_title}\n状态:{status}\n\n{update_text}\n\n查看详情:{link}",
    ),
    ("status_notice", EMAIL, EN): (
        "[{status}] {incident_title}",
        "{incident_title}\nStatus: {status}\n\n{update_text}\n\nDetails: {link}",
    ),
}
