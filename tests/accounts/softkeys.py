"""Software stand-ins for a phone: a WebAuthn authenticator and a WebCrypto device key.

They produce exactly the bytes a browser sends (CBOR attestation objects, authenticator
data, clientDataJSON, raw r||s ECDSA signatures), so the server's real verification code
runs against them: py_webauthn for passkeys, `cryptography` for device keys.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from webauthn.helpers.encode_cbor import encode_cbor

from server.accounts.credentials import b64url, unb64url

FLAG_UP, FLAG_UV, FLAG_AT = 0x01, 0x04, 0x40


class SoftAuthenticator:
    """One platform authenticator holding one discoverable credential."""

    def __init__(self, origin: str = "http://localhost:8000", rp_id: str = "localhost", user_verified: bool = True):
        self.origin = origin
        self.rp_id = rp_id
        self.user_verified = user_verified
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(32)
        self.sign_count = 0

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return encode_cbor({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _flags(self, extra: int = 0) -> int:
        return FLAG_UP | (FLAG_UV if self.user_verified else 0) | extra

    def _client_data(self, kind: str, challenge: str, origin: str | None = None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def register(self, options: dict, *, origin: str | None = None) -> dict:
        """What navigator.credentials.create() gives back, as credential.toJSON()."""
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        rp_hash = hashlib.sha256(options["rp"]["id"].encode()).digest()
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_key()
        auth_data = rp_hash + bytes([self._flags(FLAG_AT)]) + struct.pack(">I", self.sign_count) + attested
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation),
                         "transports": ["internal"]},
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        }

    def assert_(self, options: dict, *, origin: str | None = None, challenge: str | None = None) -> dict:
        """What navigator.credentials.get() gives back, as credential.toJSON()."""
        self.sign_count += 1
        client_data = self._client_data("webauthn.get", challenge or options["challenge"], origin)
        rp_hash = hashlib.sha256(options.get("rpId", self.rp_id).encode()).digest()
        auth_data = rp_hash + bytes([self._flags()]) + struct.pack(">I", self.sign_count)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                         "signature": b64url(signature), "userHandle": b64url(b"user")},
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        }


class SoftDeviceKey:
    """What static/js/accounts.js keeps in IndexedDB: a P-256 key pair signing raw r||s."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.spki = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
        self.credential_id = b64url(hashlib.sha256(self.spki).digest())

    def sign(self, text: str) -> str:
        r, s = decode_dss_signature(self.key.sign(text.encode(), ec.ECDSA(hashes.SHA256())))
        return b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


__all__ = ["SoftAuthenticator", "SoftDeviceKey", "b64url", "unb64url"]
