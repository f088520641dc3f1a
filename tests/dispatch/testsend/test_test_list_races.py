"""Two admins changing the test list at the same moment (PostgreSQL: where requests really
run side by side). Each request checks the list (the number's uniqueness, its size) and then
writes; the last check before the write (`_reachable`) is where each request is held here
until the other has checked too, so checks that are not serialised let both through."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from dispatch.campaigns import testlist
from dispatch.errors import Conflict
from dispatch.extensions import db
from dispatch.models import TestMember, User


def _race(app: Any, admins: list[int], numbers: list[str],
          monkeypatch: pytest.MonkeyPatch) -> list[str]:
    both_checked = threading.Barrier(2)
    real = testlist._reachable

    def held(*args: Any) -> None:
        # Serialised, the other is still waiting for its turn: go on after a while.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait(timeout=1)
        real(*args)

    monkeypatch.setattr(testlist, "_reachable", held)
    outcomes: list[str] = []

    def request(admin_id: int, number: str) -> None:
        with app.app_context():
            try:
                testlist.add(name="Cán bộ", msisdn=number,
                             actor=db.session.get_one(User, admin_id))
                db.session.commit()
                outcomes.append("ok")
            except Conflict as err:
                db.session.rollback()
                outcomes.append(err.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=request, args=pair)
               for pair in zip(admins, numbers, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return sorted(outcomes)


@pytest.fixture()
def admins(people: dict[str, Any]) -> list[int]:
    from tests.helpers.factories import make_user

    return [people["admin"].id, make_user("admin2", ["admin"]).id]


@pytest.mark.postgres_only
def test_two_admins_adding_the_21st_member_at_once_leave_twenty(app, backend, admins,
                                                                 monkeypatch):
    for i in range(testlist.MAX_MEMBERS - 1):
        testlist.add(name=f"Cán bộ {i}", msisdn=f"09610001{i:02d}",
                     actor=db.session.get_one(User, admins[0]))
    db.session.commit()
    outcomes = _race(app, admins, ["0961000900", "0961000901"], monkeypatch)
    assert outcomes == ["ok", "test_list_full"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(TestMember)) == 20


@pytest.mark.postgres_only
def test_two_admins_adding_the_same_number_at_once_get_one_member_and_a_409(app, backend,
                                                                            admins, monkeypatch):
    outcomes = _race(app, admins, ["0961000900", "+84 961 000 900"], monkeypatch)
    assert outcomes == ["ok", "test_member_exists"]
    db.session.expire_all()
    assert db.session.scalars(select(TestMember.msisdn)).all() == ["+84961000900"]
