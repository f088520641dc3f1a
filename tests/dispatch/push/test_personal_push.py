"""A personalised push: each device its locality's words, defaults for what a device cannot know,
and no notification for a device without a value that has no default."""

from __future__ import annotations

from dispatch.engine import enqueue
from dispatch.extensions import db
from dispatch.models import Locality
from tests.helpers.push import make_campaign, make_device, queue_rows, statuses, work


def test_each_device_gets_its_locality_in_title_and_body(backend, fcm):
    district = Locality(code="pp-vi-thuy", name="Huyện Vị Thủy", kind="district")
    db.session.add(district)
    db.session.flush()
    db.session.add(Locality(code="pp-vi-thang", name="Xã Vị Thắng", kind="commune",
                            parent_id=district.id))
    db.session.commit()
    c = make_campaign(push_title="Kính gửi {ho_ten|bà con} {{xa}}",
                      push_body="Họp tại {xa}, {huyen|}")
    devices = [make_device("good-1", locality="pp-vi-thang"),
               make_device("good-2", locality="pp-vi-thuy")]  # a district: no {xa}
    ids = queue_rows(c, devices)
    enqueue.enqueue_push(c, ids)
    work()
    got = statuses(ids)
    assert got[ids[0]] == ("submitted", None) and got[ids[1]] == ("failed", "missing_value")
    [message] = fcm.messages()
    assert message["notification"] == {"title": "Kính gửi bà con {xa}",
                                       "body": "Họp tại Xã Vị Thắng, Huyện Vị Thủy"}
