"""Prometheus metrics at `/metrics`, computed when scraped from what Redis and the database hold.

Why at scrape time and not with in-process counters: the figures that matter are made by many
processes on several hosts (gunicorn workers, RQ workers, one or more smpp processes).
prometheus_client's multiprocess mode only adds up processes that share one directory on one
host, and needs that directory wiped at every start. The smpp processes already publish each
bind's counters to Redis every second (`dispatch.sms.status`), the throttle lives in
Redis, queues are Redis lists and the ledger is in the database: reading them when Prometheus
asks gives the same figures whichever web worker answers, with nothing to aggregate or lose.

Counters per bind reset when an smpp process restarts (Prometheus' `rate()` copes: each series
carries its process label). Receipts by status (`raw_receipts`) and MO by outcome
(`inbound_messages`), the unreadable ones of both included, are counted incrementally:
a Redis hash keeps the totals and the last id counted, so each scrape reads only the new rows
(a primary-key range); if Redis loses the hash the count starts again from the newest row
(a counter reset, which `rate()` also copes with).

Access: `Authorization: Bearer <LOA_METRICS_TOKEN>` (for Prometheus' `authorization`
setting), or a signed-in admin / an admin's API token (permission `ops.view`).
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from rq import Queue, Worker
from rq.registry import (
    DeferredJobRegistry,
    FailedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from sqlalchemy import func, select

from dispatch.access.auth import require
from dispatch.campaigns import kinds
from dispatch.engine import progress as progress_module
from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import (
    Campaign,
    CampaignStatus,
    InboundMessage,
    Message,
    MessageStatus,
    RawReceipt,
    SmppAccount,
)
from dispatch.sms import status as smpp_status
from gateways.smpp import RedisThrottle

log = logging.getLogger(__name__)
bp = Blueprint("ops_metrics", __name__)

BIND_STATES = ("idle", "connecting", "binding", "bound", "disconnected", "auth_failed",
               "closing", "closed")
PROGRESS_MAX_AGE = 30.0  # seconds: older cached figures are recomputed (one reader at a time)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class LoaCollector:
    """Everything `/metrics` shows, read afresh at each scrape."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.errors: list[str] = []

    def collect(self) -> Iterator[Metric]:
        self.errors = []
        parts: list[tuple[str, Callable[[], Iterable[Metric]]]] = [
            ("smpp", self.smpp), ("throttle", self.throttle), ("queues", self.queues),
            ("receipts", self.receipts), ("campaigns", self.campaigns),
        ]
        for name, part in parts:
            try:
                # Materialised here so a failing part shows nothing rather than half.
                yield from list(part())
            except Exception:
                log.exception("metrics: %s could not be read", name)
                db.session.rollback()
                self.errors.append(name)
        failed = GaugeMetricFamily("loa_metrics_part_failed",
                                   "1 when this part of the metrics could not be read",
                                   labels=["part"])
        for name, _ in parts:
            failed.add_metric([name], 1.0 if name in self.errors else 0.0)
        yield failed

    # -- SMPP binds (published by every smpp process) -------------------------------------

    def _accounts(self) -> list[SmppAccount]:
        return list(db.session.scalars(select(SmppAccount).order_by(SmppAccount.id)))

    def smpp(self) -> Iterator[Metric]:
        redis = get_redis(self.app)
        rows = smpp_status.read(redis)
        labels = ["account", "bind", "process"]
        state = GaugeMetricFamily("loa_smpp_bind_state", "1 for the state each bind is in",
                                  labels=[*labels, "state"])
        families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {
            "sent": CounterMetricFamily("loa_smpp_submits", "submit_sm PDUs written "
                                        "(resends included)", labels=labels),
            "binds": CounterMetricFamily("loa_smpp_binds", "Successful binds", labels=labels),
            "receipts": CounterMetricFamily("loa_smpp_receipts_received",
                                            "Delivery receipts stored", labels=labels),
            "inbound": CounterMetricFamily("loa_smpp_inbound", "MO messages stored",
                                           labels=labels),
            "in_flight": GaugeMetricFamily("loa_smpp_window_in_flight",
                                           "Submits written and not yet answered",
                                           labels=labels),
            "queued": GaugeMetricFamily("loa_smpp_session_queued",
                                        "Parts waiting for a window place", labels=labels),
            "rate": GaugeMetricFamily("loa_smpp_submit_rate",
                                      "submit_sm per second over the last 5 s", labels=labels),
        }
        responses = CounterMetricFamily(
            "loa_smpp_responses", "submit_sm outcomes: accepted, throttled (0x58/0x14, "
            "resent) and error (parts that ended failed or unknown)",
            labels=[*labels, "status"])
        for row in rows:
            key = [str(row["account"]), str(row["name"]), str(row["process"])]
            for name in BIND_STATES:
                state.add_metric([*key, name], 1.0 if row.get("state") == name else 0.0)
            for field, family in families.items():
                family.add_metric(key, float(row.get(field) or 0))
            for field, status in (("accepted", "accepted"), ("throttled", "throttled"),
                                  ("errors", "error")):
                responses.add_metric([*key, status], float(row.get(field) or 0))
        yield state
        yield from families.values()
        yield responses

        accounts = self._accounts()
        bound = GaugeMetricFamily("loa_smpp_account_bound_binds",
                                  "Bound binds per enabled account, all smpp processes",
                                  labels=["account"])
        window = GaugeMetricFamily("loa_smpp_window_size",
                                   "Agreed window per bind (submits outstanding)",
                                   labels=["account"])
        tps = GaugeMetricFamily("loa_smpp_account_tps", "Agreed submits per second",
                                labels=["account"])
        for account in accounts:
            if not account.enabled:
                continue
            n = sum(1 for r in rows if r["account"] == account.name and r["state"] == "bound")
            bound.add_metric([account.name], float(n))
            window.add_metric([account.name], float(account.window))
            tps.add_metric([account.name], float(account.tps))
        yield bound
        yield window
        yield tps
        yield GaugeMetricFamily("loa_smpp_processes", "smpp processes reporting",
                                value=float(smpp_status.processes(redis)))

    # -- the shared throttle ----------------------------------------------------------------

    def throttle(self) -> Iterator[Metric]:
        redis = get_redis(self.app)
        backlog = GaugeMetricFamily(
            "loa_smpp_throttle_wait_seconds",
            "How long a submit asking the shared throttle now would wait", labels=["account"])
        level = GaugeMetricFamily(
            "loa_smpp_throttle_factor",
            "Share of the allowance used now, less after 0x58/0x14 (1: all)", labels=["account"])
        rate = GaugeMetricFamily("loa_smpp_throttle_rate",
                                 "Submits per second the throttle allows now",
                                 labels=["account"])
        for account in self._accounts():
            if not account.enabled or account.tps <= 0:
                continue
            # The throttle the smpp processes use, asked as they would (reserving nothing).
            now = RedisThrottle(redis, keys.smpp_throttle(account.id), rate=account.tps,
                                pacing=account.pacing).peek()
            backlog.add_metric([account.name], now.wait)
            level.add_metric([account.name], now.factor)
            rate.add_metric([account.name], now.rate)
        yield backlog
        yield level
        yield rate

    # -- RQ queues, and the SMS rows waiting in the ledger ---------------------------------

    def queues(self) -> Iterator[Metric]:
        # SMS has no RQ queue: the smpp processes claim `queued` rows from the ledger. What
        # waits is counted there (over the partial index of queued rows).
        names = {a.id: a.name for a in self._accounts()}
        waiting = GaugeMetricFamily("loa_sms_queued", "SMS rows queued for each SMPP account, "
                                    "waiting to be claimed", labels=["account"])
        counted: dict[int | None, int] = {}
        for account_id, n in db.session.execute(
                select(Message.account_id, func.count()).where(
                    Message.status == MessageStatus.QUEUED, Message.channel == "sms",
                    Message.account_id.is_not(None)).group_by(Message.account_id)):
            counted[account_id] = n
        for account_id, name in names.items():
            waiting.add_metric([name], float(counted.get(account_id, 0)))
        yield waiting
        # MO stored and answered whose replies the smpp process has still to make
        # (dispatch.sms.attributor): a count that keeps growing means attribution lags.
        unreplied = GaugeMetricFamily("loa_mo_reply_pending", "MO messages stored whose reply "
                                      "is not made yet, for each SMPP account",
                                      labels=["account"])
        pending = dict(db.session.execute(
            select(InboundMessage.account_id, func.count())
            .where(InboundMessage.reply_pending)
            .group_by(InboundMessage.account_id)).all())
        for account_id, name in names.items():
            unreplied.add_metric([name], float(pending.get(account_id, 0)))
        yield unreplied
        redis = get_redis(self.app)
        jobs = GaugeMetricFamily("loa_queue_jobs", "Jobs per RQ queue and state",
                                 labels=["queue", "state"])
        registries = (("started", StartedJobRegistry), ("scheduled", ScheduledJobRegistry),
                      ("deferred", DeferredJobRegistry), ("failed", FailedJobRegistry))
        for queue in sorted(Queue.all(connection=redis), key=lambda q: q.name):
            jobs.add_metric([queue.name, "queued"], float(queue.count))
            for state, registry in registries:
                count = registry(queue.name, connection=redis).get_job_count(cleanup=False)
                jobs.add_metric([queue.name, state], float(count))
        yield jobs
        yield GaugeMetricFamily("loa_rq_workers", "RQ workers alive",
                                value=float(Worker.count(connection=redis)))

    # -- receipts by status and MO by outcome (incremental counts) ----------------------------

    def receipts(self) -> Iterator[Metric]:
        redis = get_redis(self.app)
        receipts = self._tally(redis, keys.METRICS_RECEIPTS, RawReceipt, (
            RawReceipt.account_id, RawReceipt.stat, RawReceipt.unreadable),
            lambda stat, unreadable: "unreadable" if unreadable else (stat or "none").lower())
        inbound = self._tally(redis, keys.METRICS_INBOUND, InboundMessage, (
            InboundMessage.account_id, InboundMessage.handled_as),
            lambda handled_as: handled_as or "none")
        names = {str(a.id): a.name for a in self._accounts()}
        by_stat = CounterMetricFamily("loa_receipts", "Delivery receipts received, by the stat "
                                      "they report (unreadable: kept for their octets only)",
                                      labels=["account", "stat"])
        by_outcome = CounterMetricFamily("loa_inbound_messages", "MO messages stored, by what "
                                         "was done with them", labels=["account", "handled_as"])
        unreadable = CounterMetricFamily(
            "loa_inbound_unreadable", "Receipts and MO that could not be stored as read, kept "
            "as unreadable and acknowledged", labels=["account", "kind"])
        for tally, family, kind in ((receipts, by_stat, "receipt"), (inbound, by_outcome, "mo")):
            per_account: dict[str, float] = {}
            for (account_id, label), n in sorted(tally.items()):
                name = names.get(account_id, account_id or "-")
                family.add_metric([name, label], n)
                per_account.setdefault(name, 0.0)
                if label == "unreadable":
                    per_account[name] += n
            for name, n in sorted(per_account.items()):
                unreadable.add_metric([name, kind], n)
        yield by_stat
        yield by_outcome
        yield unreadable

    def _tally(self, redis: Any, key: str, model: Any, columns: tuple[Any, ...],
               label: Callable[..., str]) -> dict[tuple[str, str], float]:
        """Rows of `model` counted by account and `label(*other columns)`: new rows only (a
        primary-key range past the last one counted), totals kept in a Redis hash."""
        lock = f"{key}:lock"
        if redis.set(lock, 1, nx=True, ex=30):
            try:
                self._count_new(redis, key, model, columns, label)
            finally:
                redis.delete(lock)
        out: dict[tuple[str, str], float] = {}
        for field, value in redis.hgetall(key).items():
            name = _text(field)
            if name != "last_id":
                account_id, _, text = name.partition("|")
                out[(account_id, text)] = float(_text(value))
        return out

    @staticmethod
    def _count_new(redis: Any, key: str, model: Any, columns: tuple[Any, ...],
                   label: Callable[..., str]) -> None:
        last = redis.hget(key, "last_id")
        newest = db.session.scalar(select(func.max(model.id))) or 0
        if last is None:
            # First scrape (or Redis lost the totals): start from now, not from all history.
            redis.hset(key, "last_id", newest)
            return
        last_id = int(last)
        if newest <= last_id:
            return
        stmt = (select(*columns, func.count())
                .where(model.id > last_id, model.id <= newest)
                .group_by(*columns))
        pipe = redis.pipeline(transaction=True)
        for account_id, *rest, n in db.session.execute(stmt):
            field = f"{account_id if account_id is not None else ''}|{label(*rest)}"
            pipe.hincrby(key, field, int(n))
        pipe.hset(key, "last_id", newest)
        pipe.execute()

    # -- campaigns --------------------------------------------------------------------------

    def campaigns(self) -> Iterator[Metric]:
        counts = GaugeMetricFamily("loa_campaigns", "Campaigns per status", labels=["status"])
        by_status = dict(db.session.execute(
            select(Campaign.status, func.count()).where(kinds.counted())
            .group_by(Campaign.status)).all())
        for status in CampaignStatus:
            counts.add_metric([status.value], float(by_status.get(status, 0)))
        yield counts

        messages = GaugeMetricFamily("loa_campaign_messages", "Ledger rows of each live "
                                     "campaign per channel and status",
                                     labels=["campaign_id", "channel", "status"])
        done = GaugeMetricFamily("loa_campaign_percent_done", "Share of rows in a final status",
                                 labels=["campaign_id"])
        rate = GaugeMetricFamily("loa_campaign_submit_rate", "Submits per second over the "
                                 "last minute", labels=["campaign_id"])
        age = GaugeMetricFamily("loa_campaign_progress_age_seconds",
                                "Age of the progress figures shown", labels=["campaign_id"])
        live = db.session.scalars(select(Campaign).where(
            Campaign.status.in_((CampaignStatus.SENDING, CampaignStatus.PAUSED)),
            kinds.counted())).all()
        redis = get_redis(self.app)
        for c in live:
            figures = _progress(redis, c)
            cid = str(c.id)
            for channel, statuses in sorted(figures.get("by_channel", {}).items()):
                for status, n in sorted(statuses.items()):
                    messages.add_metric([cid, channel, status], float(n))
            done.add_metric([cid], float(figures.get("percent_done") or 0.0))
            # None while nothing can be sent (outside the send window, paused): a rate of 0.
            rate.add_metric([cid], float(figures.get("rate_per_second") or 0.0))
            age.add_metric([cid], max(0.0, time.time() - figures.get("_computed", time.time())))
        yield messages
        yield done
        yield rate
        yield age


def _progress(redis: Any, c: Campaign) -> dict[str, Any]:
    """The figures the progress endpoint cached; recomputed only when older than 30 s."""
    cached = redis.get(keys.progress(c.id))
    if cached:
        figures: dict[str, Any] = json.loads(cached)
        if time.time() - figures.get("_computed", 0) < PROGRESS_MAX_AGE:
            return figures
    return progress_module.progress(c)


def render(app: Flask) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LoaCollector(app))
    return generate_latest(registry)


def _scrape_token_ok() -> bool:
    expected = current_app.config.get("METRICS_TOKEN")
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and \
        hmac.compare_digest(value.strip().encode(), str(expected).encode())


@require("ops.view")
def _as_admin() -> bytes:
    return render(current_app._get_current_object())  # type: ignore[attr-defined]


@bp.route("/metrics")
def metrics() -> Response:
    """Prometheus' text format, for the scrape token or an admin."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    body = render(app) if _scrape_token_ok() else _as_admin()
    return Response(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


metrics.required_action = "ops.view"  # type: ignore[attr-defined]
