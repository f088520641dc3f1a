"""Generated service accounts for the stand-in, and checking the JWTs signed with them.

A service-account JSON made here is shaped like one downloaded from the Firebase console, with
a fresh RSA key and a `token_uri` pointing at the stand-in, so firebase-admin and google-auth
run their real OAuth2 JWT-bearer flow offline. Write it outside git (instance/ or a tmp dir).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ACCEPTED_SCOPES = frozenset({
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/firebase.messaging",
})
CLOCK_SKEW = 300  # seconds of iat/exp leeway, as Google allows


class InvalidGrant(Exception):
    """The assertion cannot be accepted; the message is the OAuth error_description."""


@dataclass(frozen=True)
class TrustedKey:
    """The public half of a service account the stand-in accepts."""

    key_id: str
    client_email: str
    public_key: rsa.RSAPublicKey


def generate_service_account(path: str | os.PathLike[str], *, token_uri: str,
                             project_id: str) -> dict[str, str]:
    """Write a service-account JSON with a new 2048-bit key to `path` (mode 0600); return it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    email = f"loa-push@{project_id}.iam.gserviceaccount.com"
    info = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email,
        "client_id": str(secrets.randbelow(10**21)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "",
        "universe_domain": "googleapis.com",
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=2)
    os.replace(tmp, target)
    return info


def trusted_key(info: dict[str, Any]) -> TrustedKey:
    """Return the public key of a service-account JSON (as written above or by Google)."""
    private = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ValueError("service account key is not RSA")
    return TrustedKey(info["private_key_id"], info["client_email"], private.public_key())


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_assertion(assertion: str, keys: dict[str, TrustedKey]) -> dict[str, Any]:
    """Check an RS256 JWT-bearer assertion against the trusted keys; return its claims."""
    try:
        head_b64, claims_b64, sig_b64 = assertion.split(".")
        header = json.loads(_b64decode(head_b64))
        claims = json.loads(_b64decode(claims_b64))
        signature = _b64decode(sig_b64)
    except (ValueError, TypeError) as exc:
        raise InvalidGrant("Invalid JWT: malformed assertion") from exc
    if header.get("alg") != "RS256":
        raise InvalidGrant("Invalid JWT: alg must be RS256")
    key = keys.get(str(header.get("kid")))
    if key is None:
        raise InvalidGrant("Invalid JWT Signature.")  # Google's words for an unknown key
    try:
        key.public_key.verify(signature, f"{head_b64}.{claims_b64}".encode(),
                              padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise InvalidGrant("Invalid JWT Signature.") from exc
    now = time.time()
    if claims.get("iss") != key.client_email:
        raise InvalidGrant("Invalid JWT: iss does not match the key's service account")
    if not str(urlsplit(str(claims.get("aud", ""))).path).endswith("/token"):
        raise InvalidGrant("Invalid JWT: aud must be this token endpoint")
    if float(claims.get("exp", 0)) < now - CLOCK_SKEW or float(claims.get("iat", 0)) > (
        now + CLOCK_SKEW
    ):
        raise InvalidGrant("Invalid JWT: Token must be a short-lived token and in a reasonable "
                           "timeframe. Check your iat and exp values in the JWT claim.")
    if not ACCEPTED_SCOPES & set(str(claims.get("scope", "")).split()):
        raise InvalidGrant("Invalid OAuth scope or ID token audience provided.")
    return dict(claims)
