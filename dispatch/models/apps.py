"""Keys that the province app (and any later client app) authenticates with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.extensions import db
from dispatch.models.common import UTCDateTime, utcnow

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
