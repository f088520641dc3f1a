"""Every Redis key Loa uses, in one place: the names are a contract between processes.

Web, RQ workers, the clock and smpp processes (on several hosts, of several versions during a
deploy) meet on these names, so a name changes here or nowhere. Redis holds queues, counters,
flags and caches, never the only copy of anything (DESIGN.md invariant 1). RQ's own keys
(`rq:*`) are RQ's.
"""

from __future__ import annotations

# -- campaigns and the engine ------------------------------------------------------------------

CLOCK_LOCK = "loa:clock:lock"  # one ticking clock across hosts


def campaign_stop(campaign_id: int) -> str:
    """Set while a campaign is paused or cancelled: senders check it before each batch."""
    return f"loa:campaign:{campaign_id}:stop"


def campaign_jobs(campaign_id: int) -> str:
    """The ids of a campaign's RQ jobs not yet finished."""
    return f"loa:campaign:{campaign_id}:jobs"


def expand_heartbeat(campaign_id: int) -> str:
    """Held (with a TTL the holder renews) by the expansion run of a campaign."""
    return f"loa:expand:{campaign_id}:alive"


def freeze_heartbeat(campaign_id: int) -> str:
    """Held (with a TTL the holder renews) by the run freezing a submitted campaign's audience."""
    return f"loa:freeze:{campaign_id}:alive"


def progress(campaign_id: int) -> str:
    """A campaign's cached progress figures (JSON)."""
    return f"loa:progress:{campaign_id}"


def progress_lock(campaign_id: int) -> str:
    """Held by the one process recomputing a campaign's progress."""
    return f"{progress(campaign_id)}:lock"


# -- SMS ---------------------------------------------------------------------------------------

SMPP_BIND_PREFIX = "loa:smpp:bind:"  # + <account id>:<host>:<pid>:<bind name>: a bind's status
SMPP_PROCESS_PREFIX = "loa:smpp:process:"  # + <host>:<pid>: an smpp process's heartbeat
# The pub/sub channel on which the smpp processes hear of new SMS rows to claim (a message is an
# account id, or "*" for every account); a wake-up only: idle runners also poll the ledger.
SMS_WAKE = "loa:sms:wake"


def smpp_throttle(account_id: int) -> str:
    """An account's shared throttle (gateways.smpp.RedisThrottle; its penalty at `:penalty`)."""
    return f"loa:smpp:throttle:account-{account_id}"


def smpp_failures(account_id: int) -> str:
    """Consecutive gateway failures of an account, which pause its campaigns past a limit."""
    return f"loa:smpp:{account_id}:failures"


# -- push --------------------------------------------------------------------------------------

PUSH_QUOTA_UNTIL = "loa:push:quota_until"  # the FCM project is throttled until this epoch time

# -- audiences ---------------------------------------------------------------------------------


def import_progress(import_id: int) -> str:
    return f"loa:import:{import_id}:progress"


def import_cancel(import_id: int) -> str:
    return f"loa:import:{import_id}:cancel"


RETENTION_DAY = "loa:retention:day"  # the clock enqueues the retention run once per UTC day

# -- access ------------------------------------------------------------------------------------


RATE_LIMIT_PREFIX = "loa:ratelimit:"


def rate_limit(name: str, window: int) -> str:
    """The count of one rate-limited name in one window (the limit slides over two windows)."""
    return f"{RATE_LIMIT_PREFIX}{name}:{window}"


def signin_pair(digest: str) -> str:
    """Failed sign-ins of one (username, address) pair."""
    return f"loa:signin:pair:{digest}"


# -- metrics -----------------------------------------------------------------------------------

METRICS_RECEIPTS = "loa:metrics:receipts"  # receipts counted by status, and the last id counted
METRICS_INBOUND = "loa:metrics:inbound"  # MO counted by outcome, and the last id counted

# -- webhooks ----------------------------------------------------------------------------------

# Set while a fan-out job is on its way (dispatch.hooks.events): commits in between need no other.
HOOKS_FANOUT = "loa:hooks:fanout"
