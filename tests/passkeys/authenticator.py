"""A software WebAuthn authenticator (ES256, "none" attestation) and the browser around it.

It does what a platform authenticator and `navigator.credentials` do for a page at `origin`:
answers `create()` with a new key pair and `get()` with a signature over the authenticator
data and the client data, counting signatures.
"""

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftAuthenticator:
    origin: str
    user_verifying: bool = True
    keys: dict[bytes, tuple[ec.EllipticCurvePrivateKey, bytes]] = field(default_factory=dict)
    counter: int = 0

    def _client_data(self, kind: str, options: dict) -> bytes:
        data = {"type": kind, "challenge": options["challenge"], "origin": self.origin,
                "crossOrigin": False}  # fmt: skip
        return json.dumps(data).encode()

    def _flags(self) -> int:
        return UP | (UV if self.user_verifying else 0)

    def create(self, options: dict) -> dict:
        """`navigator.credentials.create({publicKey: options})`, as JSON."""
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})  # fmt: skip
        credential_id = secrets.token_bytes(32)
        self.keys[credential_id] = (key, unb64url(options["user"]["id"]))
        rp_hash = hashlib.sha256(options["rp"]["id"].encode()).digest()
        auth_data = (
            rp_hash + bytes([self._flags() | AT]) + struct.pack(">I", self.counter)
            + bytes(16) + struct.pack(">H", len(credential_id)) + credential_id + cose
        )  # fmt: skip
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options)
        return {
            "id": b64url(credential_id), "rawId": b64url(credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64url(client_data),
                         "attestationObject": b64url(attestation), "transports": ["internal"]},
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        }  # fmt: skip

    def get(self, options: dict, rp_id: str, credential_id: bytes | None = None) -> dict:
        """`navigator.credentials.get({publicKey: options})` with a discoverable credential."""
        credential_id = credential_id or next(iter(self.keys))
        key, user_handle = self.keys[credential_id]
        self.counter += 1
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest() + bytes([self._flags()])
            + struct.pack(">I", self.counter)
        )  # fmt: skip
        client_data = self._client_data("webauthn.get", options)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(credential_id), "rawId": b64url(credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64url(client_data),
                         "authenticatorData": b64url(auth_data),
                         "signature": b64url(signature), "userHandle": b64url(user_handle)},
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        }  # fmt: skip
