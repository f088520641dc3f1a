"""Read-only figures about app installations for the audience pages (see dispatch.push.devices)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, or_, select

from dispatch.extensions import db
from dispatch.models import Device, Locality


def device_summary() -> dict[str, Any]:
    """Devices counted by platform and by locality, active vs disabled."""
    is_off = or_(Device.disabled_at.is_not(None), Device.disabled_reason.is_not(None))
    disabled = func.coalesce(func.sum(case((is_off, 1), else_=0)), 0)
    total = func.count(Device.id)
    by_platform = [
        {"platform": platform, "active": int(count - off), "disabled": int(off)}
        for platform, count, off in db.session.execute(
            select(Device.platform, total, disabled).group_by(Device.platform)
            .order_by(Device.platform))
    ]
    by_locality = [
        {"locality_id": locality_id, "code": code, "name": name,
         "active": int(count - off), "disabled": int(off)}
        for locality_id, code, name, count, off in db.session.execute(
            select(Device.locality_id, Locality.code, Locality.name, total, disabled)
            .outerjoin(Locality, Locality.id == Device.locality_id)
            .group_by(Device.locality_id, Locality.code, Locality.name)
            .order_by(Locality.code))
    ]
    active = sum(p["active"] for p in by_platform)
    off_total = sum(p["disabled"] for p in by_platform)
    return {"total": active + off_total, "active": active, "disabled": off_total,
            "by_platform": by_platform, "by_locality": by_locality}
