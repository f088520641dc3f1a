"""Forget the push gateway a test process caches (dispatch.push.config.gateway).

The process keeps one gateway per set of settings; a test that changes the FCM stand-in under the
same settings (its tokens revoked, a new stand-in on a new port) drops it so the next send builds
a new one. Production has no use for this: new settings build a new gateway by themselves.
"""

from __future__ import annotations

import os

from dispatch.push import config


def forget_push_gateway() -> None:
    with config._lock:
        cached = config._cached
        if cached is not None and cached[0] == os.getpid():
            cached[2].close()
        config._cached = None
