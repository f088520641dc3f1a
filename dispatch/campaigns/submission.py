"""The job that freezes a submitted campaign's audience (`service.freeze_audience`).

Submitting freezes the content in the request and leaves the campaign `submitting`; this job
writes the frozen members and the approval's figures and moves it to `pending_approval`, in one
transaction. At the department's million that is half a minute or more, at a national audience
over an hour (docs/SCALE.md): work no request should wait on. One run per campaign at a time
holds `keys.freeze_heartbeat` (the rule in dispatch.engine.enqueue), renewed by a thread beside
the statements; the clock enqueues the job again for a campaign still `submitting` whose key
lapsed (the job lost with Redis, a worker killed mid-freeze: its transaction rolled back).

A withdrawal or an edit meanwhile wins: the final claim finds the campaign changed and the whole
freeze rolls back. A freeze that fails for another reason than a lost database connection
returns the campaign to draft with the error's type as the reason, for its authors to see.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError

from dispatch.campaigns import notes, service
from dispatch.engine import enqueue
from dispatch.errors import Conflict
from dispatch.extensions import db
from dispatch.jobs import in_app_context, keys, rerun_on_lost_connection
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, CampaignStatus

log = logging.getLogger(__name__)


@in_app_context
def freeze(campaign_id: int) -> str:
    """Job: freeze the audience of a submitted campaign; returns what became of it."""
    key, run = keys.freeze_heartbeat(campaign_id), uuid.uuid4().hex
    if not enqueue.hold(key, run):
        return "held by another run"
    try:
        with _renewed(key, run):
            return rerun_on_lost_connection(lambda _attempt: _freeze(campaign_id),
                                            what=f"freezing campaign {campaign_id}")
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
