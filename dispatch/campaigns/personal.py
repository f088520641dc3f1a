"""The preview of a personalised SMS: placeholders found, samples, parts per recipient, cost.

Exact figures need every recipient's text, so they are a full pass over the audience: made once,
where the frozen reach is computed at submission (`exact`, called from dispatch.campaigns.frozen),
streamed with `yield_per` so memory does not grow with the audience. A draft's preview (a web
request) reads only a bounded sample (`sampled`) and says its figures are a sample.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, null, select

from dispatch.campaigns import placeholders, settings
from dispatch.campaigns.audience import OPERATOR, by_operator
from dispatch.extensions import db
from dispatch.models import Campaign, Contact
from dispatch.replies.ask import sent_text
from gateways.sms.encoding import analyse, strip_diacritics

SAMPLES = 3
SAMPLE_LIMIT = 1000  # contacts a draft's preview reads
STREAM = 5000


def _columns(template: placeholders.Template) -> tuple[Any, ...]:
    # Attributes are JSON, parsed per row: read only when the text names one of them.
    attributes = (Contact.attributes if placeholders.uses_attributes(template)
                  else null().label("attributes"))
    return (Contact.msisdn, Contact.name, attributes, Contact.locality_id, OPERATOR)


def _template(c: Campaign) -> placeholders.Template | None:
    template = placeholders.parse_or_none(c.sms_text)
    return template if template is not None and template.personal else None


def _figures(c: Campaign, template: placeholders.Template, rows: Any, *,
             complete: bool) -> dict[str, Any]:
    places = placeholders.load_places()
    prices = settings.get("sms_price_per_part") or {}
    samples: list[dict[str, Any]] = []
    longest: dict[str, Any] | None = None
    histogram: dict[int, int] = {}
    per_operator: dict[str, dict[str, int]] = {}
    missing = recipients = 0
    for msisdn, name, attributes, locality_id, operator in rows:
        text = template.render(placeholders.contact_values(name, attributes, places,
                                                           locality_id, template.names))
        if text is None:
            missing += 1
            continue
        text = sent_text(text, c.reply_mode, c.survey)  # the survey's question, if it asks
        if c.sms_plain:
            text = strip_diacritics(text)
        parts = analyse(text).parts
        recipients += 1
        histogram[parts] = histogram.get(parts, 0) + 1
        op = next(iter(by_operator([(operator, 1)])))
        row = per_operator.setdefault(op, {"recipients": 0, "parts": 0, "cost_vnd": 0,
                                           "price_per_part": prices.get(op,
                                                                        prices.get("other", 0))})
        row["recipients"] += 1
        row["parts"] += parts
        row["cost_vnd"] += parts * row["price_per_part"]
        if len(samples) < SAMPLES:
            samples.append({"msisdn": msisdn, "text": text, "parts": parts})
        if longest is None or (parts, len(text)) > (longest["parts"], len(longest["text"])):
            longest = {"msisdn": msisdn, "text": text, "parts": parts}
    return {
        "complete": complete,
        "placeholders": [{"name": s.name, "default": s.default} for s in template.slots],
        "samples": samples,
        "longest": longest,
        "parts_histogram": {str(k): histogram[k] for k in sorted(histogram)},
        "recipients": recipients,
        "missing_value": missing,
        "parts": sum(r["parts"] for r in per_operator.values()),
        "cost_vnd": sum(r["cost_vnd"] for r in per_operator.values()),
        "by_operator": per_operator,
    }


def exact(c: Campaign, members: Select[Any]) -> dict[str, Any] | None:
    """Figures over every contact `members` selects (ids), streamed; None when not personal."""
    template = _template(c)
    if template is None:
        return None
    stmt = (select(*_columns(template)).where(Contact.id.in_(members)).order_by(Contact.id)
            .execution_options(yield_per=STREAM))
    return _figures(c, template, db.session.execute(stmt), complete=True)


def sampled(c: Campaign, reachable: Select[Any] | None) -> dict[str, Any] | None:
    """The same figures over the first SAMPLE_LIMIT contacts the audience reaches now."""
    template = _template(c) if reachable is not None else None
    if template is None or reachable is None:
        return None
    ids = reachable.order_by(None).limit(SAMPLE_LIMIT).subquery()
    stmt = (select(*_columns(template)).where(Contact.id.in_(select(ids.c[0])))
            .order_by(Contact.id))
    return _figures(c, template, db.session.execute(stmt).all(), complete=False)
