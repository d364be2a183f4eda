"""Secrets kept sealed at rest (Fernet: AES-128-CBC with HMAC-SHA256), e.g. robot webhook keys.

The key is derived (HKDF-SHA256) from `SECRETS_KEY`, or from `SECRET_KEY` when that is unset, so a
copy of the database alone opens nothing. Changing the key leaves stored secrets unreadable:
`unseal` answers None and the owner pastes them again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# Domain separation: the same SECRET_KEY also signs sessions; this derivation is for sealing only.
INFO = b"linghang sealed secrets v1"


def _fernet() -> Fernet:
    material = current_app.config.get("SECRETS_KEY") or current_app.config["SECRET_KEY"]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(str(material).encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(text: str) -> bytes:
    """Encrypt a secret for storage."""
    return _fernet().encrypt(text.encode())


def unseal(token: bytes | None) -> str | None:
    """The secret in clear, or None when there is none or the key has changed since it was sealed."""
    if not token:
        return None
    try:
        return _fernet().decrypt(bytes(token)).decode()
    except (InvalidToken, ValueError):
        return None

