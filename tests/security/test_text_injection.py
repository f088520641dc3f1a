"""Template and format injection in message text.

Loa has no personalisation today: an SMS text and a push title/body are sent as written to every
recipient (no placeholders, no template engine over campaign text; `dispatch.sms.send` builds
PDUs from the text as is). So what looks like a placeholder or a template expression must reach
the phone literally: no `str.format`, `%` formatting, `string.Template` or Jinja evaluation
anywhere between the editor and the SMSC / FCM. These tests send such text end to end.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from dispatch.engine import enqueue
from dispatch.models import User
from dispatch.sms.process import SmppProcess
from scripts.fcm import FcmStandIn
from scripts.smsc import Behaviour, Smsc
from tests.helpers.factories import add_account
from tests.helpers.push import make_campaign as make_push_campaign
from tests.helpers.push import make_device, work
from tests.helpers.push import queue_rows as queue_push_rows
from tests.helpers.push_gateway import forget_push_gateway
from tests.helpers.sms import FAST_TIMERS, counts, queue_rows
from tests.helpers.sms import make_campaign as make_sms_campaign

LOOKS_LIKE_A_TEMPLATE = ("Xin chao {name} {0} {{ 7*7 }} {% if 1 %}x{% endif %} %s %(name)s "
                         "${name} $name <%= 7*7 %> {{config.SECRET_KEY}}")


def literal(text: str) -> str:
    """`text` as a campaign writes it to be sent exactly so: each brace doubled."""
    return text.replace("{", "{{").replace("}", "}}")


def test_previews_show_the_text_as_written(backend: str, api: Any,
                                           people: dict[str, User]) -> None:
    preview = api.as_(people["editor"]).post("/api/preview/sms",
                                             json={"text": LOOKS_LIKE_A_TEMPLATE})
    assert preview.status_code == 200, preview.json
    original = preview.json["original"]
    assert original["text"] == LOOKS_LIKE_A_TEMPLATE
    assert "".join(original["segments"]) == LOOKS_LIKE_A_TEMPLATE


def test_sms_reaches_the_smsc_literally(backend: str, app: Any, redis: Any,
                                        people: dict[str, User]) -> None:
    smsc = Smsc({"loa": "secret"}, Behaviour(seed=1)).start()
    process = None
    try:
        account = add_account(smsc)
        c = make_sms_campaign(people["editor"], sms_text=LOOKS_LIKE_A_TEMPLATE)
        queue_rows(c, account, 2)  # claimed from the ledger by the smpp process
        process = SmppProcess(app, poll_interval=0.3, status_interval=0.2, timers=FAST_TIMERS,
                              drain_timeout=2.0).start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and counts(c.id).get("submitted", 0) + \
                counts(c.id).get("delivered", 0) < 2:
            time.sleep(0.1)
        received = smsc.received()
        assert len({r.destination for r in received}) == 2
        texts = {r.destination: "" for r in received}
        for r in sorted(received, key=lambda r: (r.destination, r.sequence)):
            texts[r.destination] += r.text
        assert set(texts.values()) == {LOOKS_LIKE_A_TEMPLATE}
    finally:
        if process is not None:
            process.stop()
        smsc.stop()


def test_push_reaches_fcm_literally(backend: str, app: Any, redis: Any,
                                    tmp_path: Path) -> None:
    saved = {k: app.config.get(k) for k in ("FCM_CREDENTIALS", "FCM_ENDPOINT", "FCM_PROJECT_ID",
                                             "PUSH_TOPIC_SENDS")}
    with FcmStandIn(project_id="loa-injection") as standin:
        app.config.update(FCM_CREDENTIALS=str(standin.write_service_account(tmp_path / "sa.json")),
                          FCM_ENDPOINT=standin.url, FCM_PROJECT_ID=None, PUSH_TOPIC_SENDS=False)
        forget_push_gateway()
        try:
            # Braces are Loa's placeholders (dispatch.campaigns.placeholders): a literal brace is
            # written doubled, and then nothing else of these texts is read as a template.
            c = make_push_campaign(push_title=literal("{name} {{ 7*7 }}"),
                                   push_body=literal(LOOKS_LIKE_A_TEMPLATE))
            enqueue.enqueue_push(c, queue_push_rows(c, [make_device("good-1")]))
            work()
            [message] = standin.messages()
            sent = message.get("message", message)
            notification = sent.get("notification") or sent.get("android", {}).get(
                "notification", {})
            assert notification["title"] == "{name} {{ 7*7 }}"
            assert notification["body"] == LOOKS_LIKE_A_TEMPLATE
        finally:
            forget_push_gateway()
            app.config.update(saved)
