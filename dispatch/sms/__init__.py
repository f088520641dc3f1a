"""SMS through the operators' SMPP gateways: accounts and routing, sending, outcomes, receipts and
MO, the smpp process, its CLI and bind status.

- `accounts`: SMPP accounts (operator links) and the routing of recipients to them;
- `send`: each account's runner (claims its queued rows from the ledger, submits them);
- `links`: `AccountLink` (one account's sessions, throttle, outcome recorder and receipt writer)
  in this process;
- `recorder`: the thread that writes submit outcomes to the ledger, and the auto-pause;
- `writer`: the thread that stores what the SMSC delivers (receipts, MO), then answers;
- `receipts`: stored receipts matched to the ledger; `inbound`: MO storage, opt-out keywords;
- `process`: `SmppProcess`, what `flask smpp run` runs;
- `status`: bind status in Redis for `flask smpp status` and readiness checks;
- `probe`: `flask smpp test`, one message on a bind of its own; `cli`: `flask smpp …`.
"""
