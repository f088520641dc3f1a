"""The congress plan and its three phases for tests, named by the tags they replaced."""

from __future__ import annotations

from datetime import date

from dispatch.extensions import db
from dispatch.models import Plan
from dispatch.seed import seed_plan

# The congress opening in these tests: phase 1 until 10/03/2025, phase 2 11–13/03/2025, phase
# 3 from 14/03/2025 (tests/helpers/reports.T0 is 10/03/2025).
OPENS = date(2025, 3, 11)
TAGS = ("truoc-dai-hoi", "trong-dai-hoi", "sau-dai-hoi")


def congress(opens: date = OPENS) -> Plan:
    plan = seed_plan(opens)
    db.session.commit()
    return plan


def phase_id(tag: str) -> int:
    """The id of the congress plan's phase that `tag` stood for (the plan made if need be)."""
    return congress().phases[TAGS.index(tag)].id
