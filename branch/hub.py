"""Delivery of server messages to the pages connected to this node.

The hub knows connections only through a two-method protocol, so it has no
web framework in it. One live page per person: attaching a second page
returns the first, which the caller closes. It is the local implementation
of ``branch.delivery.base.Delivery`` (the embedded default), and the page
table of this node inside the Redis one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Set
from typing import Any

from branch.delivery.base import Changed, Connection, LostPage
from branch.errors import CLOSE_REPLACED
from branch.schema import dump

__all__ = ["Connection", "Hub"]

log = logging.getLogger(__name__)


def _role_and_person(user_key: str) -> tuple[str, str]:
    role, _, person_id = user_key.partition(":")
    return role, person_id


class Hub:
    def __init__(self) -> None:
        self._pages: dict[str, Connection] = {}
        # The keys of each role's pages: the executives' and supervisors' pages are
        # looked up at every change of the floor, and scanning ten thousand waiting
        # citizens' keys for them took a fifth of a node's time while a line drained.
        # Keyed by person id, so that the citizens not in line are one set difference.
        self._roles: dict[str, dict[str, str]] = {}

    async def open(self, lost: LostPage, changed: Changed | None = None) -> None:
        return None  # one node: a page is only ever lost with the node itself

    def announce_change(self) -> None:
        return None  # no other node to tell

    async def close(self) -> None:
        return None

    async def recover(self) -> bool:
        return False  # the pages are in this process: nothing to register again

    async def open_page(self, user_key: str, connection: Connection) -> None:
        replaced = self.attach(user_key, connection)
        if replaced is not None:
            await replaced.close(CLOSE_REPLACED, "replaced by a newer page")

    async def close_page(self, user_key: str, connection: Connection) -> bool:
        return self.detach(user_key, connection)

    async def end_page(
        self, user_key: str, code: int, reason: str, *, session_id: str | None = None
    ) -> bool:
        page = self._pages.get(user_key)
        if page is None or session_id not in (None, page.session_id):
            return False
        # Left attached: the page's own handler lets it go, and reports the person away.
        await page.close(code, reason)
        return True

    def attach(self, user_key: str, connection: Connection) -> Connection | None:
        """Make ``connection`` the person's page; return the page it replaces."""
        previous = self._pages.get(user_key)
        self._pages[user_key] = connection
        role, person_id = _role_and_person(user_key)
        self._roles.setdefault(role, {})[person_id] = user_key
        return previous if previous is not connection else None

    def detach(self, user_key: str, connection: Connection) -> bool:
        """Forget the page; True when it was still the person's current page."""
        if self._pages.get(user_key) is connection:
            del self._pages[user_key]
            role, person_id = _role_and_person(user_key)
            del self._roles[role][person_id]
            return True
        return False

    def page(self, user_key: str) -> Connection | None:
        return self._pages.get(user_key)

    def is_connected(self, user_key: str) -> bool:
        return user_key in self._pages

    def keys(self, prefix: str) -> list[str]:
        role, colon, rest = prefix.partition(":")
        if colon and not rest:  # a whole role's pages, as every caller asks
            return list(self._roles.get(role, {}).values())
        return [key for key in self._pages if key.startswith(prefix)]

    def people(self, role: str) -> Set[str]:
        return self._roles.get(role, {}).keys()

    async def everywhere(self, prefix: str) -> list[str]:
        return self.keys(prefix)

    async def send(self, user_key: str, payload: dict[str, Any]) -> bool:
        if user_key not in self._pages:
            return False  # not written for nobody
        return await self.send_text(user_key, dump(payload))

    async def send_text(self, user_key: str, text: str) -> bool:
        connection = self._pages.get(user_key)
        if connection is None:
            return False
        try:
            return await connection.send_text(text)
        except (ConnectionError, RuntimeError) as exc:
            # A page that vanished mid-send is cleaned up by its own handler.
            log.debug("dropping message to %s: %s", user_key, exc)
            return False

    async def send_many(self, user_keys: Iterable[str], payload: dict[str, Any]) -> None:
        for key in user_keys:
            await self.send(key, payload)

    async def close_all(self, code: int, reason: str) -> None:
        for connection in list(self._pages.values()):
            try:
                await connection.close(code, reason)
            except (ConnectionError, RuntimeError):
                pass
        self._pages.clear()
        self._roles.clear()

    def __len__(self) -> int:
        return len(self._pages)
