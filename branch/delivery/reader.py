"""The reader of this node's channel: messages from other nodes, handed to the pages here."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from redis.exceptions import RedisError

from branch.delivery.pages import Pages
from branch.errors import CLOSE_REPLACED, CLOSE_SESSION_ENDED

log = logging.getLogger(__name__)

# Seconds the channel reader waits for a message before checking it should stop.
READ_TIMEOUT = 1.0


class ChannelReader(Pages):
    async def _read_channel(self) -> None:
        pubsub = self._pubsub
        if pubsub is None:
            return
        while True:
            try:
                message = await pubsub.get_message(timeout=READ_TIMEOUT)
            except (RedisError, OSError) as exc:
                log.warning("node channel unreadable (%s); retrying", type(exc).__name__)
                await asyncio.sleep(self.heartbeat_interval)
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                if message.get("channel") != self.key.changes:
                    await self._deliver(orjson.loads(message["data"]))
                elif message["data"] != self.node_id and self._changed is not None:
                    self._changed()
            except Exception:
                log.exception("a message from another node could not be delivered")

    async def _deliver(self, envelope: dict[str, Any]) -> None:
        user_key = str(envelope.get("to", ""))
        connection = self.local.page(user_key)
        if connection is None:
            return
        if "text" in envelope:
            try:
                await connection.send_text(str(envelope["text"]))
            except (ConnectionError, RuntimeError) as exc:
                log.debug("dropping message to %s: %s", user_key, exc)
            return
        value = self._values.get(user_key, "")
        if "end" in envelope:
            # A logout names its session, which is what decides: a page that opened since
            # the sender looked, with the same login, is closed too. Without one (a
            # supervisor's log-out of a login made before logins were listed) only the
            # page the sender saw.
            session = envelope.get("session")
            if session is None and not value.endswith(f" {envelope['end']}"):
                return
            await self.local.end_page(
                user_key,
                int(envelope.get("code", CLOSE_SESSION_ENDED)),
                str(envelope.get("reason", "session ended")),
                session_id=None if session is None else str(session),
            )
            return
        if "close" in envelope and value.endswith(f" {envelope['close']}"):
            # Closed from elsewhere (a newer page, or a reaper that reported this
            # person lost just as they came back).
            code = int(envelope.get("code", CLOSE_REPLACED))
            reason = str(envelope.get("reason", "replaced by a newer page"))
            await self._close_here(user_key, connection, value, code, reason)
