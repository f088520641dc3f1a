"""An SMSC 10-50 ms away: the windows and binds carry the rate, measured at the stand-in.

    .venv/bin/python -m scripts.bench.latency --resp-delay 0.03 --binds 2 --window 20 --seconds 300

The stand-in answers every submit `--resp-delay` late (pipelined: answers do not wait for one
another). At most binds × window submits are unanswered, so the rate cannot pass
binds × window ÷ round trip (2 × 20 ÷ 0.03 s ≈ 1,333/s) whatever the TPS (`--tps`, default far
above it). Reported: the accepted rate against that bound and against the TPS, the round trip
the binds measured, and what `dispatch.sms.pace` names as the limit (it should say `window`).
The run itself is `scripts.bench.allowance.run`.
"""

from __future__ import annotations

import argparse
import json
import os

from scripts.bench.allowance import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resp-delay", type=float, default=0.03)
    parser.add_argument("--binds", type=int, default=2)
    parser.add_argument("--window", type=int, default=20)
    parser.add_argument("--tps", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    figures = run(tps=args.tps, policing="second", seconds=args.seconds, binds=args.binds,
                  window=args.window, resp_delay=args.resp_delay,
                  redis_url=os.environ.get("REDIS_URL"))
    bound = args.binds * args.window / args.resp_delay
    target = min(bound, args.tps)
    figures["window_bound"] = round(bound, 1)
    figures["share_of_bound"] = round(figures["rate"] / target, 3)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
