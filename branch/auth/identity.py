"""Who a logged-in person is, and which role the branch gives them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from branch.auth.run import Run
from branch.config import Settings


class Role(StrEnum):
    CITIZEN = "citizen"
    EXECUTIVE = "executive"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Person:
    run: Run
    given_names: tuple[str, ...]
    surnames: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.given_names or not self.surnames:
            raise ValueError(
                f"a person needs names and surnames: {self.given_names!r} {self.surnames!r}"
            )

    @property
    def display_name(self) -> str:
        return f"{self.given_names[0]} {self.surnames[0]}"

    @property
    def full_name(self) -> str:
        return " ".join((*self.given_names, *self.surnames))


def role_for(run: Run, settings: Settings) -> Role:
    """Staff roles come only from the branch's own lists; everyone else is a citizen.

    Auditors and admins hold no other role (the settings refuse overlaps), so
    their order here does not matter; a supervisor listed as executive too is a
    supervisor.
    """
    if any(Run.parse(entry) == run for entry in settings.roles_admins):
        return Role.ADMIN
    if any(Run.parse(entry) == run for entry in settings.roles_auditors):
        return Role.AUDITOR
    if any(Run.parse(entry) == run for entry in settings.roles_supervisors):
        return Role.SUPERVISOR
    if any(Run.parse(entry) == run for entry in settings.roles_executives):
        return Role.EXECUTIVE
    return Role.CITIZEN
