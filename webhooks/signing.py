"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

A secret is `whsec_` + base64 of 32 random bytes; the HMAC key is the decoded
bytes. A signature is `v1,` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")).
"""

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, *, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: list[str], *, webhook_id: str, timestamp: int, body: bytes) -> str:
    """Every valid secret's signature, space-separated (two during a rotation)."""
    return " ".join(
        sign(secret, webhook_id=webhook_id, timestamp=timestamp, body=body) for secret in secrets_
    )
