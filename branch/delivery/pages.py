"""The pages this node holds: their presence records, and closing or ending them from any node."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from redis.exceptions import RedisError

from branch.delivery.base import Connection
from branch.delivery.keys import PAGES_TTL_SECONDS, PRESENCE_TIMEOUTS
from branch.delivery.publisher import Publisher
from branch.errors import CLOSE_REPLACED

log = logging.getLogger(__name__)


class Pages(Publisher):
    async def open_page(self, user_key: str, connection: Connection) -> None:
        replaced = self.local.attach(user_key, connection)
        value = f"{self.node_id} {secrets.token_hex(8)}"
        self._values[user_key] = value
        if replaced is not None:
            await replaced.close(CLOSE_REPLACED, "replaced by a newer page")
        previous = await self._claim(
            keys=[self.key.page(user_key), self.key.pages(self.node_id)],
            args=[
                value,
                user_key,
                int(self.node_timeout * PRESENCE_TIMEOUTS * 1000),
                PAGES_TTL_SECONDS,
            ],
        )
        if previous:
            node, _, page_id = str(previous).partition(" ")
            if node != self.node_id:
                await self._publish(node, {"to": user_key, "close": page_id})

    async def close_page(self, user_key: str, connection: Connection) -> bool:
        if not self.local.detach(user_key, connection):
            return False
        value = self._values.pop(user_key, "")
        try:
            released = await self._release(
                keys=[self.key.page(user_key), self.key.pages(self.node_id)],
                args=[value, user_key],
            )
        except (RedisError, OSError) as exc:
            # The floor lives in the same Redis; the page was ours, so report it gone.
            log.warning("releasing a page failed: %s", type(exc).__name__)
            return True
        return bool(released)

    async def end_page(
        self, user_key: str, code: int, reason: str, *, session_id: str | None = None
    ) -> bool:
        ended = False
        if self.local.page(user_key) is not None:
            ended = await self.local.end_page(user_key, code, reason, session_id=session_id)
        # Looked up even so: the page here may be one that a newer page elsewhere, of
        # the same login, is replacing at this moment.
        value = await self.redis.get(self.key.page(user_key))
        if value is None:
            return ended
        node, _, page_id = str(value).partition(" ")
        if node == self.node_id:
            return ended  # here, or here and gone (its record is being released)
        # On the publisher's connection, after whatever was sent to the page before.
        envelope: dict[str, Any] = {"to": user_key, "end": page_id, "code": code, "reason": reason}
        if session_id is not None:
            envelope["session"] = session_id
        return await self._publish(node, envelope) or ended

    async def _close_here(
        self, user_key: str, connection: Connection, value: str, code: int, reason: str
    ) -> None:
        """Close a page of this node without reporting the person gone.

        That is either untrue (they have a newer page) or already done (reaped).
        """
        self.local.detach(user_key, connection)
        self._values.pop(user_key, None)
        await self._release(
            keys=[self.key.page(user_key), self.key.pages(self.node_id)], args=[value, user_key]
        )
        await connection.close(code, reason)
