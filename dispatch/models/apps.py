"""Keys that the province app (and any later client app) authenticates with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.extensions import db
from dispatch.models.common import BigId, UTCDateTime, utcnow

# Every installation of the app shares one key, so the limit is for the whole fleet: ~70,000
# installs each registering at start-up stay far below it, a runaway client loop does not.
DEFAULT_APP_RATE_LIMIT = 6000


class AppKey(db.Model):  # type: ignore[name-defined]
    """A per-app secret, hashed at rest, revocable; not a staff token and grants no staff action."""

    __tablename__ = "app_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Not unique: rotating a key means a second live key of the same name until apps update.
    name: Mapped[str] = mapped_column(String(120))
    # The first characters of the secret, kept in clear so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex
    rate_limit_per_minute: Mapped[int] = mapped_column(default=DEFAULT_APP_RATE_LIMIT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set by an admin: the app's backend checks the number (e.g. by OTP) before it sends it, so
    # the numbers this key tells are verified links; any other key's are only claimed.
    verifies_numbers: Mapped[bool] = mapped_column(default=False, server_default=false())


class InstallationSecret(db.Model):  # type: ignore[name-defined]
    """The secret an installation of the app proves itself with; only its hash is stored.

    A row of its own rather than columns on `devices`: installations registered before secrets
    existed have none, which is how Loa tells them apart (dispatch.push.devices.claim).
    """

    __tablename__ = "installation_secrets"

    device_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    secret_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex, like API tokens
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The first call made with the secret: an installation that never comes back is pruned.
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
