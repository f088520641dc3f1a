"""The job that freezes a submitted campaign's audience (`service.freeze_audience`).

Submitting freezes the content in the request and leaves the campaign `submitting`; this job
writes the frozen members and the approval's figures and moves it to `pending_approval`, in one
transaction. At the department's million that is half a minute or more, at a national audience
over an hour (docs/SCALE.md): work no request should wait on. One run per campaign at a time
holds `keys.freeze_heartbeat` (the rule in dispatch.engine.enqueue), renewed by a thread beside
the statements; the clock enqueues the job again for a campaign still `submitting` whose key
lapsed (the job lost with Redis, a worker killed mid-freeze: its transaction rolled back).

A withdrawal or an edit meanwhile wins: the final claim finds the campaign changed and the whole
freeze rolls back. A freeze that fails for another reason than the database's returns the
campaign to draft with the error's type as the reason, for its authors to see.

A run that fails on the database (OperationalError, InterfaceError: a lost connection, but also
a statement timeout or a query the server cancels, which would fail every run the same way) is
run again in the job (`rerun_on_lost_connection`), then by the clock. Each such run that fails
is recorded in the campaign's audit trail (`campaign.freeze_retry`), in a transaction of its
own: the count is the database's, so neither a Redis restart nor a lost job resets it, and a
run whose failure cannot be recorded (the database really away) is not counted, so an outage
however long costs no attempt but the one the database came back for. At ATTEMPTS recorded
failures the campaign goes back to draft (`freeze_failed`, the note `freeze_gave_up` naming the
error) and the clock has nothing more to run.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from dispatch.campaigns import notes, service
from dispatch.engine import enqueue
from dispatch.errors import Conflict
from dispatch.extensions import db
from dispatch.jobs import in_app_context, keys, rerun_on_lost_connection, rolled_back_on_failure
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, CampaignStatus

log = logging.getLogger(__name__)

# Runs of one submission's freeze that may fail on the database before it goes back to draft;
# each run already tries five times over ten seconds (rerun_on_lost_connection).
ATTEMPTS = 3


@in_app_context
def freeze(campaign_id: int) -> str:
    """Job: freeze the audience of a submitted campaign; returns what became of it."""
    key, run = keys.freeze_heartbeat(campaign_id), uuid.uuid4().hex
    if not enqueue.hold(key, run):
        return "held by another run"
    try:
        with _renewed(key, run):
            try:
                return rerun_on_lost_connection(lambda _attempt: _freeze(campaign_id),
                                                what=f"freezing campaign {campaign_id}")
            except (OperationalError, InterfaceError) as exc:
                ended = _count_failure(campaign_id, exc)
                if ended is None:
                    raise  # the job fails; the clock runs it again once the hold is let go
                return ended
    finally:
        enqueue.let_go(key, run)


def _freeze(campaign_id: int) -> str:
    db.session.rollback()  # from what is committed (a rerun, a session that outlives jobs)
    c = db.session.get(Campaign, campaign_id)
    if c is None or c.status is not CampaignStatus.SUBMITTING:
        return "not submitting"  # a rerun whose first COMMIT went through ends here
    try:
        service.freeze_audience(c)
        db.session.commit()
    except Conflict:
        db.session.rollback()
        log.info("campaign %s: withdrawn or changed while its audience was frozen", campaign_id)
        return "changed meanwhile"
    except (OperationalError, InterfaceError):
        raise  # the connection was lost: run again (rerun_on_lost_connection), later the clock
    except Exception as exc:
        db.session.rollback()
        log.exception("campaign %s: its audience could not be frozen", campaign_id)
        c = db.session.get(Campaign, campaign_id)
        if c is None or c.status is not CampaignStatus.SUBMITTING:
            return "not submitting"
        try:
            service.freeze_failed(c, reason=notes.note(notes.FREEZE_FAILED,
                                                       error=type(exc).__name__))
        except Conflict:
            db.session.rollback()
            return "changed meanwhile"
        db.session.commit()
        return "failed"
    return "frozen"


def _count_failure(campaign_id: int, exc: DBAPIError) -> str | None:
    """Record a run that failed on the database; at the ATTEMPTS-th, return the campaign to
    draft. What became of it, or None when the clock is to run it again (also when the failure
    cannot be recorded: the database is away, and that run does not count)."""
    # The driver's own error names the cause (QueryCanceled, not OperationalError).
    error = type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__
    try:
        with rolled_back_on_failure():
            db.session.rollback()
            c = db.session.get(Campaign, campaign_id)
            if c is None or c.status is not CampaignStatus.SUBMITTING:
                return "not submitting"
            failed = service.freeze_retries(c) + 1
            if failed < ATTEMPTS:
                service.freeze_retry(c, reason=notes.note(
                    notes.FREEZE_RETRY, error=error, attempt=failed, attempts=ATTEMPTS))
                db.session.commit()
                return None
            log.error("campaign %s: its audience could not be frozen in %s runs (%s); back to "
                      "draft", campaign_id, failed, error)
            try:
                service.freeze_failed(c, reason=notes.note(notes.FREEZE_GAVE_UP, error=error,
                                                           attempts=failed))
            except Conflict:
                db.session.rollback()
                return "changed meanwhile"
            db.session.commit()
            return "failed"
    except (OperationalError, InterfaceError):
        log.warning("campaign %s: the failed freeze cannot be recorded (the database is away); "
                    "not counted", campaign_id, exc_info=True)
        return None


@contextlib.contextmanager
def _renewed(key: str, run: str) -> Iterator[None]:
    """Renew `run`'s hold of `key` from a thread while the freeze's statements run (a statement
    can outlast the heartbeat; the thread holds no database connection)."""
    client: Any = get_redis()
    ttl = enqueue.heartbeat_ttl()
    done = threading.Event()

    def renew() -> None:
        while not done.wait(ttl / 4):
            try:
                if not enqueue.hold(key, run, client=client, ttl=ttl):
                    return  # another run took it after a lapse: the final claim decides
            except Exception:  # Redis away: the hold lapses, at worst a second run waits
                log.warning("freeze %s: cannot renew its heartbeat", key, exc_info=True)

    thread = threading.Thread(target=renew, name=f"loa-{key}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
