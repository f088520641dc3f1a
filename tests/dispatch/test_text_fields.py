"""One text field type for every request schema, and the NFC rule it enforces.

`dispatch.schemas.fields.Text` stores text in NFC and refuses NUL, lone surrogates and control
characters; `DateTime`/`Date` bound years to 2000-2100. A decomposed Vietnamese text (NFD, as
some keyboards and Windows-1258 files produce) stored as typed would count more UCS-2 units
than the composed one, so more SMS parts and cost than the approver saw.
"""

from __future__ import annotations

import importlib
import pkgutil
import unicodedata
from collections.abc import Iterator
from typing import Any

import marshmallow as ma
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import dispatch.schemas
from dispatch.extensions import db
from dispatch.models import Campaign, ContactList, User
from dispatch.schemas.common import StrictSchema
from dispatch.schemas.fields import Date, DateTime, Text


def _request_schemas() -> list[type[ma.Schema]]:
    for info in pkgutil.iter_modules(dispatch.schemas.__path__):
        importlib.import_module(f"dispatch.schemas.{info.name}")
    found, todo = set(), [StrictSchema]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    return sorted(found, key=lambda s: s.__qualname__)


def _leaves(field: ma.fields.Field, path: str) -> Iterator[tuple[str, ma.fields.Field]]:
    if isinstance(field, ma.fields.List):
        yield from _leaves(field.inner, f"{path}[]")
    elif isinstance(field, ma.fields.Dict):
        for name, sub in (("keys", field.key_field), ("values", field.value_field)):
            if sub is not None:
                yield from _leaves(sub, f"{path}.{name}")
    elif not isinstance(field, ma.fields.Nested):
        yield path, field


def test_every_request_schema_reads_text_and_times_through_the_loa_fields(app: Any) -> None:
    wrong = []
    schemas = _request_schemas()
    assert len(schemas) > 40
    for schema in schemas:
        for name, field in schema().fields.items():
            for path, leaf in _leaves(field, f"{schema.__qualname__}.{name}"):
                if "password" in path:
                    continue  # hashed, never shown: compared exactly as typed
                if isinstance(leaf, ma.fields.String) and not isinstance(leaf, Text):
                    wrong.append(f"{path}: {type(leaf).__name__}, not Text")
                if isinstance(leaf, ma.fields.DateTime) and not isinstance(leaf, DateTime):
                    wrong.append(f"{path}: {type(leaf).__name__}, not DateTime")
                if isinstance(leaf, ma.fields.Date) and not isinstance(leaf, Date):
                    wrong.append(f"{path}: {type(leaf).__name__}, not Date")
    assert not wrong, "\n".join(wrong)


def test_the_text_field_refuses_what_no_text_should_hold() -> None:
    one_line, lines = Text(), Text(multiline=True)
    assert one_line.deserialize("Nguye\u0302\u0303n") == "Nguyễn"
    assert lines.deserialize("Dòng 1\r\nDòng 2\tx") == "Dòng 1\r\nDòng 2\tx"
    for bad in ("a\x00", "a\ud800", "a\x1b[31m", "a\x7f", "a\x85", "a\u009b"):
        for field in (one_line, lines):
            try:
                field.deserialize(bad)
            except ma.ValidationError:
                continue
            raise AssertionError(f"{bad!r} accepted")
    try:
        one_line.deserialize("a\nb")
    except ma.ValidationError as err:
        assert err.messages == ["Contains a line break (U+000A)."]
    else:
        raise AssertionError("line break accepted in a one-line field")


VIETNAMESE = st.text(
    alphabet=st.sampled_from(
        "aăâbcdđeêghiklmnoôơpqrstuưvxy AĂÂĐÊÔƠƯ áàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợ"
        "úùủũụứừửữựýỳỷỹỵ ỄỮỞẶ0123456789.,!?"),
    min_size=1, max_size=200)


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=VIETNAMESE)
def test_decomposed_text_is_stored_previewed_and_costed_as_composed(
        backend: str, app: Any, api: Any, people: dict[str, User], text: str) -> None:
    composed = unicodedata.normalize("NFC", text)
    decomposed = unicodedata.normalize("NFD", text)
    editor = api.as_(people["editor"])
    recipients = {"viettel": 1000, "vinaphone": 7}
    previews = [editor.post("/api/preview/sms", json={"text": t, "recipients": recipients}).json
                for t in (composed, decomposed)]
    assert previews[0] == previews[1]
    made = [editor.post("/api/campaigns", json={
        "title": "Tin " + t[:190], "channels": "both", "sms_text": t, "push_title": t[:200],
        "push_body": t, "sms_sender": "HAUGIANG", "audience": {"all_app_users": True}})
        for t in (composed, decomposed)]
    assert [m.status_code for m in made] == [201, 201], made[1].json
    created = made[1]
    costed = [editor.get(f"/api/campaigns/{m.json['id']}/preview").json["sms"] for m in made]
    assert costed[0] == costed[1]
    stored = db.session.get(Campaign, created.json["id"])
    assert stored is not None
    # The service trims; a text of spaces only is no text (stored as NULL).
    assert (stored.sms_text or "", stored.push_body or "") == (composed.strip(),) * 2
    assert unicodedata.is_normalized("NFC", stored.title)
    listed = editor.post("/api/lists", json={"name": f"{created.json['id']} {decomposed[:190]}"})
    assert listed.status_code == 201
    name = db.session.get(ContactList, listed.json["id"])
    assert name is not None and unicodedata.is_normalized("NFC", name.name)


def test_the_command_line_stores_text_as_the_api_does(backend: str, app: Any,
                                                      tmp_path: Any) -> None:
    runner = app.test_cli_runner()
    name = unicodedata.normalize("NFD", "Nguyễn Thị Lan")
    created = runner.invoke(args=["users", "create", "lan", "--role", "editor", "--name", name])
    assert created.exit_code == 0, created.output
    user = db.session.scalars(select(User).where(User.username == "lan")).one()
    assert user.full_name == "Nguyễn Thị Lan"
    refused = runner.invoke(args=["users", "create", "minh", "--role", "editor",
                                  "--name", "Minh\x1b[31m"])
    assert refused.exit_code == 2 and "full_name: Contains a control character" in refused.output
    path = tmp_path / "one.csv"
    path.write_text("phone\n0912345678\n", encoding="utf-8")
    imported = runner.invoke(args=["contacts", "import", str(path), "--list",
                                   unicodedata.normalize("NFD", "Hội viên")])
    assert imported.exit_code == 0, imported.output
    assert db.session.scalars(select(ContactList.name)).one() == "Hội viên"
    token = runner.invoke(args=["tokens", "create", "lan", "--name", "x" * 500])
    assert token.exit_code == 2 and "name:" in token.output
