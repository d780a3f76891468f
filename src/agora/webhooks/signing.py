"""Signing secrets: made, kept sealed at rest, and used to sign as Standard Webhooks says.

A secret is `whsec_` and 32 random bytes in base64, shown to the admin once. Agora must keep it
to sign with (a hash would not do), so the database holds it sealed (Fernet: AES-128-CBC and an
HMAC) under a key derived from the instance secret (`AGORA_SECRET_KEY`): a copy of the database
alone does not let anyone forge Agora's webhooks.

Signatures come from the `standardwebhooks` reference library, the same code receivers verify
with: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, one per secret,
space-separated (during a rotation the old secret signs too).
"""

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from standardwebhooks import Webhook

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class SecretBox:
    """Seals secrets for storage and opens them to sign."""

    def __init__(self, instance_secret: bytes) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"agora webhook secrets"
        ).derive(instance_secret)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        return self._fernet.decrypt(sealed.encode()).decode()


def signature_header(
    secrets_: Sequence[str], message_id: str, timestamp: datetime, body: bytes
) -> str:
    """The `webhook-signature` value: a `v1,...` signature by each secret."""
    text = body.decode()
    return " ".join(Webhook(secret).sign(message_id, timestamp, text) for secret in secrets_)
