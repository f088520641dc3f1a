"""Where recipients and repliers are, as a report names it: the district of a commune.

`by_locality` is the ledger's funnel per district (the report page, the document, and the
survey results' denominators); `names` and `district` put a locality id under its district's
name, for any figure keyed by a locality (the survey's answers by `replies.locality_id`).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from dispatch.extensions import db
from dispatch.models import Contact, Device, Locality, Message
from dispatch.reports.sql import sent_flag
from dispatch.reports.tally import Tally, price_for

Names = dict[int, tuple[str, int | None]]


def names() -> Names:
    """Every locality's name and parent, by id (a few hundred rows: the province's communes)."""
    return {i: (name, parent) for i, name, parent in db.session.execute(
        select(Locality.id, Locality.name, Locality.parent_id))}


def unknown() -> str:
    return str(_l("Locality not known"))


def ordered(keys: Any) -> list[str]:
    """District names in order, the unknown one last."""
    other = unknown()
    return sorted(keys, key=lambda name: (name == other, name))


def by_locality(ids: list[int], table: dict[str, int]) -> list[dict[str, Any]]:
    """The funnel per locality of the recipient (its district when it lives in a commune).

    The locality is the contact's or device's now: one that moved since is counted where it
    lives today.
    """
    place = func.coalesce(Contact.locality_id, Device.locality_id)
    sent = sent_flag()
    keys = [place, Message.channel, Message.operator, Message.status]
    stmt = (select(*keys, sent, func.count(), func.coalesce(func.sum(Message.parts), 0))
            .select_from(Message)
            .outerjoin(Contact, and_(Message.channel == "sms",
                                     Contact.id == Message.recipient_id))
            .outerjoin(Device, and_(Message.channel == "push", Device.id == Message.recipient_id))
            .where(Message.campaign_id.in_(ids)).group_by(*keys, sent))
    rows: list[Any] = list(db.session.execute(stmt))
    known = names()
    tallies: dict[str, Tally] = {}
    for locality_id, channel, operator, status, sent_, n, parts in rows:
        name = district(locality_id, known)
        tallies.setdefault(name, Tally()).add(channel, status, None, sent_, n, int(parts),
                                              price_for(table, operator))
    return [{"name": name, **tallies[name].as_dict()} for name in ordered(tallies)]


def district(locality_id: int | None, known: Names) -> str:
    seen = 0
    while locality_id is not None and locality_id in known and seen < 5:
        name, parent = known[locality_id]
        if parent is None or parent not in known:
            return name
        locality_id, seen = parent, seen + 1
    return unknown()
