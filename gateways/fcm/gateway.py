"""Send pushes through the official firebase-admin SDK and say what became of each one.

One `PushGateway` = one named firebase_admin App (never the default app), so several
configurations can live in one process (tests, a relay next to the real endpoint). Build it
in the process that uses it: its HTTP connection pool must not be inherited across a fork.

Three things are set on the SDK's internals, all in `_configure_service`, because firebase-admin
7.x has no public option for them; each is checked so an SDK upgrade that moves them fails
loudly at start instead of silently sending to Google or sleeping in a worker:
- the endpoint override (`_MessagingService._fcm_url` on this app's service instance);
- the HTTP adapter of the service's session: no status retries, no Retry-After sleeps;
- the adapter's connection pool size;
- google-auth's refresh-and-resend on 401, turned off (the gateway fetches the token itself);
- the session's environment settings (proxy, CA bundle), read once here, not on every request.
The "direct" sender also uses `_MessagingService.encode_message`, `_fcm_headers` and
`_handle_fcm_error` (checked by `direct.check_sdk`).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar

import firebase_admin
import httpx
import requests
import requests.adapters
import requests.structures
import requests.utils
import urllib3.exceptions
from firebase_admin import _http_client, credentials, exceptions, messaging
from google.auth import exceptions as auth_exceptions
from google.auth.transport import requests as google_requests
from urllib3.util.retry import Retry

from gateways.errors import AuthFailed, GatewayError, Permanent, Retryable
from gateways.fcm import direct
from gateways.fcm.http2 import Http2Sender, connections_for
from gateways.fcm.payload import (
    PushContent,
    PushMessage,
    build_message,
    check_payload,
    remaining_ttl,
    shared_fields,
)
from gateways.outcome import EXPIRED_CODE, outcome_of
from gateways.outcome import Fate as PushStatus
from gateways.outcome import Outcome as PushOutcome
from gateways.results import SendResult

MAX_BATCH = 500  # send_each's own limit
# How send_batch sends (PushGateway's `sender`), measured in docs/BENCHMARKS.md under "push":
# "threads": messaging.send per message from a pool of `threads` threads kept for the life of
#   the gateway (the cheapest of the SDK's own paths);
# "send_each": messaging.send_each, which starts one thread per message on every call;
# "http2": messaging.send_each_async, httpx over HTTP/2 (gateways/fcm/http2.py);
# "direct" (the default: end to end, an eighth of the workers' CPU per message of "threads"
#   and four times its rate): the SDK's credential, message encoding and error parsing, the
#   requests written by `threads` threads of its own on connections they keep
#   (gateways/fcm/direct.py).
SENDERS = ("threads", "send_each", "http2", "direct")
DEFAULT_THREADS = 64  # ≈ 2,000 msg/s at FCM's ~30 ms round trip from Vietnam
FCM_ENDPOINT = "https://fcm.googleapis.com"
SEND_PATH = "/v1/projects/{project}/messages:send"
DEFAULT_TIMEOUT = 30.0  # seconds per HTTP request; the SDK's default is 120
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"

# The SDK mounts an adapter retrying 500/503 four times with backoff (≈7 s asleep) and, through
# urllib3's default, sleeping on a 429's Retry-After: a worker would hold a batch of 500 threads
# asleep while the queue waits. Instead every answer comes back at once and the dispatch side
# reschedules the batch (after Retry-After). Only a refused connection is retried, once and
# immediately: nothing was sent. Read errors are not retried: the request may have reached FCM,
# and a second send would notify the phone twice; such a message comes back UNKNOWN.
NO_SLEEP_RETRY = Retry(
    total=1, connect=1, read=False, status=0, other=False, redirect=0,
    status_forcelist=None, respect_retry_after_header=False, raise_on_status=False,
    backoff_factor=0, allowed_methods=None,
)

_app_numbers = itertools.count(1)
T = TypeVar("T")


class PushAuthFailed(AuthFailed):
    """The service account was refused; `outcomes` still holds every message's fate."""

    def __init__(self, reason: str, *, code: str | None, outcomes: Sequence[PushOutcome]) -> None:
        super().__init__(reason, code=code)
        self.outcomes = tuple(outcomes)


class _TokenRequest(google_requests.Request):
    """google-auth's transport with our timeout instead of its 120 s default.

    Its session reads the proxy settings from the environment on each call (requests' default),
    unlike the sending session (`_read_environment_once`): it posts about once an hour.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__(requests.Session())
        self._timeout = timeout

    def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None,
                 timeout: float | None = None, **kwargs: Any) -> Any:
        return super().__call__(url, method=method, body=body, headers=headers,
                                timeout=timeout or self._timeout, **kwargs)


class PushGateway:
    """Per-device batches and topic sends to FCM with one service account."""

    def __init__(
        self,
        credentials_path: str | os.PathLike[str],
        *,
        project_id: str | None = None,
        endpoint: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        pool_size: int = 100,
        sender: str = "direct",
        threads: int = DEFAULT_THREADS,
    ) -> None:
        if sender not in SENDERS:
            raise ValueError(f"unknown FCM sender {sender!r}: one of {', '.join(SENDERS)}")
        cert = credentials.Certificate(str(Path(credentials_path)))
        project = project_id or cert.project_id
        if not project:
            raise ValueError("no FCM project id: set it or use a service-account JSON that has one")
        self.project_id: str = project
        self._app = firebase_admin.initialize_app(
            cert,
            {"projectId": project, "httpTimeout": timeout},
            name=f"loa-fcm-{os.getpid()}-{next(_app_numbers)}",
        )
        self._credential = cert.get_credential()
        self._token_request = _TokenRequest(timeout)
        self._token_lock = threading.Lock()
        self.sender = sender
        # Topic sends, one request each, always go through messaging.send.
        self._http2: Http2Sender | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._direct: direct.DirectSender | None = None
        try:
            self._service = messaging._get_messaging_service(self._app)
            self.url = _configure_service(
                self._service, project, endpoint,
                max(pool_size, threads) if sender == "threads" else pool_size,
            )
            if sender == "direct":
                direct.check_sdk(self._service)
                self._direct = direct.DirectSender(
                    self.url, timeout=timeout, threads=threads,
                    headers={**self._service._fcm_headers, **_http_client.METRICS_HEADERS})
            elif sender == "http2":
                self._http2 = Http2Sender(self._app, self.url, timeout=timeout,
                                          connections=connections_for(pool_size))
            elif sender == "threads":
                self._threads = ThreadPoolExecutor(max_workers=threads,
                                                   thread_name_prefix="loa-fcm")
        except BaseException:
            firebase_admin.delete_app(self._app)
            raise

    def send_batch(self, messages: Sequence[PushMessage], *, dry_run: bool = False
                   ) -> list[PushOutcome]:
        """Send up to 500 per-device pushes; return one outcome per message, in order.

        Raises PushAuthFailed (carrying the same outcomes) when the service account is refused,
        and ValueError for more than 500 messages. Nothing else: every other failure is in the
        outcome of the message it concerns.
        """
        if len(messages) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} messages per batch, got {len(messages)}")
        now = datetime.now(UTC)
        outcomes: list[PushOutcome | None] = [None] * len(messages)
        pending: list[tuple[int, dict[str, Any]]] = []  # (index, its content's message parts)
        # By id(content): each content is checked, and its message parts built, once per batch.
        problems: dict[int, GatewayError | None] = {}
        parts: dict[int, dict[str, Any]] = {}
        for i, msg in enumerate(messages):
            problem = problems.get(id(msg.content), _missing)
            if problem is _missing:
                problem = problems[id(msg.content)] = _content_problem(msg.content, now)
            if problem is None and not msg.token:
                problem = Permanent("empty registration token", code="INVALID_ARGUMENT")
            if isinstance(problem, GatewayError):
                outcomes[i] = outcome_of(msg.ref, problem)
            else:
                shared = parts.get(id(msg.content))
                if shared is None:
                    shared = parts[id(msg.content)] = shared_fields(msg.content, now)
                pending.append((i, shared))
        if pending:
            self._send_pending(messages, pending, outcomes, dry_run)
        final = [outcome for outcome in outcomes if outcome is not None]
        refused = next((o for o in final if o.status is PushStatus.AUTH), None)
        if refused is not None:
            self._forget_token()
            raise PushAuthFailed(refused.reason, code=refused.code, outcomes=final)
        return final

    def send_one(self, token: str, content: PushContent, *, ref: str = "",
                 dry_run: bool = False) -> PushOutcome:
        """Send one per-device push (the operator's link check); same rules as send_batch."""
        return self.send_batch([PushMessage(ref, token, content)], dry_run=dry_run)[0]

    def send_topic(self, content: PushContent, *, topic: str | None = None,
                   condition: str | None = None, ref: str = "", dry_run: bool = False
                   ) -> SendResult:
        """Send one message to a topic or a condition; one request, whatever the audience size.

        Returns the FCM message name; raises PayloadTooLarge/PayloadInvalid/Permanent, Retryable
        (with retry_after), Unknowable or AuthFailed.
        """
        check_payload(content, topic=True)
        now = datetime.now(UTC)
        ttl = remaining_ttl(content, now)
        if ttl is not None and ttl.total_seconds() <= 0:
            raise Permanent("validity ended before sending", code=EXPIRED_CODE)
        try:
            message = build_message(content, topic=topic, condition=condition, now=now)
            messaging._MessagingService.encode_message(message)  # topic/condition syntax
        except ValueError as exc:
            raise Permanent(str(exc), code="INVALID_ARGUMENT") from exc
        token_problem = self._ensure_token()
        if token_problem is not None:
            raise token_problem
        try:
            name = messaging.send(message, dry_run=dry_run, app=self._app)
        except exceptions.FirebaseError as exc:
            error = _outcome(ref, exc).error()
            assert error is not None
            if isinstance(error, AuthFailed):
                self._forget_token()
            raise error from exc
        return SendResult(ref=ref, remote_ids=(name,))

    def close(self) -> None:
        """Release the App and its connections."""
        if self._http2 is not None:
            self._http2.close()
        if self._threads is not None:
            self._threads.shutdown()
        if self._direct is not None:
            self._direct.close()
        firebase_admin.delete_app(self._app)
        self._token_request.session.close()

    def __enter__(self) -> PushGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_token(self) -> GatewayError | None:
        """Fetch an access token before sending, so a refused key fails the batch up front.

        Without this, each of send_each's threads would ask the token endpoint itself, and a
        refusal would surface as one UnknownError for the whole batch, hiding which were sent.
        """
        if self._credential.valid:
            return None
        with self._token_lock:
            if self._credential.valid:
                return None
            try:
                self._credential.refresh(self._token_request)
            except auth_exceptions.RefreshError as exc:
                if exc.retryable:
                    return Retryable(f"token endpoint failed: {exc}", code="UNAVAILABLE")
                return AuthFailed(f"service account refused by the token endpoint: {exc}",
                                  code="AUTH_REFUSED")
            except auth_exceptions.TransportError as exc:
                return Retryable(f"token endpoint unreachable: {exc}", code="UNAVAILABLE")
        return None

    def _forget_token(self) -> None:
        """Drop a token FCM refused, so the next send asks the token endpoint again."""
        with self._token_lock:
            self._credential.token = None

    def _send_pending(self, messages: Sequence[PushMessage],
                      pending: list[tuple[int, dict[str, Any]]],
                      outcomes: list[PushOutcome | None], dry_run: bool) -> None:
        token_problem = self._ensure_token()
        if token_problem is not None:
            status = PushStatus.AUTH if isinstance(token_problem, AuthFailed) else PushStatus.RETRY
            for i, _ in pending:
                outcomes[i] = PushOutcome(messages[i].ref, status, code=token_problem.code,
                                          reason=token_problem.reason)
            return
        if self._direct is not None:
            self._send_direct(self._direct, messages, pending, outcomes, dry_run)
            return
        # What the SDK's encoder refuses is refused here, once per content, as the direct
        # sender does: inside messaging.send it would raise a ValueError taken for a failure
        # after sending (UNKNOWN), and inside send_each it would fail the whole batch.
        checked: dict[int, Permanent | None] = {}
        going: list[int] = []
        built: list[messaging.Message] = []
        for i, shared in pending:
            msg = messages[i]
            if id(shared) not in checked:
                encoded = _encoded(messaging._MessagingService.encode_message, msg.content,
                                   shared)
                checked[id(shared)] = encoded if isinstance(encoded, Permanent) else None
            refusal = checked[id(shared)] or _token_refusal(msg.token)
            if refusal is not None:
                outcomes[i] = outcome_of(msg.ref, refusal)
                continue
            going.append(i)
            built.append(build_message(msg.content, token=msg.token, parts=shared))
        if not going:
            return
        if self._threads is not None:
            sent = self._threads.map(self._send_one_message, built, [dry_run] * len(going))
            for i, (name, error) in zip(going, sent, strict=True):
                ref = messages[i].ref
                outcomes[i] = (PushOutcome(ref, PushStatus.SENT, message_name=name)
                               if error is None else _outcome_of_error(ref, error))
            return
        try:
            if self._http2 is not None:
                auth: dict[str, str] = {}
                self._credential.apply(auth)  # the token _ensure_token just made sure of
                batch = self._http2.send_each(built, auth, dry_run)
            else:
                batch = messaging.send_each(built, dry_run=dry_run, app=self._app)
        except exceptions.FirebaseError as exc:
            # A thread (or task) failed outside the HTTP library's exceptions (the token was
            # refused mid-batch): send_each then drops every result, so none of these can be
            # said unsent.
            refused = (isinstance(exc.cause, auth_exceptions.RefreshError)
                       and not exc.cause.retryable)
            for i in going:
                outcomes[i] = PushOutcome(messages[i].ref, PushStatus.UNKNOWN,
                                          code="AUTH_REFUSED" if refused else "UNKNOWN",
                                          reason=str(exc))
            if refused:
                raise PushAuthFailed(str(exc), code="AUTH_REFUSED",
                                     outcomes=[o for o in outcomes if o is not None]) from exc
            return
        for i, response in zip(going, batch.responses, strict=True):
            ref = messages[i].ref
            if response.success:
                outcomes[i] = PushOutcome(ref, PushStatus.SENT, message_name=response.message_id)
            else:
                outcomes[i] = _outcome(ref, response.exception)

    def _send_direct(self, sender: direct.DirectSender, messages: Sequence[PushMessage],
                     pending: list[tuple[int, dict[str, Any]]],
                     outcomes: list[PushOutcome | None], dry_run: bool) -> None:
        """The "direct" sender: each content encoded once, each token spliced into it."""
        tails: dict[int, bytes | Permanent] = {}
        going: list[int] = []
        bodies: list[bytes] = []
        for i, shared in pending:
            msg = messages[i]
            tail = tails.get(id(shared))
            if tail is None:
                tail = tails[id(shared)] = _encoded(
                    functools.partial(direct.body_tail, dry_run=dry_run), msg.content, shared)
            refusal = tail if isinstance(tail, Permanent) else _token_refusal(msg.token)
            if refusal is not None:
                outcomes[i] = outcome_of(msg.ref, refusal)
                continue
            assert isinstance(tail, bytes)
            going.append(i)
            bodies.append(direct.body(msg.token, tail))
        auth: dict[str, str] = {}
        self._credential.apply(auth)  # the token _ensure_token just made sure of
        for i, result in zip(going, sender.send(auth, bodies), strict=True):
            outcomes[i] = self._direct_outcome(messages[i].ref, result)

    def _direct_outcome(self, ref: str, result: direct.Result) -> PushOutcome:
        """What the SDK would have made of this answer (or of its absence)."""
        if isinstance(result, direct.Answer):
            if 200 <= result.status < 300:
                try:
                    name = json.loads(result.body)["name"]
                    if isinstance(name, str):
                        return PushOutcome(ref, PushStatus.SENT, message_name=name)
                except (ValueError, KeyError, TypeError):
                    pass
                return PushOutcome(ref, PushStatus.UNKNOWN, code="UNKNOWN",
                                   reason=f"FCM answered {result.status} without a message name")
            return _outcome(ref, self._service._handle_fcm_error(_http_error(self.url, result)))
        error: exceptions.FirebaseError
        if isinstance(result, TimeoutError):
            error = exceptions.DeadlineExceededError(
                f"Timed out while making an API call: {result}", cause=result)
        else:
            error = exceptions.UnavailableError(
                f"Failed to establish a connection: {result}", cause=result)
        return _outcome(ref, error)

    def _send_one_message(self, message: messaging.Message, dry_run: bool
                          ) -> tuple[str | None, BaseException | None]:
        """One messaging.send on a pool thread: its message name, or what it raised."""
        try:
            return messaging.send(message, dry_run=dry_run, app=self._app), None
        except Exception as exc:  # every failure is this message's outcome, not the batch's
            return None, exc


_missing: Any = object()


def _encoded(encode: Callable[[messaging.Message], T], content: PushContent,
             shared: dict[str, Any]) -> T | Permanent:
    """What `encode` (the SDK's message encoding) makes of the content's message for any token,
    or its refusal: before anything is sent, so the message is FAILED, never retried."""
    try:
        return encode(build_message(content, token=direct.PLACEHOLDER, parts=shared))
    except (ValueError, TypeError) as exc:
        return Permanent(str(exc), code="INVALID_ARGUMENT")


def _token_refusal(token: object) -> Permanent | None:
    """The SDK's refusal of a registration token that is not a string (it encodes any other
    token of a content the same way)."""
    if isinstance(token, str):
        return None
    return Permanent("the registration token is not a string", code="INVALID_ARGUMENT")


def _outcome_of_error(ref: str, error: BaseException) -> PushOutcome:
    """The outcome of one messaging.send that raised (the "threads" sender)."""
    if isinstance(error, exceptions.FirebaseError):
        return _outcome(ref, error)
    # google-auth refreshing a token that expired mid-batch, before this request was written
    # (the SDK passes only requests' exceptions through its error mapping): not sent.
    if isinstance(error, auth_exceptions.RefreshError) and not error.retryable:
        return PushOutcome(ref, PushStatus.AUTH, code="AUTH_REFUSED",
                           reason=f"service account refused by the token endpoint: {error}")
    if isinstance(error, auth_exceptions.RefreshError | auth_exceptions.TransportError):
        return PushOutcome(ref, PushStatus.RETRY, code="UNAVAILABLE",
                           reason=f"token endpoint failed: {error}")
    return PushOutcome(ref, PushStatus.UNKNOWN, code="UNKNOWN", reason=str(error))


def _configure_service(service: Any, project: str, endpoint: str | None, pool_size: int) -> str:
    """Point this app's messaging service at its endpoint and stop the SDK sleeping; return URL."""
    client = getattr(service, "_client", None)
    session = getattr(client, "session", None)
    if (not hasattr(service, "_fcm_url") or not isinstance(session, requests.Session)
            or not hasattr(session, "_refresh_status_codes")):
        raise RuntimeError(
            f"firebase-admin {firebase_admin.__version__}: messaging._MessagingService no longer "
            "has _fcm_url / _client.session (a google-auth AuthorizedSession); update "
            "gateways/fcm/gateway.py for this version"
        )
    base = (endpoint or FCM_ENDPOINT).rstrip("/")
    if endpoint:
        # The one endpoint override. There is no supported option for it; the SDK builds this
        # instance attribute from the class constant FCM_URL when the service is created. We set
        # it on this app's instance, not on the class, so two gateways (two stand-ins in a test,
        # a relay and Google) can coexist. Used by the demo and the tests (a local FCM stand-in)
        # and by sites that reach FCM through a relay. The OAuth token URI is not set here: it
        # comes from the service-account JSON's `token_uri`.
        service._fcm_url = base + SEND_PATH.format(project=project)
    adapter = _OneOriginAdapter(
        pool_connections=1, pool_maxsize=pool_size, max_retries=NO_SLEEP_RETRY
    )
    # The SDK mounted its retrying adapter on https://fcm.googleapis.com (and on http:// and
    # https:// through its HttpClient); requests uses the longest matching prefix, so this one
    # wins for every request to the endpoint.
    session.mount(base + "/", adapter)
    # google-auth's AuthorizedSession answers a 401 by fetching a new token and resending, twice.
    # FCM also says 401 for THIRD_PARTY_AUTH_ERROR (the project's APNs key), so every iOS message
    # would cost three sends and two token requests. The gateway fetches the token before each
    # batch (`_ensure_token`), so a 401 here is a real refusal: let it come back as it is.
    session._refresh_status_codes = ()
    _read_environment_once(session, str(service._fcm_url))
    return str(service._fcm_url)


class _OneOriginAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, remembering the pool key of the one origin it posts to.

    requests recomputes it for every request: a URL parse and, when the CA bundle is a path
    (REQUESTS_CA_BUNDLE, as on most servers), an os.path.isdir() of it — about 5 % of a send's
    CPU. The key depends only on the origin, the CA setting and the client certificate.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keys: dict[tuple[Any, ...], tuple[dict[str, Any], dict[str, Any]]] = {}

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        url = request.url or ""
        try:
            end = url.find("/", url.find("//") + 2)
            key = (url if end < 0 else url[:end], verify, cert)
            known = self._keys.get(key)
        except TypeError:  # an unhashable cert setting
            return super().build_connection_pool_key_attributes(request, verify, cert)
        if known is None:
            known = self._keys[key] = super().build_connection_pool_key_attributes(
                request, verify, cert)
        host_params, pool_kwargs = known
        return dict(host_params), dict(pool_kwargs)  # requests' callers own what they get


def _read_environment_once(session: requests.Session, url: str) -> None:
    """Take the proxy and CA bundle for `url` from the environment now, then stop looking.

    With `trust_env` on (requests' default), every request walks the whole environment for
    *_proxy variables, matches NO_PROXY and looks for a ~/.netrc: about a quarter of the CPU
    of a send to FCM, 500 times per batch, for settings that do not change while the process
    runs. So they are resolved here, once per gateway, for the one URL this session posts to,
    and kept on the session, where requests applies them exactly as it would have:
    HTTPS_PROXY/HTTP_PROXY/ALL_PROXY unless NO_PROXY covers the endpoint, and
    REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE as the CA file. Nothing else is lost: a ~/.netrc login
    would only have replaced the Bearer token. A change of proxy takes a new gateway (a worker
    restart), like a change of credentials.
    """
    session.proxies.update(requests.utils.get_environ_proxies(url))
    if session.verify is True:
        session.verify = (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
                          or True)
    session.trust_env = False


def _content_problem(content: PushContent, now: datetime) -> GatewayError | None:
    try:
        check_payload(content)
    except Permanent as exc:
        return exc
    ttl = remaining_ttl(content, now)
    if ttl is not None and ttl.total_seconds() <= 0:
        return Permanent("validity ended before sending", code=EXPIRED_CODE)
    return None


def _outcome(ref: str, exc: exceptions.FirebaseError) -> PushOutcome:
    """Map one SDK error to the outcome the dispatch side acts on."""
    reason = str(exc)
    code = _fcm_code(exc)
    response = exc.http_response
    # Subclasses before their bases: SenderIdMismatch is a PermissionDenied, ThirdPartyAuth an
    # Unauthenticated, QuotaExceeded a ResourceExhausted, Unregistered a NotFound.
    if isinstance(exc, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return PushOutcome(ref, PushStatus.DEAD_TOKEN, code=code, reason=reason)
    if isinstance(exc, messaging.ThirdPartyAuthError):
        # The APNs/web-push credentials in the Firebase project: an operator must fix them.
        return PushOutcome(ref, PushStatus.FAILED, code=code, reason=reason)
    if isinstance(exc, exceptions.UnauthenticatedError | exceptions.PermissionDeniedError):
        return PushOutcome(ref, PushStatus.AUTH, code=code, reason=reason)
    if response is None:
        # No HTTP answer at all: sent or not depends on where the link failed.
        status = PushStatus.RETRY if _never_sent(exc.cause) else PushStatus.UNKNOWN
        return PushOutcome(ref, status, code=code, reason=reason)
    if isinstance(exc, exceptions.ResourceExhaustedError | exceptions.UnavailableError
                  | exceptions.InternalError) or response.status_code >= 500:
        return PushOutcome(ref, PushStatus.RETRY, code=code, reason=reason,
                           retry_after=_retry_after(response))
    return PushOutcome(ref, PushStatus.FAILED, code=code, reason=reason)


def _fcm_code(exc: exceptions.FirebaseError) -> str:
    """Return FCM's errorCode from the error body, else the platform status (NOT_FOUND…)."""
    response = exc.http_response
    if response is not None:
        try:
            details = response.json()["error"].get("details", [])
            for detail in details:
                if detail.get("@type") == FCM_ERROR_TYPE and detail.get("errorCode"):
                    return str(detail["errorCode"])
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
    return str(exc.code).upper()


def _retry_after(response: requests.Response | httpx.Response) -> float | None:
    """Return the Retry-After header in seconds (it may be a number or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _http_error(url: str, answer: direct.Answer) -> requests.exceptions.HTTPError:
    """The direct sender's error answer dressed as the requests error the SDK parses."""
    response = requests.Response()
    response.status_code = answer.status
    response.headers = requests.structures.CaseInsensitiveDict(answer.headers)
    response._content = answer.body
    response.encoding = "utf-8"
    response.url = url
    return requests.exceptions.HTTPError(f"{answer.status} error from FCM", response=response)


def _never_sent(cause: object) -> bool:
    """Tell whether a transport error happened before the request could reach FCM."""
    if isinstance(cause, direct.NotSent):
        return True  # the direct sender could not write it, on two connections
    if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True  # no connection, or none free in the pool: nothing was written
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(cause, requests.exceptions.Timeout):
        return False  # a read timeout: FCM may have taken it
    if isinstance(cause, requests.exceptions.ConnectionError) and cause.args:
        inner = getattr(cause.args[0], "reason", cause.args[0])  # MaxRetryError wraps it
        return isinstance(inner, urllib3.exceptions.NewConnectionError
                          | urllib3.exceptions.ConnectTimeoutError)
    return False
