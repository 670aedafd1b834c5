"""Short-lived TURN credentials (the "TURN REST API" that coturn implements).

The branch and coturn share one secret (coturn's ``static-auth-secret``); the
branch hands each page a username ``"<expiry>:<user>"`` and the credential
``base64(HMAC-SHA1(secret, username))``. coturn recomputes it and refuses it
once the expiry has passed, so nothing long-lived reaches a browser.
``ice_servers`` is the list a page is welcomed with, those credentials included.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from branch.config import Settings


def turn_user(person_key: str, secret: str) -> str:
    """An opaque, stable id for a person, so the TURN server's logs hold no RUN."""
    digest = hmac.new(secret.encode(), f"user:{person_key}".encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def turn_credentials(secret: str, user: str, now: float, ttl: int) -> tuple[str, str]:
    """(username, credential) valid for ``ttl`` seconds from ``now``."""
    if not secret:
        raise ValueError("a TURN secret is needed for TURN credentials")
    if ttl <= 0:
        raise ValueError(f"ttl must be positive, not {ttl}")
    username = f"{int(now) + ttl}:{user}"
    mac = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(mac).decode("ascii")


def ice_servers(settings: Settings, person_key: str, now: float) -> list[dict[str, Any]]:
    """The configured STUN/TURN servers, plus TURN with this page's own short-lived credentials."""
    servers = [server.to_wire() for server in settings.webrtc_ice_servers]
    if settings.webrtc_turn_urls:
        secret = settings.webrtc_turn_secret
        username, credential = turn_credentials(
            secret, turn_user(person_key, secret), now, settings.webrtc_turn_ttl
        )
        servers.append(
            {
                "urls": list(settings.webrtc_turn_urls),
                "username": username,
                "credential": credential,
            }
        )
    return servers
