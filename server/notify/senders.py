"""What each channel does with a notification: the SMS sender (push lives in push.py)."""
from __future__ import annotations


from server.notify.gateway import OPT_OUT_HINT
from server.notify.models import Delivery, Notification, SmsOptOut

# Publicity respects an opt-out; a reply about the resident's own problem does not need one.
PUBLICITY_KINDS = ("broadcast",)
SIGNATURE = "【微网】"


def sms_text(notification: Notification, base_url: str) -> str:
    text = SIGNATURE + notification.body
    if notification.url:
        text += f" {base_url}{notification.url}"
    if notification.kind in PUBLICITY_KINDS:
        text += f" {OPT_OUT_HINT}"
    return text


def make_sms_sender(sessionmaker, gateway, base_url: str):
    async def send(notification: Notification) -> str:
        if notification.kind in PUBLICITY_KINDS:
            async with sessionmaker() as db:
                if await db.get(SmsOptOut, notification.phone) is not None:
                    return Delivery.skipped
        await gateway.send_text(notification.phone, sms_text(notification, base_url), kind=notification.kind)
        return Delivery.sent

    return send
