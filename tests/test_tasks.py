"""A background task stops for good, even when a cancellation is lost on the way."""

from __future__ import annotations

import asyncio
import inspect
import random

import pytest
from redis.asyncio import Redis

from branch.tasks import Background, stop
from tests.servers.redis import RedisServer


async def test_a_task_that_lost_a_cancellation_is_stopped_all_the_same() -> None:
    lost: list[int] = []

    async def loop() -> None:
        while True:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if lost:
                    raise
                lost.append(1)  # as asyncio.wait_for drops one on Python 3.11

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.02)
    await stop(task)
    assert task.cancelled() and lost == [1]
    await stop(task)  # stopping a stopped task is nothing


async def test_a_loop_of_redis_commands_with_a_socket_timeout_stops_every_time(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    # The delivery's clients have a socket timeout, so each command is sent through
    # asyncio.wait_for: a plain cancel() lands there now and then and is lost.
    redis = Redis.from_url(redis_server.url, socket_timeout=5)

    async def loop() -> None:
        while True:
            await asyncio.sleep(0)
            await redis.get(f"{redis_prefix}x")

    try:
        for _round in range(100):
            task = asyncio.create_task(loop())
            await asyncio.sleep(random.uniform(0, 0.005))
            async with asyncio.timeout(5):
                await stop(task)
            assert task.cancelled()
    finally:
        await redis.aclose()


async def test_the_callers_own_cancellation_stays_its_own() -> None:
    released = asyncio.Event()

    async def stubborn() -> None:
        while not released.is_set():
            try:
                await released.wait()
            except asyncio.CancelledError:
                continue  # deaf to every cancellation, until released

    task = asyncio.create_task(stubborn())
    stopping = asyncio.create_task(stop(task))
    await asyncio.sleep(0.25)  # a few of its cancellations came and went
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert not task.done()
    released.set()
    await task


async def test_background_stops_its_tasks_waiting_or_working_and_forgets_the_ended() -> None:
    background = Background()
    working = asyncio.Event()
    cancelled: list[str] = []

    async def job(name: str, wait: float) -> None:
        try:
            await asyncio.sleep(wait)
            working.set()
            await asyncio.Event().wait()  # at work until stopped
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    done = background.start(asyncio.sleep(0), "done")
    at_work = background.start(job("at work", 0), "at work")
    waiting = background.start(job("waiting", 30), "waiting")
    await working.wait()
    await done
    assert background._tasks == {at_work, waiting}
    await background.close()
    assert sorted(cancelled) == ["at work", "waiting"]
    assert at_work.cancelled() and waiting.cancelled() and not background._tasks


async def test_background_starts_nothing_once_closed() -> None:
    background = Background()
    await background.close()
    work = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="started after its part of the node closed"):
        background.start(work, "late")
    # Closed, not left to warn that it was never awaited.
    assert inspect.getcoroutinestate(work) == inspect.CORO_CLOSED
