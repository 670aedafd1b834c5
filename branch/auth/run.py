"""The Chilean RUN (Rol Único Nacional) with its módulo-11 check digit."""

from __future__ import annotations

import re
from dataclasses import dataclass

from branch.errors import InvalidRun

_RUN_TEXT = re.compile(r"^\s*(\d{1,3}(?:\.?\d{3})*)-?([\dkK])\s*$")
_FACTORS = (2, 3, 4, 5, 6, 7)


def compute_dv(number: int) -> str:
    """Multiply digits right to left by 2..7 cyclically; 11 - sum mod 11 gives the digit."""
    total = sum(
        int(digit) * _FACTORS[index % 6] for index, digit in enumerate(reversed(str(number)))
    )
    remainder = 11 - total % 11
    return {11: "0", 10: "K"}.get(remainder, str(remainder))


def _dotted(number: int) -> str:
    return f"{number:,}".replace(",", ".")


@dataclass(frozen=True, slots=True)
class Run:
    number: int
    dv: str

    def __post_init__(self) -> None:
        if (
            isinstance(self.number, bool)
            or not isinstance(self.number, int)
            or not 0 < self.number < 10**9
        ):
            raise InvalidRun(f"El RUN {self.number!r} no tiene un formato válido")
        if not isinstance(self.dv, str) or compute_dv(self.number) != self.dv.upper():
            raise InvalidRun(
                f"El RUN {_dotted(self.number)}-{self.dv} no es válido: el dígito verificador no corresponde"
            )
        object.__setattr__(self, "dv", self.dv.upper())

    @classmethod
    def parse(cls, text: str) -> Run:
        """Accepts 44.444.444-4, 44444444-4 and 444444444."""
        match = _RUN_TEXT.match(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidRun(f"El RUN {str(text)[:20]!r} no tiene un formato válido")
        return cls(int(match.group(1).replace(".", "")), match.group(2))

    def format(self) -> str:
        return f"{_dotted(self.number)}-{self.dv}"

    def masked(self) -> str:
        """For logs: enough to tell people apart in an incident, not enough to identify them."""
        head = str(self.number)[:2]
        return f"{head}.***.***-{self.dv}"

    def __str__(self) -> str:
        return self.format()
