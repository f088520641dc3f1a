"""What a kill leaves claimed: the rows `sending` right after it that the dead process held.

    left = Left()
    stack.kill("smpp")
    n = left.after_kill(stack, cid)                 # new `sending` rows since the last kill
    n = left.after_kill(stack, cid, among=job_ids)  # only these rows (a killed job's batch)

Rows a kill leaves `sending` stay so until the clock's claim timeout turns them `unknown`, so a
later kill sees them again: each is counted at the first kill only. `left.counts` is one count
per kill, `left.total` their sum: every `unknown` row of a drill must be among them.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from scripts.drills.stack import Stack


def sending_ids(stack: Stack, cid: int) -> set[int]:
    from dispatch.extensions import db
    from dispatch.models import Message, MessageStatus

    assert stack.app is not None
    with stack.app.app_context():
        ids = set(db.session.scalars(sa.select(Message.id).where(
            Message.campaign_id == cid, Message.status == MessageStatus.SENDING)))
        db.session.remove()
        return ids


class Left:
    """Rows left claimed by each kill (see the module docstring)."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.counts: list[int] = []

    def after_kill(self, stack: Stack, cid: int, among: Iterable[int] | None = None) -> int:
        ids = sending_ids(stack, cid)
        if among is not None:
            ids &= set(among)
        new = ids - self.seen
        self.seen |= ids
        self.counts.append(len(new))
        return len(new)

    @property
    def total(self) -> int:
        return sum(self.counts)
