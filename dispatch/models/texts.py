"""The exact text each recipient of a personalised campaign was sent.

Written by the expansion in the same transaction as the message's ledger row, only when the
campaign's text has placeholders (a plain campaign's text is its own `sms_text`, the same for
everyone). The SMS sender sends this text; the report and an inquiry read it back.

No foreign key to `messages`: a text is only ever written with its row, and ledger rows are never
deleted (retention pseudonymises them); the key's check locked and dirtied each new ledger row a
second time, three times the cost of the insert itself (migration 5e1d0c2b7a94).
"""

from __future__ import annotations

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.extensions import db
from dispatch.models.common import BigId


class MessageText(db.Model):  # type: ignore[name-defined]
    __tablename__ = "message_texts"

    message_id: Mapped[int] = mapped_column(BigId, primary_key=True)  # messages.id
    text: Mapped[str] = mapped_column(Text)
