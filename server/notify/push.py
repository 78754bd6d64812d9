"""Web Push: VAPID keys, subscriptions, and the push sender of the outbox.

The VAPID key pair is made on first start and kept in the var dir (`vapid_private.pem`),
like the secret key: every app process of an installation signs with the same key, so a
phone subscribed through one process is reached from any. pywebpush encrypts each
payload for the subscription (aes128gcm, RFC 8291) and signs the VAPID header; the
push service only ever sees ciphertext.
"""
from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.notify.gateway import DeliveryError
from server.notify.models import Delivery, Notification, NotifySetting, PushSubscription

KEY_FILE = "vapid_private.pem"
# What a person can turn off on 我的 (each is on until they do).
KINDS = ("assigned", "reported", "reopened", "deadline", "approval", "patrol", "import")
# Which kinds reach a role (notify/rules.py): 我的 offers only these, so a leader is not asked
# about approvals she never gets.
KINDS_OF_ROLE = {
    "leader": ("reported", "reopened", "deadline"),
    "property": ("assigned", "deadline"),
    "compound": ("patrol",),
    "community": ("approval", "import"),
    "admin": ("approval", "import"),
}


def kinds_for(roles) -> list[str]:
    offered = {k for role in roles for k in KINDS_OF_ROLE.get(role, ())}
    return [k for k in KINDS if k in offered]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@lru_cache(maxsize=4)
def vapid_key_file(var_dir: Path) -> Path:
    """The key's file, made (owner-only) on first use."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = Path(var_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        path.write_bytes(pem)
        path.chmod(0o600)
    return path


def public_key(var_dir: Path) -> str:
    """The applicationServerKey a browser subscribes with: the uncompressed point, base64url."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(vapid_key_file(var_dir).read_bytes(), password=None)
    return _b64url(key.public_key().public_bytes(serialization.Encoding.X962,
                                                 serialization.PublicFormat.UncompressedPoint))


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


async def subscribe(db: AsyncSession, person_id: int, data: dict) -> PushSubscription | None:
    """Store a browser's subscription (PushSubscription.toJSON()); None when it is not one."""
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    keys = data.get("keys") if isinstance(data, dict) else None
    # Push services are https; anything else (a local address above all) is never called.
    if not isinstance(endpoint, str) or not endpoint.startswith("https://") or len(endpoint) > 1000 or not isinstance(keys, dict):
        return None
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not (isinstance(p256dh, str) and isinstance(auth, str) and 40 <= len(p256dh) <= 200 and 8 <= len(auth) <= 100):
        return None
    row = (await db.execute(sa.select(PushSubscription).where(
        PushSubscription.endpoint_hash == endpoint_hash(endpoint)))).scalar_one_or_none()
    if row is None:
        row = PushSubscription(person_id=person_id, endpoint_hash=endpoint_hash(endpoint), endpoint=endpoint,
                               p256dh=p256dh, auth=auth)
        db.add(row)
    else:  # the same browser, signed in as someone else now: it is theirs
        row.person_id, row.p256dh, row.auth = person_id, p256dh, auth
    return row


async def muted_kinds(db: AsyncSession, person_id: int) -> list[str]:
    setting = await db.get(NotifySetting, person_id)
    return list(setting.muted) if setting else []


def make_push_sender(sessionmaker, settings, *, session=None):
    """The outbox's push channel: every phone the person subscribed, unless they muted the kind."""
    from pywebpush import WebPushException, webpush_async

    key_file = str(vapid_key_file(settings.var_dir))
    claims_sub = "mailto:admin@" + (settings.rp_id or "localhost")

    async def send(notification: Notification) -> str:
        async with sessionmaker() as db:
            if notification.kind in await muted_kinds(db, notification.person_id):
                return Delivery.skipped
            subscriptions = list((await db.execute(sa.select(PushSubscription).where(
                PushSubscription.person_id == notification.person_id))).scalars())
        if not subscriptions:
            return Delivery.skipped
        payload = json.dumps({"title": notification.title, "body": notification.body, "url": notification.url,
                              "tag": str(notification.id)}, ensure_ascii=False)
        reached, gone, error = 0, [], ""
        for sub in subscriptions:
            try:
                await webpush_async({"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}},
                                    data=payload, vapid_private_key=key_file, vapid_claims={"sub": claims_sub},
                                    ttl=24 * 3600, timeout=10, aiohttp_session=session)
                reached += 1
            except WebPushException as exc:
                status = getattr(exc.response, "status", None)
                if status in (404, 410):  # the browser unsubscribed: forget it
                    gone.append(sub.id)
                else:
                    error = f"push service answered {status}"
            except Exception as exc:  # unreachable, timeout
                error = f"push service unreachable: {type(exc).__name__}"
        if gone:
            async with sessionmaker() as db:
                await db.execute(sa.delete(PushSubscription).where(PushSubscription.id.in_(gone)))
                await db.commit()
        if reached:
            return Delivery.sent
        if error:
            raise DeliveryError(error, retry=True)
        return Delivery.skipped

    return send
