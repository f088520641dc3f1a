"""A personalised campaign under a channel strategy: the approver's figures price each
recipient's own text in every row — SMS for everyone, SMS sent at once, the fallback at worst —
so the saving is what the rendered texts cost, not what the template would."""

from __future__ import annotations

import pytest

from dispatch.campaigns import frozen, placeholders, strategy
from dispatch.extensions import db
from dispatch.models import CampaignMember
from gateways.sms.encoding import analyse
from tests.helpers.factories import make_contact
from tests.helpers.sms import make_campaign

TEXT = "Kinh gui {ho_ten|ong ba}, moi du hop to dan pho ngay 5/12 luc 8 gio tai nha van hoa."
# The app reaches the long Vietnamese names; the SMS goes at once to the short ASCII ones.
COVERED = ["Nguyễn Thị Phương Thảo " * 3, "Trần Văn Đức"]
DIRECT = ["Lan", None, "Minh"]


def _own_cost(names: list[str | None], price: int) -> tuple[int, int]:
    template = placeholders.parse_or_none(TEXT)
    assert template is not None
    parts = [analyse(template.render({"ho_ten": n} if n else {}) or "").parts for n in names]
    return sum(parts), sum(parts) * price


@pytest.mark.parametrize("name", [strategy.APP_FIRST, strategy.APP_THEN_SMS])
def test_each_row_is_priced_on_the_rendered_texts(app, people, backend, name):
    c = make_campaign(people["editor"], sms_text=TEXT, strategy=name, fallback_minutes=30)
    for i, who in enumerate(COVERED + DIRECT):
        contact = make_contact(f"+8496{i:07d}")
        contact.name = who
        db.session.flush()
        held = strategy.HELD[name] if who in COVERED else None
        db.session.add(CampaignMember(campaign_id=c.id, channel="sms", recipient_id=contact.id,
                                      held=held))
    db.session.commit()

    figures = frozen.figures(c)
    price = figures["sms"]["by_operator"]["viettel"]["price_per_part"]
    assert price > 0
    covered, direct = _own_cost(COVERED, price), _own_cost(DIRECT, price)
    assert covered[0] > 2 * len(COVERED)  # the long UCS-2 names take several parts each
    rows = figures["strategy"]
    assert (rows["sms_direct"]["parts"], rows["sms_direct"]["cost_vnd"]) == direct
    assert (rows["sms_all"]["parts"], rows["sms_all"]["cost_vnd"]) == (
        covered[0] + direct[0], covered[1] + direct[1])
    assert rows["saving_max_vnd"] == covered[1]
    if name == strategy.APP_FIRST:
        assert rows["sms_fallback_max"]["cost_vnd"] == 0
        assert figures["sms"]["cost_vnd"] == direct[1] and rows["saving_vnd"] == covered[1]
        assert figures["personal"]["recipients"] == len(DIRECT)
    else:
        assert rows["sms_fallback_max"]["cost_vnd"] == covered[1]
        assert figures["sms"]["cost_vnd"] == covered[1] + direct[1]
        assert rows["saving_vnd"] == 0
        assert figures["personal"]["recipients"] == len(COVERED + DIRECT)
