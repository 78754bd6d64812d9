"""Proving who is at the phone: passkeys (WebAuthn) and browser-held device keys + PIN.

Both sign a server challenge. A challenge lives in the `auth_challenge` table and is
deleted by the first answer that names it, so a replayed answer always fails, whichever
app process receives it.

The device key is for phones that cannot make passkeys (no Google Play services,
HarmonyOS, phone makers' browsers, WeChat's in-app browser): the page makes a
non-extractable ECDSA P-256 key with WebCrypto and keeps it in IndexedDB; the server
keeps the public key and a scrypt hash of a 6-digit PIN. The key proves "this browser",
the PIN proves "its owner", and the PIN is checked here, where failures can be counted
and the device locked.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from server.accounts.models import AuthChallenge, Device
from server.clock import aware, utcnow
from server.i18n import N_

CHALLENGE_MINUTES = 5
PIN_FAILURES_BEFORE_LOCK = 5
LOCK_MINUTES = 15
RP_NAME = "微网"

# scrypt cost: ~50 ms a check on a small server; 16 MiB of memory per check.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class CredentialError(ValueError):
    """The answer does not prove anything: forged, replayed, expired or malformed.

    `reason` goes into the audit log; the person sees one plain sentence.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise CredentialError("bad_base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- challenges -------------------------------------------------------------------------

async def new_challenge(db: AsyncSession, purpose: str, invite_id: int | None = None) -> bytes:
    now = utcnow()
    # Sweep stale rows as we go: the table stays tiny without a cron job.
    await db.execute(sa.delete(AuthChallenge).where(AuthChallenge.expires_at < now).execution_options(synchronize_session=False))
    challenge = secrets.token_bytes(32)
    db.add(AuthChallenge(id=b64url(challenge), purpose=purpose, invite_id=invite_id,
                         created_at=now, expires_at=now + timedelta(minutes=CHALLENGE_MINUTES)))
    return challenge


async def consume_challenge(db: AsyncSession, challenge_b64: str, purpose: str, invite_id: int | None = None) -> bytes:
    """Delete the challenge and return it; a second caller (or another process) finds nothing."""
    if not isinstance(challenge_b64, str) or len(challenge_b64) > 100:
        raise CredentialError("bad_challenge")
    conditions = [AuthChallenge.id == challenge_b64, AuthChallenge.purpose == purpose,
                  AuthChallenge.expires_at > utcnow()]
    if invite_id is not None:
        conditions.append(AuthChallenge.invite_id == invite_id)
    result = await db.execute(sa.delete(AuthChallenge).where(*conditions).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise CredentialError("unknown_or_used_challenge")
    return unb64url(challenge_b64)


# --- passkeys ---------------------------------------------------------------------------

def passkey_registration_options(rp_id: str, user_name: str, display_name: str, challenge: bytes,
                                 exclude: list[str]) -> dict:
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=RP_NAME,
        user_name=user_name,
        user_display_name=display_name,
        user_id=secrets.token_bytes(16),  # we find the person by credential id, not by handle
        challenge=challenge,
        timeout=60000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,  # discoverable: no user name to type
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=unb64url(c)) for c in exclude],
    )
    return json.loads(options_to_json(options))


def passkey_authentication_options(rp_id: str, challenge: bytes) -> dict:
    options = generate_authentication_options(
        rp_id=rp_id, challenge=challenge, timeout=60000,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return json.loads(options_to_json(options))


def client_challenge(credential: dict) -> str:
    """The challenge the browser signed, read from clientDataJSON (verified again by py_webauthn)."""
    try:
        client_data = json.loads(unb64url(credential["response"]["clientDataJSON"]))
        challenge = client_data["challenge"]
    except (KeyError, TypeError, ValueError) as exc:
        raise CredentialError("malformed_credential") from exc
    if not isinstance(challenge, str):
        raise CredentialError("malformed_credential")
    return challenge


def verify_passkey_registration(credential: dict, challenge: bytes, rp_id: str, origin: str) -> tuple[str, bytes, int]:
    """(credential id, COSE public key, sign count) of a new passkey, or CredentialError."""
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin, require_user_verification=True,
        )
    except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
        raise CredentialError(f"registration_rejected: {exc}"[:200]) from exc
    return bytes_to_base64url(verified.credential_id), verified.credential_public_key, verified.sign_count


def verify_passkey_assertion(credential: dict, challenge: bytes, device: Device, rp_id: str, origin: str) -> int:
    """The new sign count, or CredentialError."""
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin, credential_public_key=device.public_key,
            credential_current_sign_count=device.sign_count, require_user_verification=True,
        )
    except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
        raise CredentialError(f"assertion_rejected: {exc}"[:200]) from exc
    return verified.new_sign_count


# --- device keys ------------------------------------------------------------------------

def device_key_message(purpose: str, origin: str, challenge_b64: str) -> bytes:
    """What the browser signs: the challenge, bound to our origin and to the ceremony."""
    return f"weiwang:{purpose}:{origin}:{challenge_b64}".encode()


def device_credential_id(spki: bytes) -> str:
    """Both sides compute it: base64url(sha256(SubjectPublicKeyInfo))."""
    return b64url(hashlib.sha256(spki).digest())


def load_device_public_key(spki: bytes) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_der_public_key(spki)
    except (ValueError, TypeError) as exc:
        raise CredentialError("bad_public_key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CredentialError("not_p256_key")
    return key


def verify_device_signature(spki: bytes, signature: bytes, message: bytes) -> None:
    """WebCrypto signs ECDSA as raw r||s (64 bytes); cryptography wants DER."""
    key = load_device_public_key(spki)
    if len(signature) != 64:
        raise CredentialError("bad_signature_length")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise CredentialError("bad_signature") from exc


# --- PINs -------------------------------------------------------------------------------

def pin_problem(pin: str) -> str | None:
    """Why a new PIN is not acceptable (an English message id), or None."""
    if not isinstance(pin, str) or not re.fullmatch(r"\d{6}", pin):
        return N_("The PIN must be exactly 6 digits.")
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        return N_("This PIN is too easy to guess. Avoid repeated or consecutive digits.")
    return None


def hash_pin(pin: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64url(salt)}${b64url(digest)}"


def check_pin(pin: str, stored: str | None) -> bool:
    if not stored or not isinstance(pin, str) or len(pin) > 32:
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        actual = hashlib.scrypt(pin.encode(), salt=unb64url(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, CredentialError):
        return False
    return hmac.compare_digest(actual, unb64url(digest))


def locked_until(device: Device, now: datetime | None = None) -> datetime | None:
    until = aware(device.locked_until)
    return until if until and until > (now or utcnow()) else None


async def record_pin_failure(db: AsyncSession, device: Device) -> datetime | None:
    """Count a wrong PIN in the database (shared by every process); lock after the fifth.

    Returns the lock's end when this failure locked the device.
    """
    # Increment in SQL, not in Python: two processes failing at once both count.
    await db.execute(sa.update(Device).where(Device.id == device.id).values(pin_failures=Device.pin_failures + 1)
                     .execution_options(synchronize_session=False))
    failures = (await db.execute(sa.select(Device.pin_failures).where(Device.id == device.id))).scalar_one()
    if failures >= PIN_FAILURES_BEFORE_LOCK:
        until = utcnow() + timedelta(minutes=LOCK_MINUTES)
        await db.execute(sa.update(Device).where(Device.id == device.id).values(pin_failures=0, locked_until=until)
                         .execution_options(synchronize_session=False))
        return until
    return None


def pin_failures_left(failures: int) -> int:
    return max(PIN_FAILURES_BEFORE_LOCK - failures, 0)
