"""The preview of a personalised SMS: placeholders found, samples, parts per recipient, cost.

Exact figures need every recipient's text, so they are a full pass over the audience: made once,
where the frozen reach is computed at submission (`exact_by`, called from dispatch.campaigns.frozen,
which counts the sets a channel strategy prices in the same pass),
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


class _Tally:
    """Figures of the rendered texts of one set of recipients."""

    def __init__(self, prices: dict[str, int]) -> None:
        self.prices = prices
        self.samples: list[dict[str, Any]] = []
        self.longest: dict[str, Any] | None = None
        self.histogram: dict[int, int] = {}
        self.encodings: dict[str, int] = {}
        self.per_operator: dict[str, dict[str, int]] = {}
        self.missing = self.recipients = 0

    def add(self, msisdn: str, text: str, encoding: str, parts: int, op: str) -> None:
        self.recipients += 1
        self.histogram[parts] = self.histogram.get(parts, 0) + 1
        self.encodings[encoding] = self.encodings.get(encoding, 0) + 1
        price = self.prices.get(op, self.prices.get("other", 0))
        row = self.per_operator.setdefault(op, {"recipients": 0, "parts": 0, "cost_vnd": 0,
                                                "price_per_part": price})
        row["recipients"] += 1
        row["parts"] += parts
        row["cost_vnd"] += parts * row["price_per_part"]
        if len(self.samples) < SAMPLES:
            self.samples.append({"msisdn": msisdn, "text": text, "parts": parts})
        longest = self.longest
        if longest is None or (parts, len(text)) > (longest["parts"], len(longest["text"])):
            self.longest = {"msisdn": msisdn, "text": text, "parts": parts}

    def result(self, template: placeholders.Template, complete: bool) -> dict[str, Any]:
        return {
            "complete": complete,
            "placeholders": [{"name": s.name, "default": s.default} for s in template.slots],
            "samples": self.samples,
            "longest": self.longest,
            "parts_histogram": {str(k): self.histogram[k] for k in sorted(self.histogram)},
            # recipients per encoding: a value with diacritics forces UCS-2
            "encodings": self.encodings,
            "recipients": self.recipients,
            "missing_value": self.missing,
            "parts": sum(r["parts"] for r in self.per_operator.values()),
            "cost_vnd": sum(r["cost_vnd"] for r in self.per_operator.values()),
            "by_operator": self.per_operator,
        }


def _figures_by(c: Campaign, template: placeholders.Template, rows: Any,
                into: dict[Any, tuple[str, ...]], *, complete: bool) -> dict[str, dict[str, Any]]:
    """Figures per set: each row is (group, msisdn, name, attributes, locality, operator), and
    `into[group]` names the sets its text counts in; every text is rendered once."""
    places = placeholders.load_places()
    prices = settings.get("sms_price_per_part") or {}
    tallies = {name: _Tally(prices) for names in into.values() for name in names}
    for group, msisdn, name, attributes, locality_id, operator in rows:
        mine = [tallies[n] for n in into[group]]
        text = template.render(placeholders.contact_values(name, attributes, places,
                                                           locality_id, template.names))
        if text is None:
            for tally in mine:
                tally.missing += 1
            continue
        text = sent_text(text, c.reply_mode, c.survey)  # the survey's question, if it asks
        if c.sms_plain:
            text = strip_diacritics(text)
        analysed = analyse(text)
        op = next(iter(by_operator([(operator, 1)])))
        for tally in mine:
            tally.add(msisdn, text, analysed.encoding, analysed.parts, op)
    return {name: tally.result(template, complete) for name, tally in tallies.items()}


def _figures(c: Campaign, template: placeholders.Template, rows: Any, *,
             complete: bool) -> dict[str, Any]:
    return _figures_by(c, template, ((None, *row) for row in rows), {None: ("all",)},
                       complete=complete)["all"]


def exact_by(c: Campaign, members: Select[Any, Any],
             into: dict[Any, tuple[str, ...]]) -> dict[str, dict[str, Any]] | None:
    """Figures per set over the contacts `members` selects as (id, group) rows, in one pass."""
    template = _template(c)
    if template is None:
        return None
    grouped = members.subquery()
    stmt = (select(grouped.c[1], *_columns(template)).join(grouped, grouped.c[0] == Contact.id)
            .order_by(Contact.id).execution_options(yield_per=STREAM))
    return _figures_by(c, template, db.session.execute(stmt), into, complete=True)


def sampled(c: Campaign, reachable: Select[Any] | None) -> dict[str, Any] | None:
    """The same figures over the first SAMPLE_LIMIT contacts the audience reaches now."""
    template = _template(c) if reachable is not None else None
    if template is None or reachable is None:
        return None
    ids = reachable.order_by(None).limit(SAMPLE_LIMIT).subquery()
    stmt = (select(*_columns(template)).where(Contact.id.in_(select(ids.c[0])))
            .order_by(Contact.id))
    return _figures(c, template, db.session.execute(stmt).all(), complete=False)
