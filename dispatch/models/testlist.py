"""The test list: staff numbers and app installations a draft can be sent to before approval."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.extensions import db
from dispatch.models.common import UTCDateTime, utcnow


class TestMember(db.Model):  # type: ignore[name-defined]
    """One member of the test list: a name and a number, an installation, or both.

    The installation is kept by its id, not the device row: the app may re-register, and the
    device it names is looked up at each test send.
    """

    __tablename__ = "test_members"
    __test__ = False  # not a pytest test class, whatever its name

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    msisdn: Mapped[str | None] = mapped_column(String(16), unique=True)  # E.164
    operator: Mapped[str | None] = mapped_column(String(16))
    installation_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
