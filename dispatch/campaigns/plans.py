"""Communication plans (kế hoạch) and their phases (đợt): dates, checks, the campaigns in them.

A plan has a reference (số/ký hiệu), a title and a date range; each phase a name, a date range
and a purpose. Dates are local calendar days, both ends included. A phase lies inside its
plan's dates and overlaps no other phase of the plan. Campaigns belong to a phase; one sent
or scheduled outside its phase's dates is flagged before approval (`outside_phase`), not
refused: the department decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from dispatch.campaigns import audit, kinds
from dispatch.config import local_zone
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, Phase, Plan, User
from dispatch.models.common import utcnow

PLAN_FIELDS = ("reference", "title", "starts_on", "ends_on", "description")
PHASE_FIELDS = ("name", "starts_on", "ends_on", "purpose")
S = CampaignStatus
# The phase tags seeded before plans existed, and the phases the upgrade made of them: for
# versions an approver saw before the upgrade, which name their phase by tag.
LEGACY_TAGS = {"truoc-dai-hoi": "Đợt 1: Trước Đại hội",
               "trong-dai-hoi": "Đợt 2: Trong thời gian diễn ra Đại hội",
               "sau-dai-hoi": "Đợt 3: Sau khi kết thúc Đại hội"}
# A campaign that went out (or began to): placed on the day it started.
SENT = (S.SENDING, S.PAUSED, S.COMPLETED, S.CANCELLED)


def day(value: date | None) -> str:
    return "—" if value is None else value.strftime("%d/%m/%Y")


def span(starts: date | None, ends: date | None) -> str:
    return f"{day(starts)} – {day(ends)}"


def get_plan(plan_id: int) -> Plan:
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"Plan {plan_id} does not exist.")
    return plan


def get_phase(phase_id: int, plan: Plan | None = None) -> Phase:
    phase = db.session.get(Phase, phase_id)
    if phase is None or (plan is not None and phase.plan_id != plan.id):
        raise NotFound(f"Phase {phase_id} does not exist.")
    return phase


def all_plans() -> list[Plan]:
    """Every plan, the latest first (by start, then by id)."""
    plans = list(db.session.scalars(select(Plan).order_by(Plan.id.desc())))
    return sorted(plans, key=lambda p: (p.starts_on or date.min, p.id), reverse=True)


def ordered(phases: list[Phase]) -> list[Phase]:
    """Phases by start date; those without dates (migrated from tags) last."""
    return sorted(phases, key=lambda p: (p.starts_on is None, p.starts_on or date.min, p.id))


def phase_label(phase: Phase | None) -> str:
    """A phase as people read it: its name and dates."""
    if phase is None:
        return "—"
    if phase.starts_on is None and phase.ends_on is None:
        return phase.name
    return f"{phase.name} ({span(phase.starts_on, phase.ends_on)})"


# --- checks ------------------------------------------------------------------------------------

def _clean_texts(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    clean = {k: v for k, v in data.items() if k in names}
    for key, value in list(clean.items()):
        if isinstance(value, str):
            clean[key] = value.strip()
    return clean


def _range_errors(starts: date | None, ends: date | None) -> dict[str, list[str]]:
    if starts is None:
        return {"starts_on": ["Give the first day."]}
    if ends is None:
        return {"ends_on": ["Give the last day."]}
    if ends < starts:
        return {"ends_on": [f"Ends before the first day: {day(starts)}"]}
    return {}


def _failed(errors: dict[str, list[str]]) -> ValidationFailed:
    name, messages = next(iter(errors.items()))
    if len(errors) == 1:
        return ValidationFailed(f"{name}: {messages[0]}", errors=errors)
    return ValidationFailed(f"check {', '.join(errors)}.", errors=errors)


def _plan_errors(plan: Plan) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not (plan.title or "").strip():
        errors["title"] = ["Give the plan a title."]
    errors.update(_range_errors(plan.starts_on, plan.ends_on))
    if errors:
        return errors
    assert plan.starts_on is not None and plan.ends_on is not None
    for phase in ordered(plan.phases):
        if phase.starts_on is not None and phase.starts_on < plan.starts_on:
            errors.setdefault("starts_on", []).append(
                f"A phase starts before it: {phase.name}, {span(phase.starts_on, phase.ends_on)}")
        if phase.ends_on is not None and phase.ends_on > plan.ends_on:
            errors.setdefault("ends_on", []).append(
                f"A phase ends after it: {phase.name}, {span(phase.starts_on, phase.ends_on)}")
    return errors


def _phase_errors(plan: Plan, phase: Phase) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not (phase.name or "").strip():
        errors["name"] = ["Give the phase a name."]
    errors.update(_range_errors(phase.starts_on, phase.ends_on))
    if "starts_on" in errors or "ends_on" in errors:
        return errors
    assert phase.starts_on is not None and phase.ends_on is not None
    if plan.starts_on is not None and phase.starts_on < plan.starts_on:
        errors["starts_on"] = [f"Before the plan starts: {span(plan.starts_on, plan.ends_on)}"]
    if plan.ends_on is not None and phase.ends_on > plan.ends_on:
        errors["ends_on"] = [f"After the plan ends: {span(plan.starts_on, plan.ends_on)}"]
    for other in ordered(plan.phases):
        if other is phase or other.starts_on is None or other.ends_on is None:
            continue
        if phase.starts_on <= other.ends_on and other.starts_on <= phase.ends_on:
            at = "starts_on" if other.starts_on <= phase.starts_on else "ends_on"
            errors.setdefault(at, []).append(
                f"Overlaps another phase: {other.name}, {span(other.starts_on, other.ends_on)}")
    return errors


# --- changes -----------------------------------------------------------------------------------

def _state(obj: Plan | Phase, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: (v.isoformat() if isinstance(v, date) else v)
            for n in names for v in [getattr(obj, n)]}


def create_plan(data: dict[str, Any], *, actor: User) -> Plan:
    clean = _clean_texts(data, PLAN_FIELDS)
    clean["reference"] = clean.get("reference") or None
    plan = Plan(**{"description": "", **clean})
    plan.phases = []
    if errors := _plan_errors(plan):
        raise _failed(errors)
    db.session.add(plan)
    db.session.flush()
    audit.record("plan.create", "plan", plan.id, actor=actor,
                 details=_state(plan, PLAN_FIELDS))
    return plan


def update_plan(plan: Plan, data: dict[str, Any], *, actor: User) -> Plan:
    clean = _clean_texts(data, PLAN_FIELDS)
    if "reference" in clean:
        clean["reference"] = clean["reference"] or None
    before = _state(plan, PLAN_FIELDS)
    for key, value in clean.items():
        setattr(plan, key, value)
    if errors := _plan_errors(plan):
        raise _failed(errors)
    after = _state(plan, PLAN_FIELDS)
    if after != before:
        audit.record("plan.update", "plan", plan.id, actor=actor,
                     details={"before": before, "after": after})
    return plan


def create_phase(plan: Plan, data: dict[str, Any], *, actor: User) -> Phase:
    clean = _clean_texts(data, PHASE_FIELDS)
    phase = Phase(**{"purpose": "", **clean})
    if errors := _phase_errors(plan, phase):
        raise _failed(errors)
    phase.plan = plan
    db.session.add(phase)
    db.session.flush()
    audit.record("phase.create", "plan", plan.id, actor=actor,
                 details={"phase_id": phase.id, **_state(phase, PHASE_FIELDS)})
    return phase


def update_phase(phase: Phase, data: dict[str, Any], *, actor: User) -> Phase:
    clean = _clean_texts(data, PHASE_FIELDS)
    before = _state(phase, PHASE_FIELDS)
    for key, value in clean.items():
        setattr(phase, key, value)
    if errors := _phase_errors(phase.plan, phase):
        raise _failed(errors)
    after = _state(phase, PHASE_FIELDS)
    if after != before:
        audit.record("phase.update", "plan", phase.plan_id, actor=actor,
                     details={"phase_id": phase.id, "before": before, "after": after})
    return phase


def delete_phase(phase: Phase, *, actor: User) -> None:
    """Delete a phase no campaign belongs to."""
    used = db.session.scalar(select(Campaign.id).where(Campaign.phase_id == phase.id).limit(1))
    if used is not None:
        raise Conflict("Campaigns belong to this phase: move them to another phase first.",
                       code="phase_in_use")
    audit.record("phase.delete", "plan", phase.plan_id, actor=actor,
                 details={"phase_id": phase.id, **_state(phase, PHASE_FIELDS)})
    db.session.delete(phase)


def phase_errors(phase_id: Any) -> dict[str, list[str]]:
    """Why a campaign cannot name this phase (it does not exist), or nothing."""
    if phase_id is not None and db.session.get(Phase, phase_id) is None:
        return {"phase_id": [f"Unknown phase: {phase_id}"]}
    return {}


# --- the campaigns of a plan -------------------------------------------------------------------

def local_day(moment: datetime) -> date:
    return moment.astimezone(local_zone()).date()


def campaign_moment(c: Campaign) -> tuple[datetime | None, str]:
    """When a campaign goes (or went) out, and how sure: sent, scheduled or unscheduled."""
    if c.launched_at is not None and c.status in SENT:
        started = max(filter(None, (c.launched_at, c.send_at)))
        return started, "sent"
    if c.send_at is not None:
        return c.send_at, "scheduled"
    return None, "unscheduled"


def campaigns_of(*, plan: Plan | int | None = None,
                 phase: Phase | int | None = None) -> list[Campaign]:
    """The campaigns of a plan (every phase) or of one phase, by when they go out, then id.

    Unscheduled ones (no send time, not launched) come last. For the report pages and
    documents: a phase's or a plan's campaigns, whatever their status.
    """
    stmt = select(Campaign).join(Phase, Campaign.phase_id == Phase.id).where(kinds.counted())
    if phase is not None:
        stmt = stmt.where(Phase.id == (phase if isinstance(phase, int) else phase.id))
    if plan is not None:
        stmt = stmt.where(Phase.plan_id == (plan if isinstance(plan, int) else plan.id))
    found = list(db.session.scalars(stmt.order_by(Campaign.id)))

    def key(c: Campaign) -> tuple[bool, datetime, int]:
        moment = campaign_moment(c)[0]
        return moment is None, moment or utcnow(), c.id

    return sorted(found, key=key)


@dataclass
class Day:
    day: date
    entries: list[tuple[Campaign, str]] = field(default_factory=list)


@dataclass
class PhaseCalendar:
    phase: Phase
    days: list[Day] = field(default_factory=list)
    unscheduled: list[Campaign] = field(default_factory=list)
    outside: int = 0  # campaigns placed on a day outside the phase's dates

    @property
    def counts(self) -> dict[str, int]:
        out = {"sent": 0, "scheduled": 0, "unscheduled": len(self.unscheduled)}
        for d in self.days:
            for _, kind in d.entries:
                out[kind] += 1
        return out


def calendar(plan: Plan) -> list[PhaseCalendar]:
    """Per phase, the days campaigns went or go out on, each campaign sent or scheduled."""
    out = {p.id: PhaseCalendar(p) for p in ordered(plan.phases)}
    for c in campaigns_of(plan=plan):
        entry = out.get(c.phase_id) if c.phase_id is not None else None
        if entry is None:
            continue
        moment, kind = campaign_moment(c)
        if moment is None:
            entry.unscheduled.append(c)
            continue
        when = local_day(moment)
        if entry.days and entry.days[-1].day == when:
            entry.days[-1].entries.append((c, kind))
        else:
            entry.days.append(Day(when, [(c, kind)]))
        if not within(entry.phase, when):
            entry.outside += 1
    return list(out.values())


def within(phase: Phase, when: date) -> bool:
    """Whether `when` falls in the phase's dates (a phase without dates takes any day)."""
    if phase.starts_on is not None and when < phase.starts_on:
        return False
    return phase.ends_on is None or when <= phase.ends_on


def outside_phase(phase: Phase | None, send_at: datetime | None,
                  now: datetime | None = None) -> dict[str, Any] | None:
    """The warning for a campaign going out outside its phase's dates, or None.

    `send_at` empty means "when launched": today, as far as the approver can tell.
    """
    if phase is None:
        return None
    moment = send_at or now or utcnow()
    when = local_day(moment)
    if within(phase, when):
        return None
    return {"phase_id": phase.id, "phase": phase.name, "starts_on": phase.starts_on,
            "ends_on": phase.ends_on, "send_on": when, "scheduled": send_at is not None}


def campaign_warning(c: Campaign) -> dict[str, Any] | None:
    """`outside_phase` for a campaign as it stands (not yet launched: after that it is moot)."""
    if c.launched_at is not None:
        return None
    return outside_phase(c.phase, c.send_at)


def snapshot_warning(snap: dict[str, Any] | None) -> dict[str, Any] | None:
    """`outside_phase` for the content an approver reviews (the frozen snapshot)."""
    if not snap or snap.get("phase_id") is None:
        return None
    phase = db.session.get(Phase, snap["phase_id"])
    send_at = datetime.fromisoformat(snap["send_at"]) if snap.get("send_at") else None
    return outside_phase(phase, send_at)


def choices() -> list[tuple[Plan, list[Phase]]]:
    """Every plan with its phases, for a form's grouped choice of phase."""
    return [(plan, ordered(plan.phases)) for plan in all_plans()]
