"""Queue positions: pushed at once for a short line, at most once per period for a long one."""

from __future__ import annotations

import asyncio

from branch.positions import PositionPusher


class Line:
    """A fake line of a given length that notes every push."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.pushes: list[str] = []

    async def push(self, service: str) -> int:
        self.pushes.append(service)
        return self.length


async def test_a_short_line_is_pushed_at_every_change() -> None:
    line = Line(3)
    pusher = PositionPusher(line.push, coalesce_above=200, every=10.0)
    for _ in range(3):
        await pusher.changed("general")
    assert line.pushes == ["general"] * 3


async def test_changes_to_a_long_line_within_the_period_make_one_later_push() -> None:
    line = Line(201)
    now = [100.0]
    pusher = PositionPusher(line.push, coalesce_above=200, every=0.5, clock=lambda: now[0])
    await pusher.changed("general")
    assert line.pushes == ["general"]
    now[0] = 100.49  # 10 ms of the period left
    for _ in range(5):
        await pusher.changed("general")
    await pusher.changed("especialista")  # another line is not held back
    assert line.pushes == ["general", "especialista"]
    await asyncio.sleep(0.1)
    assert line.pushes == ["general", "especialista", "general"]


async def test_a_long_line_is_pushed_at_once_after_a_quiet_period() -> None:
    line = Line(5000)
    now = [100.0]
    pusher = PositionPusher(line.push, coalesce_above=200, every=0.5, clock=lambda: now[0])
    await pusher.changed("general")
    now[0] = 100.5
    await pusher.changed("general")
    assert line.pushes == ["general", "general"]


async def test_a_very_long_line_is_pushed_in_proportion_to_its_length() -> None:
    line = Line(20_000)
    now = [100.0]
    pusher = PositionPusher(
        line.push, coalesce_above=200, every=0.5, messages_per_second=10_000, clock=lambda: now[0]
    )
    await pusher.changed("general")
    now[0] = 101.9  # 20,000 messages at 10,000 a second: two seconds apart
    await pusher.changed("general")
    assert line.pushes == ["general"]
    now[0] = 102.0
    await asyncio.sleep(0.2)  # the push scheduled at 101.9 for 102.0
    assert line.pushes == ["general", "general"]
    await pusher.close()


async def test_a_push_slower_than_the_period_is_not_overlapped() -> None:
    pushing = asyncio.Event()
    release = asyncio.Event()
    pushes: list[str] = []

    async def slow_push(service: str) -> int:
        pushes.append(service)
        pushing.set()
        await release.wait()
        return 1000

    pusher = PositionPusher(slow_push, coalesce_above=200, every=0.01)
    first = asyncio.create_task(pusher.changed("general"))
    await pushing.wait()
    await asyncio.sleep(0.05)  # the period is long over; the first push still runs
    for _ in range(5):
        await pusher.changed("general")
    await asyncio.sleep(0.05)
    assert pushes == ["general"]
    pushing.clear()
    release.set()
    await first
    await asyncio.wait_for(pushing.wait(), 1)
    await asyncio.sleep(0.05)
    assert pushes == ["general", "general"]
    await pusher.close()


async def test_a_slow_push_waits_three_times_its_length() -> None:
    now = [100.0]
    pushes: list[float] = []

    async def slow_push(service: str) -> int:
        pushes.append(now[0])
        now[0] += 1.0  # the push took a second of the node's time
        return 1000

    pusher = PositionPusher(slow_push, coalesce_above=200, every=0.5, clock=lambda: now[0])
    await pusher.changed("general")
    now[0] = 102.9
    await pusher.changed("general")  # 2.9 s after the start of a 1 s push: later
    assert pushes == [100.0]
    now[0] = 103.0
    await asyncio.sleep(0.2)  # the push scheduled at 102.9 for 103.0
    assert pushes == [100.0, 103.0]
    await pusher.close()


async def test_a_line_that_got_short_is_pushed_at_once_again() -> None:
    line = Line(500)
    now = [100.0]
    pusher = PositionPusher(line.push, coalesce_above=200, every=0.5, clock=lambda: now[0])
    await pusher.changed("general")
    now[0] = 100.6
    line.length = 10
    await pusher.changed("general")
    await pusher.changed("general")
    assert line.pushes == ["general"] * 3


async def test_close_cancels_the_scheduled_push() -> None:
    line = Line(1000)
    pusher = PositionPusher(line.push, coalesce_above=200, every=30.0)
    await pusher.changed("general")
    await pusher.changed("general")
    await pusher.close()
    await asyncio.sleep(0)
    assert line.pushes == ["general"]


async def test_close_stops_a_push_under_way_and_later_changes_push_nothing() -> None:
    pushing = asyncio.Event()
    stopped: list[str] = []
    pushes: list[str] = []

    async def slow_push(service: str) -> int:
        pushes.append(service)
        pushing.set()
        try:
            await asyncio.Event().wait()  # pushing until stopped
        except asyncio.CancelledError:
            stopped.append(service)
            raise
        return 1000

    now = [100.0]
    pusher = PositionPusher(slow_push, coalesce_above=200, every=0.01, clock=lambda: now[0])
    first = asyncio.create_task(pusher.changed("general"))  # the caller's own push
    await pushing.wait()
    pushing.clear()
    await pusher.changed("general")  # behind it: a push of its own, later
    first.cancel()  # its caller gone (the page closed)
    await asyncio.wait_for(pushing.wait(), 1)  # the later push is under way
    await pusher.close()
    assert stopped == ["general", "general"]
    now[0] = 200.0
    await pusher.changed("general")
    await asyncio.sleep(0.05)
    assert pushes == ["general", "general"]
