"""Who is on the branch: the roles, the logged-in person, and the key of their page."""

from __future__ import annotations

from dataclasses import dataclass

from branch.auth.identity import Role

# The role names as the service, the permission table and the page keys spell them.
CITIZEN = Role.CITIZEN.value
EXECUTIVE = Role.EXECUTIVE.value
SUPERVISOR = Role.SUPERVISOR.value
AUDITOR = Role.AUDITOR.value
ADMIN = Role.ADMIN.value


@dataclass(frozen=True, slots=True)
class User:
    """A logged-in person as the service sees them."""

    person_id: str  # the formatted RUN: the place in line belongs to the identity
    name: str
    role: str

    @property
    def key(self) -> str:
        return page_key(self.role, self.person_id)


def page_key(role: str, person_id: str) -> str:
    """Where messages for the person's page go, on this node or any other."""
    return f"{role}:{person_id}"


def citizen_key(person_id: str) -> str:
    return page_key(CITIZEN, person_id)


def executive_key(person_id: str) -> str:
    return page_key(EXECUTIVE, person_id)
