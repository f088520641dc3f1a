"""The test list an admin keeps: at most MAX_MEMBERS staff numbers and app installations.

Each member has a name and a number, an installation, or both. A number is read like every
number Loa takes (dispatch.audiences.msisdn: never repaired, a letter is an error); an
installation must be one the app registered. Every change is audited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from dispatch.audiences.msisdn import normalise
from dispatch.campaigns import audit
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.extensions import db
from dispatch.models import Device, TestMember, User

MAX_MEMBERS = 20
ENTITY = "test_member"
NAME_MAX = 120


def members() -> list[TestMember]:
    """The test list, in the order it was made."""
    return list(db.session.scalars(select(TestMember).order_by(TestMember.id)))


def get_member(member_id: int, *, field: str = "member_id") -> TestMember:
    member = db.session.get(TestMember, member_id)
    if member is None:
        raise NotFound(f"Test member {member_id} does not exist.",
                       errors={field: ["Not on the test list."]})
    return member


def _state(m: TestMember) -> dict[str, Any]:
    return {"name": m.name, "msisdn": m.msisdn, "installation_id": m.installation_id}


def _name(value: str | None) -> str:
    name = " ".join((value or "").split())
    if not name:
        raise ValidationFailed.field("name", "Give a name.")
    if len(name) > NAME_MAX:
        raise ValidationFailed.field("name", f"At most {NAME_MAX} characters.")
    return name


def _number(value: str | None, current: TestMember | None) -> tuple[str | None, str | None]:
    """(E.164, operator) of a written number, or (None, None) for none."""
    if value is None or not value.strip():
        return None, None
    number = normalise(value)
    if not number.ok:
        raise ValidationFailed.field("msisdn", f"{number.error}: {value!r}")
    taken = db.session.scalar(select(TestMember.id).where(TestMember.msisdn == number.msisdn))
    if taken is not None and (current is None or taken != current.id):
        raise Conflict("This number is already on the test list.",
                       code="test_member_exists", errors={"msisdn": ["Already on the test list."]})
    return number.msisdn, number.operator


def _installation(value: str | None, current: TestMember | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if db.session.scalar(select(Device.id).where(Device.installation_id == value)) is None:
        raise ValidationFailed.field("installation_id",
                                     "No installation of the app has registered with this id.")
    taken = db.session.scalar(select(TestMember.id).where(TestMember.installation_id == value))
    if taken is not None and (current is None or taken != current.id):
        raise Conflict("This installation is already on the test list.",
                       code="test_member_exists",
                       errors={"installation_id": ["Already on the test list."]})
    return value


def _one_at_a_time() -> None:
    """Two admins changing the list at once: their count and uniqueness checks must not both
    pass before either writes (a 21st member; the same number twice, a 500 at the flush). On
    PostgreSQL a transaction-scoped advisory lock puts them in turn until commit; SQLite lets
    one writer in at a time, and the flush's IntegrityError is the last guard on both."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('loa.test_members'))"))


def _flush() -> None:
    try:
        db.session.flush()
    except IntegrityError as err:  # a concurrent twin got in first
        db.session.rollback()
        raise Conflict("This number or installation is already on the test list.",
                       code="test_member_exists",
                       errors={"msisdn": ["Already on the test list."]}) from err


def _reachable(msisdn: str | None, installation: str | None) -> None:
    if msisdn is None and installation is None:
        raise ValidationFailed(
            "msisdn: Give a phone number, an app installation, or both.",
            errors={"msisdn": ["Give a phone number, an app installation, or both."],
                    "installation_id": ["Give a phone number, an app installation, or both."]})


def add(*, name: str | None, msisdn: str | None = None, installation_id: str | None = None,
        actor: User) -> TestMember:
    """Add a member (caller commits); refused when the list is full or the member is on it."""
    _one_at_a_time()
    clean_name = _name(name)
    number, operator = _number(msisdn, None)
    installation = _installation(installation_id, None)
    if (db.session.scalar(select(func.count()).select_from(TestMember)) or 0) >= MAX_MEMBERS:
        raise Conflict(f"The test list holds at most {MAX_MEMBERS} members. Remove one first.",
                       code="test_list_full")
    _reachable(number, installation)
    member = TestMember(name=clean_name, msisdn=number, operator=operator,
                        installation_id=installation, created_by_id=actor.id)
    db.session.add(member)
    _flush()
    audit.record("test_member.create", ENTITY, member.id, actor=actor,
                 after_hash=audit.content_hash(_state(member)), details=_state(member))
    return member


def update(member: TestMember, changes: dict[str, Any], *, actor: User) -> TestMember:
    """Change a member's name, number or installation (None or '' clears the last two)."""
    _one_at_a_time()
    before = _state(member)
    name = _name(changes["name"]) if "name" in changes else member.name
    number, operator = ((_number(changes["msisdn"], member)) if "msisdn" in changes
                        else (member.msisdn, member.operator))
    installation = (_installation(changes["installation_id"], member)
                    if "installation_id" in changes else member.installation_id)
    _reachable(number, installation)
    member.name, member.msisdn, member.operator = name, number, operator
    member.installation_id = installation
    _flush()
    after = _state(member)
    if after != before:
        audit.record("test_member.update", ENTITY, member.id, actor=actor,
                     before_hash=audit.content_hash(before), after_hash=audit.content_hash(after),
                     details={"before": before, "after": after})
    return member


def remove(member: TestMember, *, actor: User) -> None:
    audit.record("test_member.delete", ENTITY, member.id, actor=actor,
                 before_hash=audit.content_hash(_state(member)), details=_state(member))
    db.session.delete(member)
