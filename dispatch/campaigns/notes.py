"""Why a campaign is the way it is, stored as a code with its values: `gateway_failures?count=5&
account=viettel-1&last=ESME_RSYSERR`, `topics_off`, `topic?topic=all&devices=12`.

The API returns these codes as they are (machines read them); the pages put them in words
(`dispatch.web.labels.note`). A pause reason typed by a person is stored as typed: it is not a
code and is shown as written.
"""

from __future__ import annotations

from dispatch.models import codes

# Why a campaign is paused.
PAUSED_BY_STAFF = "staff"
PAUSED_BY_SYSTEM = "system"
GATEWAY_FAILURES = "gateway_failures"  # count, account, last
# How its pushes go out (choose_push_mode).
TOPICS_OFF = "topics_off"
MANY_LOCALITIES = "many_localities"  # localities
PAYLOAD_TOO_LARGE = "payload_not_for_topic"  # why
NO_DEVICE = "no_device"
NOT_SUBSCRIBED = "not_subscribed"  # missing, targeted, topic
OUTSIDE_SUBSCRIBED = "outside_subscribed"  # outside, topic
JOINED_SINCE_APPROVAL = "joined_since_approval"  # devices
TOPIC_SEND = "topic"  # topic, devices
STRATEGY = "strategy_per_device"  # strategy
PERSONAL_PUSH = "personal_push"
# Why an edit voided a submission or an approval (the audit's reason of campaign.void).
VOIDED = "voided"  # what (submission | approval), status (the campaign's before the edit)
# Why a submission went back to draft: its audience could not be frozen (the error's type).
FREEZE_FAILED = "freeze_failed"  # error
# A run of the freeze failed on the database (a lost connection, a statement timeout): the clock
# runs it again, up to `attempts` runs; then back to draft (dispatch.campaigns.submission).
FREEZE_RETRY = "freeze_retry"  # error, attempt, attempts
FREEZE_GAVE_UP = "freeze_gave_up"  # error, attempts
# Why a campaign was cancelled by starting its correction (dispatch.campaigns.corrections).
CORRECTED = "corrected"  # id (the original's)

CODES = frozenset({
    PAUSED_BY_STAFF, PAUSED_BY_SYSTEM, GATEWAY_FAILURES, TOPICS_OFF, MANY_LOCALITIES,
    PAYLOAD_TOO_LARGE, NO_DEVICE, NOT_SUBSCRIBED, OUTSIDE_SUBSCRIBED, JOINED_SINCE_APPROVAL,
    TOPIC_SEND, VOIDED, STRATEGY, CORRECTED, PERSONAL_PUSH, FREEZE_FAILED, FREEZE_RETRY,
    FREEZE_GAVE_UP,
})


def note(code: str, **values: object) -> str:
    """The stored form of a note and its values (dispatch.models.codes)."""
    return codes.encode(CODES, code, **values)


def read(text: str | None) -> tuple[str, dict[str, str]] | None:
    """(code, values) of a stored note, or None for text that is not one."""
    return codes.decode(CODES, text)
