"""Commits through faults: a reply lost on a dropped connection, Redis restarting empty."""

from __future__ import annotations

import pytest

from branch.core.floor import CallStarted, Offered, QueueChanged, Waiting
from branch.errors import NotQueued
from tests.live.conftest import OpenNodes

T0 = 1795525200.0


def citizen(name: str) -> Waiting:
    return Waiting(f"c-{name}", name, name.title(), "general", "r", "", "F", T0)


async def test_a_commit_whose_reply_was_lost_is_not_run_twice(
    open_nodes: OpenNodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    [store] = await open_nodes(1)
    commit = store._commit

    async def reply_lost(**kwargs: object) -> object:
        # The script ran, the connection dropped before its reply, and the client's
        # retry sent the very same call again: its answer is what the caller sees.
        await commit(**kwargs)  # type: ignore[arg-type]
        return await commit(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_commit", reply_lost)
    assert await store.join(citizen("ana"), T0) == [QueueChanged("general")]
    offered = await store.agent_available("exe", "Eva", T0 + 1)
    assert [type(e) for e in offered if isinstance(e, Offered)] == [Offered]
    started = await store.accept("exe", "c-ana", T0 + 2)
    assert [type(e).__name__ for e in started] == ["AgentChanged", "CallStarted"]
    assert isinstance(started[1], CallStarted) and started[1].call.answered_at == T0 + 2
    assert store.conflicts == 0
    assert await store.redis.get(store.keys.version) == "3"


async def test_a_snapshot_from_before_redis_restarted_empty_is_refused(
    open_nodes: OpenNodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, rival = await open_nodes(2)
    await store.join(citizen("ana"), T0)
    commit = store._commit
    restarts: list[bool] = []

    async def restart_first(**kwargs: object) -> object:
        if not restarts:
            # Redis restarts empty between this step's read and its commit, and
            # another node's join brings the version back to the one read.
            restarts.append(True)
            await store.redis.delete(
                *[k async for k in store.redis.scan_iter(f"{store.keys.prefix}*")]
            )
            assert await rival.restarted() is True
            await rival.join(citizen("bea"), T0 + 1)
        return await commit(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_commit", restart_first)
    with pytest.raises(NotQueued) as raised:
        await store.leave("ana", T0 + 2)
    assert raised.value.message == "No estás en la fila"
    assert store.conflicts == 1
    assert [e.citizen_id for e in await store.waiting("general")] == ["bea"]
    assert await store.restarted() is True
