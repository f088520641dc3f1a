"""What the benchmarks, the drills and the tests share to run Loa on this machine.

    procs.py         Proc (a child in a process group of its own: start, restart, stop, kill,
                     its own peak RSS and CPU), run_child (one run to its end), python_module,
                     loa_env (the environment of a Loa process)
    waiting.py       wait_for: poll until something another thread or process does is true;
                     wait_draining: until work another process does is done, while it moves
    net.py           free_port, listening, http_json (the stand-ins' control ports)
    machine.py       the machine and the code a figure was measured on
    databases.py     PostgreSQL: a schema (or a database) of one run's own, dropped at its end;
                     BackendCpu (the CPU of a run's backends, sampled while they come and go)
    redis_server.py  the embedded redis-server without persistence, restartable empty
    standins.py      the SMSC and FCM stand-ins (scripts/smsc, scripts/fcm) as child processes
    lifetime.py      Started: start and stop whole, as a `with` block
    rates.py         busiest_second: the most events in a sliding one-second window
    private_pg.py    a PostgreSQL cluster of one run's own, to restart (the postgres_restart drill)
    expansion.py     the expansion benchmarks' stages: tables, a launched campaign, the expand job

Benchmarks (scripts/bench) and drills (scripts/drills) are run with `python -m`, from the
repository's root, so `scripts.harness` imports without any path patching.
"""

from scripts.harness.databases import (
    DEFAULT_PG,
    BackendCpu,
    PgSchema,
    analyze,
    fresh_pg_database,
    pg_server,
)
from scripts.harness.machine import WORK, code_version, machine
from scripts.harness.net import free_port, http_json, listening
from scripts.harness.procs import (
    ROOT,
    Proc,
    live_cpu_seconds,
    loa_env,
    proc_cpu_seconds,
    proc_peak_mb,
    python_module,
    run_child,
)
from scripts.harness.rates import busiest_second
from scripts.harness.redis_server import Redis
from scripts.harness.waiting import wait_draining, wait_for

__all__ = ["DEFAULT_PG", "ROOT", "WORK", "BackendCpu", "PgSchema", "Proc", "Redis", "analyze",
           "busiest_second", "code_version", "free_port", "fresh_pg_database", "http_json",
           "listening", "live_cpu_seconds", "loa_env", "machine", "pg_server", "proc_cpu_seconds",
           "proc_peak_mb", "python_module", "run_child", "wait_draining", "wait_for"]
