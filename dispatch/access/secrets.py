"""Encryption of stored credentials (SMPP passwords) with keys from the environment.

`LOA_SECRETS_KEY` holds one or more Fernet keys, comma-separated: the first encrypts, all decrypt,
so a key is rotated by putting the new one first and running `flask secrets rotate`. In
development, when unset, a key is generated once into `instance/secrets.key`.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from dispatch.config import ConfigError


def _keys() -> list[str]:
    configured = current_app.config.get("SECRETS_KEY")
    if configured:
        return [k.strip() for k in configured.split(",") if k.strip()]
    if current_app.config["LOA_ENV"] != "development":
        raise ConfigError("LOA_SECRETS_KEY must be set when LOA_ENV is not 'development'")
    path = Path(current_app.config["INSTANCE_PATH"]) / "secrets.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(Fernet.generate_key().decode())
    return [path.read_text().strip()]


def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(k) for k in _keys()])
    except ValueError as exc:
        raise ConfigError(f"LOA_SECRETS_KEY is not a valid Fernet key: {exc}") from None


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ConfigError("A stored secret cannot be decrypted with LOA_SECRETS_KEY "
                          "(was the key changed without rotation?)") from None


def rotate(token: str) -> str:
    """Re-encrypt with the first key."""
    return _fernet().rotate(token.encode()).decode()
