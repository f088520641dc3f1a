"""The SDK's async send path (`messaging.send_each_async`, httpx over HTTP/2) from sync callers.

`send_each` spends a thread and a `requests` call per message: 500 threads started per batch,
500 connections kept. `send_each_async` multiplexes the batch as streams on a few HTTP/2
connections from one event loop; this module gives it a loop that lives as long as the gateway
(one thread, `loa-fcm-http2`), so its connections stay open from batch to batch, and a client
configured like the sync path:

- no retries of answers and no sleeps (the SDK's transport retries 500/503 four times with
  backoff); only a refused connection is tried once more, as nothing was sent;
- no auth flow: google-auth's, through the SDK, refreshes and resends on every 401 (FCM also says
  401 for THIRD_PARTY_AUTH_ERROR). The gateway fetches the token before each batch and the
  client's headers carry it;
- httpx's INFO line per request silenced (its logger set to WARNING);
- the proxy and CA bundle read from the environment once, as `_read_environment_once` does;
- to an `http://` endpoint with no proxy (the stand-in, a relay on loopback) it speaks HTTP/2
  with prior knowledge (h2c); to `https://` it offers h2 by ALPN, as to Google.

The SDK's `_MessagingService._async_client._async_client` (the httpx client inside its
HttpxAsyncClient) is replaced; `install` checks it is there so an upgrade that moves it fails
at start.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import firebase_admin
import httpx
import requests.utils
from firebase_admin import _http_client, messaging

T = TypeVar("T")

STREAMS_PER_CONNECTION = 100  # what Google's front ends announce; httpcore waits beyond it


class Http2Sender:
    """One event loop thread and one httpx client for one app's messaging service."""

    def __init__(self, app: firebase_admin.App, url: str, *, timeout: float,
                 connections: int) -> None:
        service = messaging._get_messaging_service(app)
        holder = getattr(service, "_async_client", None)
        if not isinstance(getattr(holder, "_async_client", None), httpx.AsyncClient):
            raise RuntimeError(
                f"firebase-admin {firebase_admin.__version__}: messaging._MessagingService no "
                "longer has _async_client._async_client (an httpx.AsyncClient); update "
                "gateways/fcm/http2.py for this version"
            )
        # httpx logs every request at INFO: 500 log lines per batch, more CPU than the send.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="loa-fcm-http2",
                                        daemon=True)
        self._thread.start()
        proxy = environ_proxy(url)
        prior_knowledge = url.startswith("http://") and proxy is None
        transport = httpx.AsyncHTTPTransport(
            http1=not prior_knowledge, http2=True, retries=1, proxy=proxy,
            verify=environ_ca(),
            limits=httpx.Limits(max_connections=connections,
                                max_keepalive_connections=connections),
        )
        self.client = httpx.AsyncClient(
            http1=not prior_knowledge, http2=True, timeout=timeout, transport=transport,
            headers=dict(_http_client.METRICS_HEADERS), trust_env=False,
        )
        old = holder._async_client  # type: ignore[union-attr]
        holder._async_client = self.client  # type: ignore[union-attr]
        self._run(old.aclose())  # it never connected; close its pool all the same

    def send_each(self, messages: list[messaging.Message], auth: dict[str, str],
                  dry_run: bool) -> messaging.BatchResponse:
        """send_each_async on the loop, with `auth` (the Authorization header) on the client."""
        async def send() -> messaging.BatchResponse:
            self.client.headers.update(auth)
            return await messaging.send_each_async(messages, dry_run=dry_run, app=self._app)
        return self._run(send())

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._run(self.client.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()


def environ_proxy(url: str) -> str | None:
    """The proxy requests would use for `url` (HTTPS_PROXY/HTTP_PROXY/ALL_PROXY, NO_PROXY)."""
    proxies = requests.utils.get_environ_proxies(url)
    scheme = url.split(":", 1)[0]
    return proxies.get(scheme) or proxies.get("all") or None


def environ_ca() -> ssl.SSLContext | bool:
    """The CA bundle requests would use (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE), else the default."""
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if not bundle:
        return True
    if os.path.isdir(bundle):
        return ssl.create_default_context(capath=bundle)
    return ssl.create_default_context(cafile=bundle)


def connections_for(pool_size: int) -> int:
    """HTTP/2 connections for a pool sized in concurrent requests (one per 100 streams)."""
    return max(1, -(-pool_size // STREAMS_PER_CONNECTION))


__all__: Sequence[str] = ("Http2Sender", "connections_for", "environ_ca", "environ_proxy")
