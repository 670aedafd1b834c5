"""The Relying Party's HTTP side: discovery, JWKS, token exchange and userinfo.

Provider errors become LoginFailed with a message fit for the person; the
details go to the log without codes, tokens or secrets. Every call is aiohttp,
so nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiohttp

from branch.auth.oidc import (
    LoginAttempt,
    ProviderMetadata,
    UnknownKeyId,
    discovery_url,
    validate_id_token,
)
from branch.config import Settings
from branch.errors import LoginFailed

log = logging.getLogger(__name__)

UNREACHABLE = "No pudimos comunicarnos con ClaveÚnica; inténtalo de nuevo en unos minutos"
# RFC 6749 §5.2: a code used before, expired, or issued for another login attempt (PKCE).
CODE_REFUSED = (
    "ClaveÚnica no aceptó el código de ingreso: ya fue usado, expiró o pertenece a otro "
    "intento; vuelve a intentarlo desde el inicio"
)


class OidcClient:
    def __init__(
        self, settings: Settings, http: aiohttp.ClientSession, client_id: str, client_secret: str
    ) -> None:
        self.settings = settings
        self.http = http
        self.client_id = client_id
        self.client_secret = client_secret
        self._metadata: ProviderMetadata | None = None
        self._jwks: dict[str, Any] | None = None
        # Logins that meet a new key at once share one JWKS download.
        self._jwks_lock = asyncio.Lock()

    async def _json(self, method: str, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self.http.request(method, url, **kwargs) as response:
                if response.status != 200:
                    body = await response.text()
                    # OAuth error bodies carry an error code, never a secret: safe to log.
                    log.warning("%s answered HTTP %s: %s", what, response.status, body[:200])
                    if what == "token" and _oauth_error(body) == "invalid_grant":
                        raise LoginFailed(CODE_REFUSED)
                    raise LoginFailed(f"ClaveÚnica rechazó la solicitud ({what})")
                document = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("%s failed: %s", what, type(exc).__name__)
            raise LoginFailed(UNREACHABLE) from None
        if not isinstance(document, dict):
            raise LoginFailed(f"ClaveÚnica respondió algo inesperado ({what})")
        return document

    async def metadata(self) -> ProviderMetadata:
        if self._metadata is None:
            document = await self._json("GET", discovery_url(self.settings.issuer), "discovery")
            self._metadata = ProviderMetadata.from_discovery(document, self.settings.issuer)
        return self._metadata

    async def jwks(self, *, stale: dict[str, Any] | None = None) -> dict[str, Any]:
        """The provider's keys, downloaded once and again only when `stale` is still the cache.

        No cooldown: right after a key rotation the very next login must find the new key.
        """
        async with self._jwks_lock:
            if self._jwks is None or self._jwks is stale:
                self._jwks = await self._json("GET", (await self.metadata()).jwks_uri, "jwks")
            return self._jwks

    async def exchange(
        self, code: str, attempt: LoginAttempt
    ) -> tuple[dict[str, Any], dict[str, Any], str]:
        """Code → (ID token claims, userinfo, raw ID token)."""
        metadata = await self.metadata()
        tokens = await self._json(
            "POST",
            metadata.token_endpoint,
            "token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.settings.redirect_uri,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "code_verifier": attempt.code_verifier,
            },
        )
        id_token, access_token = tokens.get("id_token"), tokens.get("access_token")
        if not isinstance(id_token, str) or not isinstance(access_token, str):
            raise LoginFailed("ClaveÚnica no entregó los tokens esperados")
        claims = await self._validate(id_token, attempt)
        userinfo = await self._json(
            "POST",
            metadata.userinfo_endpoint,
            "userinfo",
            headers={"Authorization": f"Bearer {access_token}"},
            data={},
        )
        if userinfo.get("sub") != claims["sub"]:
            raise LoginFailed("Los datos de ClaveÚnica no corresponden a la misma persona (sub)")
        return claims, userinfo, id_token

    async def _validate(self, id_token: str, attempt: LoginAttempt) -> dict[str, Any]:
        def check(jwks: dict[str, Any]) -> dict[str, Any]:
            return validate_id_token(
                id_token,
                jwks,
                issuer=self.settings.issuer,
                client_id=self.client_id,
                nonce=attempt.nonce,
                now=time.time(),
            )

        keys = await self.jwks()
        try:
            return check(keys)
        except UnknownKeyId:
            # The provider may have rotated its keys: one fresh look, then give up.
            return check(await self.jwks(stale=keys))


def _oauth_error(body: str) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    return error if isinstance(error, str) else None
