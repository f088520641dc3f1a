"""The smpp process: live SMPP links per account, their send-job workers, bind status.

- `links`: `AccountLink` (one account's sessions, throttle, outcome recorder and receipt writer)
  and the process-level registry the send jobs (`dispatch.engine.sms`) find them in;
- `recorder`: the thread that writes submit outcomes to the ledger, and the auto-pause;
- `worker`: RQ's SimpleWorker made to live in a thread, and the scheduler of SMS queues;
- `process`: `SmppProcess`, what `flask smpp run` runs;
- `status`: bind status in Redis for `flask smpp status` and readiness checks;
- `probe`: `flask smpp test`, one message on a bind of its own.

Batch SQL (IN lists as arrays, unnest inserts) is in `dispatch.sqlbatch`.
"""
