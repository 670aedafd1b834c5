"""RUN, claims, PKCE, next paths, cookie signatures and the session store."""

from __future__ import annotations

from typing import Any

import pytest

from branch.auth.claims import person_from_claveunica
from branch.auth.identity import Role, role_for
from branch.auth.oidc import LoginAttempt, code_challenge, new_login_attempt, safe_next
from branch.auth.run import Run, compute_dv
from branch.auth.sessions import sign, unsign
from branch.config import load_settings
from branch.errors import InvalidRun, LoginFailed


@pytest.mark.parametrize(
    ("text", "formatted"),
    [
        ("44.444.444-4", "44.444.444-4"),
        ("44444444-4", "44.444.444-4"),
        ("444444444", "44.444.444-4"),
        ("11.111.111-1", "11.111.111-1"),
        ("12.345.678-5", "12.345.678-5"),
        ("10.000.013-k", "10.000.013-K"),
        (" 7.000.004-0 ", "7.000.004-0"),
    ],
)
def test_run_parses_and_formats(text: str, formatted: str) -> None:
    assert Run.parse(text).format() == formatted


@pytest.mark.parametrize(
    ("number", "dv"), [(44444444, "4"), (11111111, "1"), (10000013, "K"), (7000004, "0")]
)
def test_check_digit(number: int, dv: str) -> None:
    assert compute_dv(number) == dv


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("44.444.444-5", "El RUN 44.444.444-5 no es válido: el dígito verificador no corresponde"),
        ("44.444.444-K", "El RUN 44.444.444-K no es válido: el dígito verificador no corresponde"),
        ("abc", "El RUN 'abc' no tiene un formato válido"),
        ("", "El RUN '' no tiene un formato válido"),
        ("44.44.444-4", "El RUN '44.44.444-4' no tiene un formato válido"),
    ],
)
def test_bad_runs_are_named(text: str, message: str) -> None:
    with pytest.raises(InvalidRun) as caught:
        Run.parse(text)
    assert str(caught.value) == message


def test_masked_run_hides_the_middle() -> None:
    assert Run.parse("44.444.444-4").masked() == "44.***.***-4"


def claims(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "sub": "2594",
        "RolUnico": {"numero": 44444444, "DV": "4", "tipo": "RUN"},
        "name": {"nombres": [" María ", "José"], "apellidos": ["González", "  Pérez  Soto "]},
    }
    document.update(changes)
    return document


def test_claveunica_claims_become_a_person() -> None:
    person = person_from_claveunica(claims())
    assert person.run == Run(44444444, "4")
    assert person.given_names == ("María", "José") and person.surnames == ("González", "Pérez Soto")
    assert person.display_name == "María González"
    assert person.full_name == "María José González Pérez Soto"


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"RolUnico": None}, LoginFailed, "ClaveÚnica no entregó el RUN (RolUnico)"),
        (
            {"RolUnico": {"numero": 44444444, "DV": "4", "tipo": "PASAPORTE"}},
            LoginFailed,
            "ClaveÚnica entregó un documento de tipo 'PASAPORTE', no un RUN",
        ),
        (
            {"RolUnico": {"numero": "44444444", "DV": "4", "tipo": "RUN"}},
            LoginFailed,
            "ClaveÚnica entregó un RUN con un formato inesperado",
        ),
        (
            {"RolUnico": {"numero": 44444444, "DV": "5", "tipo": "RUN"}},
            InvalidRun,
            "El RUN 44.444.444-5 no es válido: el dígito verificador no corresponde",
        ),
        (
            {"name": {"nombres": ["Ana"], "apellidos": []}},
            LoginFailed,
            "ClaveÚnica no entregó apellidos",
        ),
        (
            {"name": {"nombres": "Ana", "apellidos": ["Rojas"]}},
            LoginFailed,
            "ClaveÚnica no entregó nombres válidos",
        ),
        ({"name": None}, LoginFailed, "ClaveÚnica no entregó el nombre"),
    ],
)
def test_malformed_claims_are_refused(
    changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        person_from_claveunica(claims(**changes))
    assert str(caught.value) == message


def test_roles_come_only_from_the_staff_lists() -> None:
    settings = load_settings(
        {},
        roles_executives=("11.111.111-1", "22.222.222-2"),
        roles_supervisors=("22222222-2",),
        roles_auditors=("33333333-3",),
        roles_admins=("55.555.555-5",),
    )
    assert role_for(Run.parse("11111111-1"), settings) is Role.EXECUTIVE
    assert role_for(Run.parse("22.222.222-2"), settings) is Role.SUPERVISOR
    assert role_for(Run.parse("33.333.333-3"), settings) is Role.AUDITOR
    assert role_for(Run.parse("55555555-5"), settings) is Role.ADMIN
    assert role_for(Run.parse("44.444.444-4"), settings) is Role.CITIZEN


def test_pkce_s256_matches_rfc_7636() -> None:
    assert (
        code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


@pytest.mark.parametrize(
    ("path", "safe"),
    [
        ("/citizen", "/citizen"),
        ("/executive", "/executive"),
        ("/supervisor", "/supervisor"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("/citizen/../admin", "/"),
        (None, "/"),
    ],
)
def test_only_allow_listed_paths_after_login(path: str | None, safe: str) -> None:
    assert safe_next(path) == safe


def test_login_attempts_are_random_and_long() -> None:
    first, second = new_login_attempt("/citizen", 0.0), new_login_attempt("/citizen", 0.0)
    assert first.state != second.state and first.nonce != second.nonce
    assert min(len(first.state), len(first.nonce), len(first.code_verifier)) >= 43  # ≥ 256 bits
    assert LoginAttempt.from_dict(first.to_dict()) == first


def test_cookie_signature() -> None:
    key = b"k" * 32
    value = sign("session-id", key)
    assert unsign(value, key) == "session-id"
    assert unsign(value, b"x" * 32) is None
    assert unsign("other-id" + value[len("session-id") :], key) is None
    assert unsign("no-signature", key) is None
