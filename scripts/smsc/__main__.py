"""Run the stand-in SMSC until interrupted: `python -m scripts.smsc --help`."""

from __future__ import annotations

import argparse
import os
import signal
import threading

from scripts.smsc.control import serve
from scripts.smsc.server import ARRIVALS, POLICING, POLICY, Behaviour, Smsc


def _outcomes(text: str) -> dict[str, float]:
    out = {}
    for item in text.split(","):
        state, _, weight = item.partition("=")
        out[state.strip().upper()] = float(weight or 1)
    return out


def _policy(text: str) -> tuple[str, dict[str, object]]:
    """ACCOUNT:tps=50,policing=interval → ("ACCOUNT", {"tps": 50.0, "policing": "interval"})."""
    account, _, items = text.partition(":")
    policy: dict[str, object] = {}
    for item in filter(None, items.split(",")):
        name, _, value = item.partition("=")
        if name not in POLICY:
            raise argparse.ArgumentTypeError(f"{name!r} is not one of {', '.join(POLICY)}")
        policy[name] = (value if name == "policing" else
                        int(value) if name == "window" else float(value))
    if not account or not policy:
        raise argparse.ArgumentTypeError("write ACCOUNT:name=value,...")
    return account, policy


def realtime() -> None:
    """SCHED_FIFO for this thread and those it starts (the loop, the control port), else the
    highest niceness allowed; says which on stdout."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        print("SMSC stand-in: real-time priority (SCHED_FIFO 1)", flush=True)
    except (OSError, AttributeError):
        try:
            os.nice(-10)
            print("SMSC stand-in: nice -10", flush=True)
        except OSError:
            print("SMSC stand-in: normal priority (no right to raise it)", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.smsc",
                                     description="Local SMSC stand-in (SMPP 3.4).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2775)
    parser.add_argument("--control-port", type=int, default=2776, help="HTTP control; 0: none")
    parser.add_argument("--account", action="append", default=[], metavar="SYSTEM_ID:PASSWORD",
                        help="accepted credentials (repeat); default loa:secret")
    parser.add_argument("--id-format", default="hex", choices=("hex", "dec", "uuid"))
    parser.add_argument("--receipt-id-format", choices=("hex", "dec", "uuid"))
    parser.add_argument("--receipt-delay", type=float, default=1.0)
    parser.add_argument("--outcomes", type=_outcomes, default={"DELIVRD": 1.0},
                        help="receipt states and weights, e.g. DELIVRD=0.95,UNDELIV=0.05")
    parser.add_argument("--no-receipts", action="store_true")
    parser.add_argument("--no-receipt-tlvs", action="store_true")
    parser.add_argument("--tps", type=float, help="answer 0x58 above this per account")
    parser.add_argument("--policing", default="second", choices=POLICING,
                        help="how --tps is policed: per wall-clock second, over a sliding "
                        "second, or a minimum interval 1/tps per account or per bind")
    parser.add_argument("--tolerance", type=float, default=0.0,
                        help="interval policing: accept a submit this much early (seconds)")
    parser.add_argument("--arrival", default="kernel", choices=ARRIVALS,
                        help="when a submit arrived, for policing: the kernel's receive stamp "
                        "(an SMSC with a reader of its own; read time where there is none) or "
                        "when this process got to read it (an SMSC that stamps late)")
    parser.add_argument("--policy", type=_policy, action="append", default=[],
                        metavar="ACCOUNT:NAME=VALUE,...",
                        help=f"police one account apart (repeat); names: {', '.join(POLICY)}")
    parser.add_argument("--throttle-ratio", type=float, default=0.0,
                        help="answer 0x58 to this share of submits, at random (0..1)")
    parser.add_argument("--window", type=int, help="answer 0x14 above this many unanswered")
    parser.add_argument("--resp-delay", type=float, default=0.0)
    parser.add_argument("--deliver-window", type=int,
                        help="unanswered deliver_sm per bind; more wait their turn (default: "
                        "all at once)")
    parser.add_argument("--receipt-before-resp", action="store_true")
    parser.add_argument("--duplicate-receipts", type=float, default=0.0,
                        help="deliver this share of receipts twice, at random (0..1)")
    parser.add_argument("--stray-receipts", type=float, default=0.0,
                        help="after this share of accepted submits, a receipt for an id never "
                        "issued (0..1)")
    parser.add_argument("--drop-every", type=float, help="cut every connection this often (s)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--no-record", action="store_true",
                        help="keep counters only, not every submit_sm (long benchmarks); "
                        "repeats are still counted")
    parser.add_argument("--realtime", action="store_true",
                        help="run at real-time priority (SCHED_FIFO), as an SMSC on a host of "
                        "its own: on a shared machine its loop then reads each submit as it "
                        "comes, so its clock measures Loa's spacing, not its own scheduling")
    args = parser.parse_args(argv)
    if args.realtime:
        realtime()

    accounts = dict(a.split(":", 1) for a in args.account) or {"loa": "secret"}
    behaviour = Behaviour(
        id_format=args.id_format, receipt_id_format=args.receipt_id_format,
        receipts=not args.no_receipts, receipt_delay=args.receipt_delay, outcomes=args.outcomes,
        receipt_tlvs=not args.no_receipt_tlvs, tps=args.tps, window=args.window,
        throttle_ratio=args.throttle_ratio, resp_delay=args.resp_delay,
        deliver_window=args.deliver_window,
        receipt_before_resp=args.receipt_before_resp,
        duplicate_receipts=args.duplicate_receipts, stray_receipts=args.stray_receipts,
        drop_every=args.drop_every, seed=args.seed, policing=args.policing,
        tolerance=args.tolerance, arrival=args.arrival, per_account=dict(args.policy),
        record=not args.no_record)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    smsc = Smsc(accounts, behaviour, host=args.host, port=args.port).start()
    print(f"SMSC stand-in on {args.host}:{smsc.port} (accounts: {', '.join(accounts)})",
          flush=True)
    control = None
    if args.control_port:
        control = serve(smsc, args.host, args.control_port)
        print(f"control on http://{args.host}:{args.control_port}/stats", flush=True)
    stop.wait()
    if control is not None:
        control.shutdown()
    smsc.stop()


if __name__ == "__main__":
    main()
