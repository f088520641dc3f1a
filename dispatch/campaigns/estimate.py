"""A campaign's preview: who it reaches per channel, then the SMS encoding, parts and cost."""

from __future__ import annotations

from typing import Any

from dispatch.campaigns import audience, content, personal
from dispatch.campaigns.preview import sms_preview
from dispatch.models import Campaign


def campaign_preview(c: Campaign, *, frozen: bool = False) -> dict[str, Any]:
    """Recipients per operator (SMS) and active devices (push), and the SMS figures.

    `frozen`: the figures of the audience frozen at submission (what an approval covers, at the
    prices of that moment) rather than of the audience as it is now.
    """
    reach = c.frozen_reach if frozen else None
    defined = audience.normalise(c.audience)
    recipients: dict[str, Any] = {}
    sms = None
    personalised = None
    if content.uses_sms(c.channels):
        prices = None
        if reach and reach.get("sms") is not None:
            rows = reach["sms"]["by_operator"]
            recipients["sms"] = {op: row["recipients"] for op, row in rows.items()}
            prices = {op: row["price_per_part"] for op, row in rows.items()} or None
        else:
            recipients["sms"] = audience.sms_recipients(defined)
        sms = sms_preview(c.sms_text or "", recipients=recipients["sms"], prices=prices)
        personalised = ((reach or {}).get("personal")
                        or personal.sampled(c, audience.sms_reachable(defined)))
    if content.uses_push(c.channels):
        recipients["push"] = (reach["push"]["devices"] if reach and reach.get("push") is not None
                              else audience.push_recipients(defined))
    return {"channels": c.channels, "sms_plain": c.sms_plain, "recipients": recipients,
            "sms": sms, "personal": personalised}
