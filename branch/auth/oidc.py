"""The OpenID Connect Relying Party's rules, without HTTP: takes `now`, returns or raises.

Authorization code flow with PKCE (S256), state and nonce, and an ID token
check that follows the ClaveÚnica RP checklist: RS256 only, exact issuer,
audience (and azp), expiry with a small leeway, a not-too-old iat, and a
constant-time nonce comparison.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

import jwt

from branch.errors import LoginFailed

ALLOWED_ALGORITHMS = ("RS256",)
SAFE_NEXT_PATHS = frozenset({"/", "/citizen", "/executive", "/audit", "/reports", "/supervisor"})


class UnknownKeyId(LoginFailed):
    """The token names a key the cached JWKS lacks: refetch once (key rotation)."""


@dataclass(frozen=True)
class LoginAttempt:
    state: str
    nonce: str
    code_verifier: str
    next_path: str
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoginAttempt:
        return cls(**data)


def new_login_attempt(next_path: str, now: float) -> LoginAttempt:
    # 32 bytes each: far above the 128 bits the checklist asks for.
    return LoginAttempt(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(48),
        next_path=safe_next(next_path),
        created_at=now,
    )


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def safe_next(path: str | None) -> str:
    """Only relative, allow-listed places after login: never an open redirect."""
    return path if path in SAFE_NEXT_PATHS else "/"


def discovery_url(issuer: str) -> str:
    """OpenID Connect Discovery §4: the issuer without a trailing slash, then the well-known path."""
    return f"{issuer.rstrip('/')}/.well-known/openid-configuration"


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None = None

    @classmethod
    def from_discovery(cls, document: Mapping[str, Any], expected_issuer: str) -> ProviderMetadata:
        if document.get("issuer") != expected_issuer:
            raise LoginFailed(
                "El proveedor de identidad respondió con un emisor (issuer) distinto al configurado"
            )
        try:
            return cls(
                issuer=document["issuer"],
                authorization_endpoint=str(document["authorization_endpoint"]),
                token_endpoint=str(document["token_endpoint"]),
                userinfo_endpoint=str(document["userinfo_endpoint"]),
                jwks_uri=str(document["jwks_uri"]),
                end_session_endpoint=document.get("end_session_endpoint"),
            )
        except KeyError as missing:
            raise LoginFailed(
                f"La configuración del proveedor no incluye {missing.args[0]}"
            ) from None


def authorization_url(
    metadata: ProviderMetadata,
    client_id: str,
    redirect_uri: str,
    scopes: str,
    attempt: LoginAttempt,
) -> str:
    query = urlencode(
        {
            "client_id": client_id,
            "response_type": "code",
            "scope": scopes,
            "redirect_uri": redirect_uri,
            "state": attempt.state,
            "nonce": attempt.nonce,
            "code_challenge": code_challenge(attempt.code_verifier),
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    return f"{metadata.authorization_endpoint}{separator}{query}"


def validate_id_token(
    token: str,
    jwks: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: float,
    leeway: float = 30.0,
    max_age: float = 600.0,
) -> dict[str, Any]:
    """The ID token's claims once every check passed; LoginFailed naming the first that did not."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise LoginFailed("ID token: no es un JWT válido") from None
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise LoginFailed(f"ID token: algoritmo no permitido ({str(header.get('alg'))[:10]})")
    kid = header.get("kid")
    if not kid:
        raise UnknownKeyId("ID token: sin identificador de clave (kid)")
    key_data = next((key for key in jwks.get("keys", []) if key.get("kid") == kid), None)
    if key_data is None:
        raise UnknownKeyId(f"ID token: clave desconocida ({str(kid)[:40]})")
    try:
        key = jwt.PyJWK(dict(key_data), algorithm="RS256")
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=list(ALLOWED_ALGORITHMS),
            audience=client_id,
            issuer=issuer,
            # Time is checked below against `now`, so tests and the clock agree.
            options={
                "require": ["exp", "iat", "sub", "iss", "aud"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidAudienceError:
        raise LoginFailed("ID token: audiencia incorrecta") from None
    except jwt.InvalidIssuerError:
        raise LoginFailed("ID token: emisor incorrecto") from None
    except jwt.MissingRequiredClaimError as missing:
        raise LoginFailed(f"ID token: falta el dato {missing.claim}") from None
    except jwt.InvalidSignatureError:
        raise LoginFailed("ID token: firma inválida") from None
    except jwt.PyJWTError as error:
        raise LoginFailed(f"ID token: no es válido ({type(error).__name__})") from None
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise LoginFailed("ID token: azp no corresponde a esta aplicación")
    if not isinstance(claims["exp"], int | float) or claims["exp"] + leeway < now:
        raise LoginFailed("ID token: expirado")
    if not isinstance(claims["iat"], int | float) or claims["iat"] - leeway > now:
        raise LoginFailed("ID token: emitido en el futuro")
    if now - claims["iat"] > max_age:
        raise LoginFailed("ID token: emitido hace demasiado tiempo")
    if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
        raise LoginFailed("ID token: nonce no coincide")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise LoginFailed("ID token: falta el dato sub")
    return claims
