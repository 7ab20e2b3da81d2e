"""The console's OpenID Connect relying party: Authorization Code with PKCE (S256).

The provider is found by discovery (``<issuer>/.well-known/openid-configuration``); the ID
token's signature is checked against the provider's published keys (JWKS), and its issuer,
audience, expiry, nonce, authorized party and access-token hash by authlib's ``CodeIDToken``.
authlib also makes the PKCE challenge and the random state, nonce and verifier. The token
request itself is one form POST with the client's secret (HTTP Basic), made with httpx.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from hemkoll.api.staff_claims import CARE_PURPOSE, ClaimNames

# The provider's metadata and keys are read again after an hour: a provider rotating its
# signing keys publishes the new one ahead of use; an unknown key id also refetches at once.
METADATA_TTL_S = 3600.0
# A request to the provider (discovery, keys, token) gives up after this long: the member of
# staff is waiting in the browser.
HTTP_TIMEOUT_S = 10.0
# Clocks of the provider and of this server may differ this much when checking exp and iat.
CLOCK_LEEWAY_S = 60
# Random state, nonce and PKCE verifier: 48 characters of 62 (about 285 bits).
RANDOM_LENGTH = 48
# Signature algorithms accepted for ID tokens (never "none", never a symmetric one).
ID_TOKEN_ALGORITHMS = ("RS256", "PS256", "ES256")


class OidcError(Exception):
    """The provider's answer cannot be used (unreachable, refused, or an ID token that does
    not check out); the reason is for the audit log, not for the page."""


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str = "openid profile"
    claims: ClaimNames = field(default_factory=ClaimNames)
    purposes: tuple[str, ...] = (CARE_PURPOSE,)


@dataclass(frozen=True)
class Authorization:
    url: str
    state: str
    nonce: str
    code_verifier: str


class OidcClient:
    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._http = httpx.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False)
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._fetched_at = 0.0

    def close(self) -> None:
        self._http.close()

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._http.get(url)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"the provider did not answer {url}: {exc}") from exc
        if not isinstance(body, dict):
            raise OidcError(f"{url} is not a JSON object")
        return body

    def _refresh(self) -> tuple[dict[str, Any], KeySet]:
        issuer = self.config.issuer.rstrip("/")
        metadata = self._get_json(f"{issuer}/.well-known/openid-configuration")
        if metadata.get("issuer") != self.config.issuer:
            raise OidcError(f"the provider's issuer is {metadata.get('issuer')!r}")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(metadata.get(key), str):
                raise OidcError(f"the provider's metadata has no {key}")
        try:
            keys = KeySet.import_key_set(cast(Any, self._get_json(metadata["jwks_uri"])))
        except (JoseError, ValueError, TypeError) as exc:
            raise OidcError(f"the provider's keys cannot be read: {exc}") from exc
        self._metadata, self._keys, self._fetched_at = metadata, keys, time.monotonic()
        return metadata, keys

    def metadata(self, *, refresh: bool = False) -> tuple[dict[str, Any], KeySet]:
        with self._lock:
            stale = time.monotonic() - self._fetched_at > METADATA_TTL_S
            if refresh or stale or self._metadata is None or self._keys is None:
                return self._refresh()
            return self._metadata, self._keys

    def authorization(self, redirect_uri: str) -> Authorization:
        metadata, _ = self.metadata()
        state, nonce = generate_token(RANDOM_LENGTH), generate_token(RANDOM_LENGTH)
        verifier = generate_token(RANDOM_LENGTH)
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.config.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        endpoint: str = metadata["authorization_endpoint"]
        separator = "&" if "?" in endpoint else "?"
        return Authorization(f"{endpoint}{separator}{urlencode(params)}", state, nonce, verifier)

    def _token(self, code: str, code_verifier: str, redirect_uri: str) -> dict[str, Any]:
        metadata, _ = self.metadata()
        try:
            response = self._http.post(
                metadata["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": code_verifier,
                },
                auth=(self.config.client_id, self.config.client_secret),
                headers={"Accept": "application/json"},
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"the token request failed: {exc}") from exc
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise OidcError(f"the provider refused the code ({response.status_code}, {error})")
        return body

    def verify_id_token(
        self, id_token: str, *, nonce: str, access_token: str | None, now: datetime
    ) -> dict[str, Any]:
        """The ID token's claims, if it is signed by the provider's key and its claims hold."""
        _, keys = self.metadata()
        try:
            try:
                token = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
            except ValueError:  # a key id not (yet) in the set: the keys may have rotated
                _, keys = self.metadata(refresh=True)
                token = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
            claims = CodeIDToken(
                token.claims,
                token.header,
                options={
                    "iss": {"essential": True, "value": self.config.issuer},
                    "aud": {"essential": True, "value": self.config.client_id},
                    "nonce": {"essential": True, "value": nonce},
                },
                params={
                    "nonce": nonce,
                    "client_id": self.config.client_id,
                    "access_token": access_token,
                },
            )
            claims.validate(now=int(now.timestamp()), leeway=CLOCK_LEEWAY_S)
        except (JoseError, ValueError) as exc:
            raise OidcError(f"the ID token does not check out: {exc!r}") from exc
        return dict(claims)

    def sign_in(
        self,
        *,
        code: str,
        code_verifier: str,
        redirect_uri: str,
        nonce: str,
        now: datetime,
    ) -> Mapping[str, Any]:
        """The verified ID token claims for an authorization code."""
        tokens = self._token(code, code_verifier, redirect_uri)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("the provider's token response has no ID token")
        access = tokens.get("access_token")
        return self.verify_id_token(
            id_token,
            nonce=nonce,
            access_token=access if isinstance(access, str) else None,
            now=now,
        )
