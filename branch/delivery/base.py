"""The delivery interface: how the service reaches a person's page, wherever it is.

The local implementation (``branch.hub.Hub``) knows only the pages of this
process, the embedded default. The Redis implementation
(``branch.delivery.pubsub.RedisDelivery``) adds a presence record per page and a
channel per node, so a message for a person whose page is on another node is
handed to that node. The service and the websocket handler never see which
one they have.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Set
from typing import Any, Protocol

# Called with a user key ("role:RUN") whose page was lost with a dead node.
LostPage = Callable[[str], Awaitable[None]]
# Called when another node said its floor changed.
Changed = Callable[[], None]


class Connection(Protocol):
    # The login that opened the page: a logout closes only the pages it opened.
    session_id: str

    async def send_text(self, text: str) -> bool:
        """Write or queue ``text`` for the page; False when it is closed or being closed."""
        ...

    async def close(self, code: int, reason: str) -> None: ...


class Delivery(Protocol):
    async def open(self, lost: LostPage, changed: Changed | None = None) -> None:
        """Start; ``lost`` hears of every page that vanished with a dead node, ``changed``
        of every change another node announced."""
        ...

    def announce_change(self) -> None:
        """Tell the other nodes this node changed the floor; coalesced, never waited for."""
        ...

    async def close(self) -> None: ...
    async def recover(self) -> bool:
        """After Redis restarted empty: make this node's pages reachable again, keeping them open.

        True when something had to be done.
        """
        ...

    async def open_page(self, user_key: str, connection: Connection) -> None:
        """Make ``connection`` the person's one live page; an older one is closed, on any node."""
        ...

    async def close_page(self, user_key: str, connection: Connection) -> bool:
        """Forget the page; True when it was still the person's live page (on every node)."""
        ...

    async def end_page(
        self, user_key: str, code: int, reason: str, *, session_id: str | None = None
    ) -> bool:
        """Close the person's live page, on whichever node holds it, as a page that closed.

        Unlike a replaced page, its person is then away, as after any closed page
        (a logout, a log-out by a supervisor). With ``session_id``, only a page that
        login opened. True when the page was closed here or handed to its node.
        """
        ...

    def page(self, user_key: str) -> Connection | None:
        """The person's page when it is on this node."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """The people whose page is on this node."""
        ...

    def people(self, role: str) -> Set[str]:
        """The person ids of the role's pages on this node: a live view, not to be kept."""
        ...

    async def everywhere(self, prefix: str) -> list[str]:
        """The people whose page is on any node (for broadcasts)."""
        ...

    async def send(self, user_key: str, payload: dict[str, Any]) -> bool: ...
    async def send_text(self, user_key: str, text: str) -> bool:
        """Send a message already written as JSON (``schema.dump``, or a relayed frame)."""
        ...

    async def send_many(self, user_keys: Iterable[str], payload: dict[str, Any]) -> None: ...
    async def close_all(self, code: int, reason: str) -> None:
        """Close every page on this node."""
        ...

    def __len__(self) -> int:
        """Pages on this node."""
        ...
