"""ID tokens the provider would never send, minted here, each refused by name."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from branch.auth.oidc import UnknownKeyId, validate_id_token
from branch.errors import LoginFailed

ISSUER = "https://accounts.example/openid"
CLIENT = "branch-client"
NOW = 1_800_000_000.0
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks() -> dict[str, Any]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True)
    return {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}


def claims(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "2594",
        "iat": int(NOW) - 5,
        "exp": int(NOW) + 300,
        "nonce": "n-1",
    }
    document.update(changes)
    return {key: value for key, value in document.items() if value is not None}


def mint(
    payload: dict[str, Any], *, key: Any = KEY, kid: str | None = "k1", algorithm: str = "RS256"
) -> str:
    headers = {"kid": kid} if kid else {}
    return jwt.encode(payload, key, algorithm=algorithm, headers=headers)


def check(token: str) -> dict[str, Any]:
    return validate_id_token(token, jwks(), issuer=ISSUER, client_id=CLIENT, nonce="n-1", now=NOW)


def unsigned(payload: dict[str, Any]) -> str:
    def part(document: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'kid': 'k1'})}.{part(payload)}."


def test_a_good_token_passes() -> None:
    assert check(mint(claims()))["sub"] == "2594"


def test_several_audiences_need_azp() -> None:
    assert check(mint(claims(aud=[CLIENT, "other"], azp=CLIENT)))["sub"] == "2594"
    with pytest.raises(LoginFailed, match="azp no corresponde"):
        check(mint(claims(aud=[CLIENT, "other"])))


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (mint(claims(iss="https://evil.example")), "ID token: emisor incorrecto"),
        (mint(claims(aud="someone-else")), "ID token: audiencia incorrecta"),
        (mint(claims(exp=int(NOW) - 60)), "ID token: expirado"),
        (mint(claims(iat=int(NOW) - 3600)), "ID token: emitido hace demasiado tiempo"),
        (mint(claims(iat=int(NOW) + 3600)), "ID token: emitido en el futuro"),
        (mint(claims(nonce="n-2")), "ID token: nonce no coincide"),
        (mint(claims(nonce=None)), "ID token: nonce no coincide"),
        (mint(claims(sub=None)), "ID token: falta el dato sub"),
        (mint(claims(exp=None)), "ID token: falta el dato exp"),
        (mint(claims(), key=OTHER_KEY), "ID token: firma inválida"),
        (unsigned(claims()), "ID token: algoritmo no permitido (none)"),
        ("not-a-jwt", "ID token: no es un JWT válido"),
    ],
)
def test_bad_tokens_are_refused_by_name(token: str, message: str) -> None:
    with pytest.raises(LoginFailed) as caught:
        check(token)
    assert str(caught.value) == message


def test_hs256_signed_with_the_public_key_is_refused() -> None:
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": "k1"}).encode()).rstrip(
        b"="
    )
    body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
    signature = base64.urlsafe_b64encode(
        hmac.new(public_pem, header + b"." + body, hashlib.sha256).digest()
    ).rstrip(b"=")
    with pytest.raises(LoginFailed) as caught:
        check((header + b"." + body + b"." + signature).decode())
    assert str(caught.value) == "ID token: algoritmo no permitido (HS256)"


@pytest.mark.parametrize(
    ("kid", "message"),
    [
        (None, "ID token: sin identificador de clave (kid)"),
        ("k9", "ID token: clave desconocida (k9)"),
    ],
)
def test_unknown_or_missing_key_id_asks_for_a_jwks_refresh(kid: str | None, message: str) -> None:
    with pytest.raises(UnknownKeyId) as caught:
        check(mint(claims(), kid=kid))
    assert str(caught.value) == message
