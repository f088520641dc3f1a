"""Push settings in one place: the per-process FCM gateway, and a campaign's push content.

Settings (dispatch.config): FCM_CREDENTIALS (LOA_FCM_CREDENTIALS, else
GOOGLE_APPLICATION_CREDENTIALS), FCM_PROJECT_ID (LOA_FCM_PROJECT_ID; default: the JSON's
project), FCM_ENDPOINT (LOA_FCM_ENDPOINT; only the demo, the tests and sites behind a relay set
it — everyone else sends to Google), FCM_SENDER (LOA_FCM_SENDER: "direct", the default,
"threads", "send_each" or "http2", see gateways.fcm.gateway.SENDERS) and PUSH_TOPIC_SENDS
(LOA_PUSH_TOPICS).

A `PushGateway` owns an HTTP connection pool and an OAuth access token. It is built lazily in
the process that sends, never before a fork (a pool shared by two processes mixes their
requests on one socket), and kept for the life of that process, so a worker that runs many
batches fetches one token and keeps its connections warm.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from dispatch.campaigns import strategy
from dispatch.campaigns.placeholders import as_written
from dispatch.engine.flags import valid_until
from dispatch.models import Campaign
from gateways.fcm import MAX_BATCH, SENDERS, PushContent, PushGateway

_lock = threading.Lock()
_cached: tuple[int, PushSettings, PushGateway] | None = None


class PushNotConfigured(RuntimeError):
    """No usable service account: the message says what to set."""


@dataclass(frozen=True)
class PushSettings:
    credentials: str
    project_id: str | None
    endpoint: str | None
    sender: str = "direct"


def settings(app: Flask | None = None) -> PushSettings:
    """Read the push settings; raise PushNotConfigured when no credentials file is usable."""
    config = (app or current_app).config
    path = config.get("FCM_CREDENTIALS")
    if not path:
        raise PushNotConfigured(
            "no FCM service account configured: set LOA_FCM_CREDENTIALS (or "
            "GOOGLE_APPLICATION_CREDENTIALS) to the Firebase project's service-account JSON"
        )
    if not Path(path).is_file():
        raise PushNotConfigured(f"FCM service-account file not found: {path}")
    sender = config.get("FCM_SENDER") or "direct"
    if sender not in SENDERS:
        raise PushNotConfigured(f"FCM_SENDER {sender!r} unknown: one of {', '.join(SENDERS)}")
    return PushSettings(str(path), config.get("FCM_PROJECT_ID"), config.get("FCM_ENDPOINT"),
                        sender)


def build_gateway(app: Flask | None = None, *, timeout: float = 30.0) -> PushGateway:
    """Build a new gateway from the settings (the caller closes it)."""
    return _build(settings(app), timeout)


def _build(s: PushSettings, timeout: float = 30.0) -> PushGateway:
    try:
        # One pooled connection per sending thread (the "threads" sender keeps its own number;
        # send_each starts one per message): with fewer, each batch opens (TLS with Google) and
        # throws away the connections beyond the pool. For "http2" it is streams in flight;
        # "direct" keeps one connection per sending thread of its own (topic sends use the pool).
        return PushGateway(s.credentials, project_id=s.project_id, endpoint=s.endpoint,
                           timeout=timeout, pool_size=MAX_BATCH, sender=s.sender)
    except (ValueError, OSError) as exc:  # unreadable JSON, not a service account, no project
        raise PushNotConfigured(f"FCM service account {s.credentials} unusable: {exc}") from exc


def gateway(app: Flask | None = None) -> PushGateway:
    """Return this process's gateway, building it on first use (and after a fork or a change)."""
    global _cached
    wanted = settings(app)
    with _lock:
        if _cached is not None:
            pid, known, gw = _cached
            if pid == os.getpid() and known == wanted:
                return gw
            if pid == os.getpid():
                gw.close()  # settings changed (tests); a forked child just drops the parent's
            _cached = None
        gw = _build(wanted)
        _cached = (os.getpid(), wanted, gw)
        return gw


def campaign_content(c: Campaign) -> PushContent:
    """Return the notification the campaign sends, as the FCM gateway takes it.

    Urgent campaigns wake the device (Android high priority, APNs 10). The validity becomes the
    Android TTL and APNs expiration. The collapse key is the campaign's, so should a device ever
    be sent the campaign twice (an explicit retry of `unknown` rows), a phone that has not yet
    shown the first copy shows only one.
    """
    return PushContent(
        title=as_written(c.push_title) if c.push_title else None,
        body=as_written(c.push_body) if c.push_body else None,
        image=c.push_image or None,
        link=c.push_link or None,
        data={**(c.push_data or {}), **strategy.push_data(c)},
        priority="high" if c.priority == "urgent" else "normal",
        expires_at=valid_until(c),
        collapse_key=None if c.id is None else f"loa-campaign-{c.id}",
    )
