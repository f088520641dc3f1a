"""Fault drills: a whole Loa stack as child processes, a campaign through it, a fault, figures.

    stack.py         the processes (Redis, stand-ins, workers, clock, smpp) and their kill/restart,
                     on the harness of scripts/harness (processes, databases, Redis, stand-ins)
    campaign.py      seeding, launching as staff would, waiting, and the figures of a run
    clean.py         the baseline: no fault
    kill_smpp.py     kill -9 of the smpp process at random moments, restarted each time
    kill_workers.py  kill -9 of RQ workers during expansion and during push batches
    claimed.py       the rows each kill left claimed (what may end `unknown`)
    faults.py        what the fault drills share: the run, the faults and their in-flight rows
    smsc_drops.py, smsc_throttles.py, redis_restart.py, postgres_restart.py,
    receipt_anomalies.py   the other faults (see faults.py); postgres_restart runs on a cluster of
                     its own (scripts/harness/private_pg.py)

Results and commands: docs/RELIABILITY.md.
"""
