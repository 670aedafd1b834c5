"""ClaveÚnica's userinfo claims → a Person. The one provider-specific mapping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from branch.auth.identity import Person
from branch.auth.run import Run
from branch.errors import LoginFailed


def _names(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(part, str) for part in value):
        raise LoginFailed(f"ClaveÚnica no entregó {field} válidos")
    # The provider may carry stray whitespace inside and around each part.
    parts = tuple(" ".join(part.split()) for part in value)
    parts = tuple(part for part in parts if part)
    if not parts:
        raise LoginFailed(f"ClaveÚnica no entregó {field}")
    return parts


def person_from_claveunica(userinfo: Mapping[str, Any]) -> Person:
    rol = userinfo.get("RolUnico")
    if not isinstance(rol, Mapping):
        raise LoginFailed("ClaveÚnica no entregó el RUN (RolUnico)")
    if rol.get("tipo") != "RUN":
        raise LoginFailed(
            f"ClaveÚnica entregó un documento de tipo {str(rol.get('tipo'))[:20]!r}, no un RUN"
        )
    number, dv = rol.get("numero"), rol.get("DV")
    if isinstance(number, bool) or not isinstance(number, int) or not isinstance(dv, str):
        raise LoginFailed("ClaveÚnica entregó un RUN con un formato inesperado")
    run = Run(number, dv)
    name = userinfo.get("name")
    if not isinstance(name, Mapping):
        raise LoginFailed("ClaveÚnica no entregó el nombre")
    return Person(
        run, _names(name.get("nombres"), "nombres"), _names(name.get("apellidos"), "apellidos")
    )
