"""Authentication of API requests and the permission check every view goes through."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, g, request

from dispatch.access import signin, totp, users
from dispatch.access.permissions import allowed
from dispatch.errors import Forbidden, NotAuthenticated
from dispatch.models import User

F = TypeVar("F", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    @app.before_request
    def _forget_previous_caller() -> None:
        # `g` lives on the app context, which a test (or CLI) may keep across requests.
        g.pop("user", None)
        g.pop("actor", None)


def _bearer_user() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        user = users.user_for_token(value.strip())
        if user is None:
            raise NotAuthenticated("The API token is unknown, revoked or expired.")
        return user
    return None


def basic_credentials() -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        raise NotAuthenticated("Malformed Basic credentials.") from None
    return username, password


def current_user() -> User | None:
    """The authenticated user of this request: API token, else the signed-in session (UI)."""
    if "user" not in g:
        user = _bearer_user()
        if user is None:
            loader = g.get("session_user_loader")
            user = loader() if loader else None
        g.user = user
    return g.user


def require_user() -> User:
    user = current_user()
    if user is None:
        raise NotAuthenticated("Sign in or send 'Authorization: Bearer <token>'.")
    return user


def require(action: str) -> Callable[[F], F]:
    """Refuse the view unless the caller holds a role that grants `action`."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = require_user()
            if not allowed(user.roles, action):
                raise Forbidden(f"Your roles ({', '.join(user.roles) or 'none'}) do not allow "
                                f"'{action}'.")
            g.actor = user
            return view(*args, **kwargs)

        wrapper.required_action = action  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def password_or_token_user(*, allow_must_change: bool) -> User:
    """The caller by Basic credentials (throttled like the sign-in page) or by token/session.

    Used by the two endpoints a person needs before holding a token: creating one, and
    replacing a one-time password. A password alone is not enough for an account that has,
    or must have, a second factor: those create their tokens on the pages.
    """
    creds = basic_credentials()
    user = signin.authenticate(*creds) if creds else require_user()
    if creds and (totp.enabled(user) or totp.required(user)):
        raise Forbidden("This account signs in with a second factor: create API tokens on the "
                        "API tokens page.", code="two_factor_required")
    if user.must_change_password and not allow_must_change:
        raise Forbidden("Change the one-time password first (PUT /api/me/password).",
                        code="password_change_required")
    return user
