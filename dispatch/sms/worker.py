"""RQ inside the smpp process: a non-forking worker per account, and the scheduler of SMS queues.

RQ's `SimpleWorker` runs jobs in its own thread, so the account's sessions (and their binds)
outlive each job. Made to live in a thread rather than the main one: no signal handlers (the
process handles SIGTERM), no SIGALRM job timeout (a send job bounds itself), a one-second dequeue
so a stop is noticed promptly, and its own Redis client (RQ sets a socket timeout on it).

Jobs delayed with `enqueue_in` wait in each queue's ScheduledJobRegistry; `QueueScheduler`
moves them to their queue when due, for the SMS queues only the smpp process serves (RQ's own
scheduler forks a process per worker, which a process full of sockets and threads should not do).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue
from rq.exceptions import DequeueTimeout
from rq.scheduler import RQScheduler
from rq.timeouts import BaseDeathPenalty
from rq.worker import WorkerStatus

from dispatch.jobs import Worker

log = logging.getLogger(__name__)


class NoDeathPenalty(BaseDeathPenalty):
    """No job timeout: SIGALRM only works in the main thread; send jobs end by themselves."""

    def setup_death_penalty(self) -> None:
        pass

    def cancel_death_penalty(self) -> None:
        pass


class ThreadWorker(Worker):
    """Loa's worker made to run in a thread and stop when `stop()` is called."""

    death_penalty_class = NoDeathPenalty

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stop_event = threading.Event()

    @property
    def dequeue_timeout(self) -> int:
        return 1

    def _install_signal_handlers(self) -> None:
        pass  # signals belong to the main thread (SmppProcess)

    def stop(self) -> None:
        """Finish the current job, then return from `work()`."""
        self._stop_event.set()
        self._stop_requested = True

    def dequeue_job_and_maintain_ttl(self, timeout: int | None,
                                     max_idle_time: int | None = None) -> Any:
        """The next job, or None once stopped; waits out a Redis outage without missing a stop
        (RQ's own loop retries a lost connection for as long as it takes)."""
        self.set_state(WorkerStatus.IDLE)
        while not self._stop_event.is_set():
            try:
                self.heartbeat()
                if self.should_run_maintenance_tasks:
                    self.run_maintenance_tasks()
                result = self.queue_class.dequeue_any(
                    self._ordered_queues, 1, connection=self.connection,
                    job_class=self.job_class, serializer=self.serializer,
                    death_penalty_class=self.death_penalty_class)
            except DequeueTimeout:
                continue
            except (RedisConnectionError, RedisTimeoutError) as exc:
                log.warning("worker %s: Redis unavailable (%s); trying again", self.name, exc)
                self._stop_event.wait(1.0)
                continue
            if result is not None:
                self.reorder_queues(reference_queue=result[1])
                return result
        return None


class QueueScheduler:
    """Moves due delayed jobs of the given queues to them (one scheduler per queue in Redis)."""

    RELOCK = 15.0  # s between tries for the locks another process holds (it may have died)

    def __init__(self, connection: Redis, queue_names: list[str]) -> None:
        self.queue_names = sorted(queue_names)
        self._scheduler = RQScheduler(self.queue_names, connection=connection,
                                      logging_level=logging.WARNING) if queue_names else None
        self._tried = 0.0

    def tick(self) -> None:
        scheduler = self._scheduler
        if scheduler is None:
            return
        now = time.monotonic()
        if (scheduler.acquired_locks != set(self.queue_names)
                and (not self._tried or now - self._tried >= self.RELOCK)):
            self._tried = now
            scheduler.acquire_locks()
        if scheduler.acquired_locks:
            scheduler.heartbeat()
            scheduler.enqueue_scheduled_jobs()

    def close(self) -> None:
        if self._scheduler is not None and self._scheduler.acquired_locks:
            self._scheduler.release_locks()


def queues(connection: Redis, names: list[str]) -> list[Queue]:
    return [Queue(name, connection=connection) for name in names]
