"""SMS through the operators' SMPP gateways: accounts and routing, sending, outcomes, receipts and
MO, the smpp process, its CLI and bind status.

- `accounts`: SMPP accounts (operator links) and the routing of recipients to them;
- `send`: the send batch (claim ledger rows, submit them on the account's link);
- `links`: `AccountLink` (one account's sessions, throttle, outcome recorder and receipt writer)
  and the process-level registry the send batches find them in;
- `recorder`: the thread that writes submit outcomes to the ledger, and the auto-pause;
- `writer`: the thread that stores what the SMSC delivers (receipts, MO), then answers;
- `receipts`: stored receipts matched to the ledger; `inbound`: MO storage, opt-out keywords;
- `worker`: RQ's SimpleWorker made to live in a thread, and the scheduler of SMS queues;
- `process`: `SmppProcess`, what `flask smpp run` runs;
- `status`: bind status in Redis for `flask smpp status` and readiness checks;
- `probe`: `flask smpp test`, one message on a bind of its own; `cli`: `flask smpp …`.
"""
