"""A page that opens while a store is away is closed with a defined code, not left to a crash."""

from __future__ import annotations

from branch.core.model import Event
from branch.errors import CLOSE_INTERNAL, CLOSE_TRY_AGAIN, LiveBusy
from branch.live.memory import MemoryLiveStore
from branch.web.client import BranchClient
from branch.web.keys import LIVE
from tests.conftest import CITIZEN_RUN, StartBranch
from tests.servers.redis import StartRedis


async def test_a_page_opened_while_redis_is_down_is_closed_not_crashed(
    start_branch: StartBranch, start_redis: StartRedis
) -> None:
    redis = start_redis()
    node = await start_branch(stores_live=redis.url)
    async with BranchClient(node.url, ca_file=node.ca_path) as ana:
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        redis.stop()
        try:
            socket = await ana.http.ws_connect(f"{node.url}/ws", origin=ana.origin)
            message = await socket.receive()
            # The Redis client's own error is not a BranchError: closed as internal, not crashed.
            assert (message.data, message.extra) == (CLOSE_INTERNAL, "internal")
        finally:
            redis.start()


async def test_a_page_opened_while_the_floor_is_busy_is_closed_to_try_again(
    start_branch: StartBranch,
) -> None:
    node = await start_branch()
    async with BranchClient(node.url, ca_file=node.ca_path) as ana:
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        live = node.app[LIVE]
        assert isinstance(live, MemoryLiveStore)
        # A floor that keeps changing under every attempt (LiveBusy), injected at its edge.
        busy = LiveBusy("El estado de la sucursal cambia demasiado rápido; intenta de nuevo")

        async def always_busy(citizen_id: str, now: float) -> list[Event]:
            raise busy

        live.citizen_back = always_busy  # type: ignore[method-assign]
        socket = await ana.http.ws_connect(f"{node.url}/ws", origin=ana.origin)
        message = await socket.receive()
        assert (message.data, message.extra) == (CLOSE_TRY_AGAIN, "busy")
