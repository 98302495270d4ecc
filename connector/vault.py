"""What the service keeps about secrets. Encrypted, when it must use them again: API keys that
unsubscribe webhooks upstream (Power Automate's DELETE carries none) and the subscriptions' signing
secrets. One-way (:func:`credential_digest`), when it only needs to recognise a credential: rate-limit
counters, idempotency scopes, the owner of a subscription.

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) with ``MultiFernet`` for rotation:
``SECRET_KEY`` is a comma-separated list of keys, the first encrypts and all decrypt. Without it,
the embedded default creates one key in ``DATA_DIR/secret.key`` (mode 0600) and keeps using it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cryptography is imported when a vault is opened, not by the digest users
    from connector.config import Settings

KEY_FILE = "secret.key"


def credential_digest(credential: str, *context: str) -> str:
    """A stable key for ``credential`` (within ``context``: catalog, operation...) that does not reveal it."""
    digest = hashlib.blake2b(digest_size=32)
    for part in (*context, credential):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


class Vault:
    def __init__(self, keys: list[str]) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        if not keys:
            raise ValueError("at least one key is needed")
        try:
            self._fernet = MultiFernet([Fernet(key.strip().encode()) for key in keys])
        except (ValueError, TypeError):
            raise ValueError(
                "CONNECTOR_SECRET_KEY must be Fernet keys (32 url-safe base64 bytes), comma-separated; "
                'make one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            ) from None

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Raises ``cryptography.fernet.InvalidToken`` when no configured key opened it (a
        rotated-out key, say)."""
        return self._fernet.decrypt(token.encode()).decode()


def _key_file(directory: Path) -> str:
    """The embedded default's key: created once, readable by this user only."""
    from cryptography.fernet import Fernet

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / KEY_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    key = Fernet.generate_key()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    return key.decode()


def open_vault(settings: Settings) -> Vault:
    configured = [key for key in str(settings.secret_key or "").split(",") if key.strip()]
    return Vault(configured or [_key_file(Path(settings.data_dir).expanduser())])


__all__ = ["Vault", "credential_digest", "open_vault"]
