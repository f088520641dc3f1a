"""The baseline drill: no fault, one campaign through the whole stack, one line of figures.

    .venv/bin/python -m scripts.drills.clean [--contacts 2000] [--devices 0] [--tps 10000]
                                             [--database sqlite|URL] [--timeout 300]

Exit status 0 when the campaign completed with no duplicate, nothing lost and nothing unknown.
"""

from __future__ import annotations

import argparse
import sys
import time

from scripts.drills import campaign
from scripts.drills.stack import Stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.drills.clean", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--devices", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tps", type=int, default=10_000)
    parser.add_argument("--database", help="sqlite, or a URL (default: a fresh PostgreSQL schema)")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)
    with Stack(workers=args.workers, fcm=args.devices > 0, database_url=args.database) as stack:
        seeded = campaign.seed(stack, contacts=args.contacts, devices=args.devices, tps=args.tps)
        stack.wait_ready()
        started = time.monotonic()
        cid = campaign.launch(stack, seeded)
        campaign.wait_completed(stack, cid, args.timeout)
        result = campaign.figures(stack, cid, seeded, time.monotonic() - started)
    ok = (result.status == "completed" and result.duplicates == 0 and result.lost == 0
          and result.unknown == 0)
    print(f"clean {result.line()} {'PASS' if ok else 'FAIL'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
