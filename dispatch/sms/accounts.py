"""SMPP accounts (operator links) and the routing of recipients to them.

Routing: a recipient's effective operator (the contact's override for ported numbers, else the
original carrier from the prefix) → the enabled account that lists that operator → else the
enabled default account → else no route. One operator is carried by at most one enabled account,
so a route is never ambiguous.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dispatch.access import secrets
from dispatch.campaigns import audit
from dispatch.campaigns.preview import validate_sender
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.extensions import db
from dispatch.models import OPERATORS, SmppAccount, User

# Fields an admin sets directly; `password` is handled apart (encrypted, write-only).
FIELDS = ("name", "host", "port", "system_id", "system_type", "bind_mode", "binds", "tps",
          "window", "brandnames", "source_ton", "source_npi", "validity_minutes", "operators",
          "is_default", "id_format", "concat", "enabled", "pacing")


def get(account_id: int) -> SmppAccount:
    account = db.session.get(SmppAccount, account_id)
    if account is None:
        raise NotFound(f"SMPP account {account_id} does not exist.")
    return account


def by_name_or_id(ref: str) -> SmppAccount:
    account = db.session.scalar(select(SmppAccount).where(SmppAccount.name == ref))
    if account is None and ref.isdigit():
        account = db.session.get(SmppAccount, int(ref))
    if account is None:
        raise NotFound(f"No SMPP account named {ref!r}.")
    return account


def _public(account: SmppAccount) -> dict[str, Any]:
    """What audit details may show: everything but the password."""
    return {f: getattr(account, f) for f in FIELDS}


def _check(account: SmppAccount) -> None:
    errors: dict[str, list[str]] = {}
    unknown = [op for op in account.operators if op not in OPERATORS]
    if unknown:
        errors["operators"] = [f"Unknown operator {unknown[0]!r}; use {', '.join(OPERATORS)}."]
    for i, brand in enumerate(account.brandnames):
        try:
            validate_sender(brand, field=f"brandnames.{i}")
        except ValidationFailed as err:
            errors.update(err.errors)
    if errors:
        field, msgs = next(iter(errors.items()))
        raise ValidationFailed(f"{field}: {msgs[0]}", errors=errors)
    if not account.enabled:
        return
    stmt = select(SmppAccount).where(SmppAccount.enabled.is_(True))
    if account.id is not None:  # `id != NULL` would match nothing
        stmt = stmt.where(SmppAccount.id != account.id)
    others = db.session.scalars(stmt).all()
    for other in others:
        shared = sorted(set(other.operators) & set(account.operators))
        if shared:
            raise Conflict(f"{shared[0]} is already carried by account {other.name!r}.",
                           errors={"operators": [f"{shared[0]} is carried by {other.name!r}."]})
    if account.is_default:
        for other in others:
            other.is_default = False


def create(data: dict[str, Any], *, actor: User | None) -> SmppAccount:
    if db.session.scalar(select(SmppAccount.id).where(SmppAccount.name == data["name"])):
        raise Conflict(f"An account named {data['name']!r} exists.", errors={"name": ["Taken."]})
    values = {"brandnames": [], "operators": [], "enabled": True, "is_default": False}
    values.update({k: v for k, v in data.items() if k in FIELDS})
    account = SmppAccount(**values)
    account.password_encrypted = secrets.encrypt(data["password"])
    _check(account)
    db.session.add(account)
    db.session.flush()
    audit.record("smpp_account.create", "smpp_account", account.id, actor=actor,
                 details=_public(account))
    return account


def update(account: SmppAccount, changes: dict[str, Any], *, actor: User | None) -> SmppAccount:
    before = _public(account)
    for key, value in changes.items():
        if key in FIELDS:
            setattr(account, key, value)
    if changes.get("password"):
        account.password_encrypted = secrets.encrypt(changes["password"])
    _check(account)
    after = _public(account)
    changed = {k: after[k] for k in after if after[k] != before[k]}
    audit.record("smpp_account.update", "smpp_account", account.id, actor=actor,
                 details={"changed": changed, "password_changed": bool(changes.get("password"))})
    return account


def remove(account: SmppAccount, *, actor: User | None) -> None:
    audit.record("smpp_account.remove", "smpp_account", account.id, actor=actor,
                 details=_public(account))
    db.session.delete(account)


def password_of(account: SmppAccount) -> str:
    """The clear password, for the smpp process's bind only."""
    return secrets.decrypt(account.password_encrypted)


def route_table() -> dict[str, int | None]:
    """Operator code → account id (or None when nothing carries it)."""
    accounts = db.session.scalars(select(SmppAccount).where(SmppAccount.enabled.is_(True))).all()
    default = next((a.id for a in accounts if a.is_default), None)
    table: dict[str, int | None] = dict.fromkeys(OPERATORS, default)
    for account in accounts:
        for op in account.operators:
            table[op] = account.id
    return table
