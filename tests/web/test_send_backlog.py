"""A page that stops reading its socket holds up nobody, and is closed once too far behind."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from branch.errors import CLOSE_FELL_BEHIND, CLOSE_GOING_AWAY
from branch.web.keys import HUB, OUTBOX
from branch.web.outbox import SHUTDOWN_GRACE_SECONDS, unsent
from tests.conftest import CITIZEN_RUN, StartBranch
from tests.web.raw_page import OP_TEXT, TCP_CLOSE, RawPage
from tests.web.stalled_line import (
    backed_up,
    close_waits_for_her,
    found_behind,
    kernel_takes_nothing_more,
    line,
    notice,
    read_all,
    spanish_notice,
    stalled,
)


async def test_the_others_in_line_get_their_pushes_while_a_page_reads_nothing(
    start_branch: StartBranch,
) -> None:
    async with line(start_branch, limits_ws_send_backlog_bytes=64 * 1024 * 1024) as waiting:
        waiting.ana.stall()
        # Far more than a socket takes unread and than aiohttp buffers before it makes a
        # send wait for the socket: ana is first in line, and every send went to her first.
        await backed_up(waiting)
        await waiting.broadcast(1000, 150)
        await waiting.others_got(1000, 150)
        held = waiting.node.app[OUTBOX].backlogs[waiting.page_of_ana()]
        assert held.size > 300_000
        # A change to the line reaches everyone after ana at once.
        loop = asyncio.get_running_loop()
        for other in waiting.others:
            while other.received():
                await other.receive()
        joined_at = loop.time()
        await waiting.citizen(7)
        for place, other in enumerate(waiting.others, start=2):
            position = await other.receive("queue.position", timeout=5)
            assert (position["position"], position["waiting"]) == (place, 4)
        assert loop.time() - joined_at < 3


async def test_a_page_too_far_behind_is_closed_with_4408_and_sees_the_code(
    start_branch: StartBranch,
) -> None:
    bound = 256 * 1024
    async with line(start_branch, limits_ws_send_backlog_bytes=bound) as waiting:
        close_waits_for_her(waiting)
        page, outbox = await stalled(waiting)
        sent = 0
        while page in outbox.backlogs and outbox.backlogs[page].closing is None:
            await waiting.broadcast(500 + sent, 10)
            sent += 10
            assert sent < 200, "ana was never found too far behind"
        await waiting.others_got(500, sent)  # the others lost nothing meanwhile
        assert outbox.backlogs[page].closing == (CLOSE_FELL_BEHIND, "fell behind")
        assert outbox.backlogs[page].size == 0  # what waited for her is let go at once
        # Her page is still open, its close waiting for her socket; a broadcast now does
        # not count her, as it was neither written nor queued for her.
        assert waiting.node.app[HUB].page(f"citizen:{CITIZEN_RUN}") is page
        await waiting.sara.send("supervisor.broadcast", service="general", text=notice(900))
        assert (await waiting.sara.receive("supervisor.done"))["recipients"] == waiting.later

        # When she reads again, she finds what her socket had taken, then the close.
        messages, code = await read_all(waiting.ana)
        assert code == CLOSE_FELL_BEHIND
        numbers = [int(m["text"][:5]) for m in messages if m["type"] == "queue.notice"]
        assert numbers == waiting.sent[: len(numbers)]  # the first ones, in order
        assert len(numbers) < len(waiting.sent)  # and not the rest
        waiting.ana.close()
        for _ in range(100):  # the node lets her page go as it would a dropped one
            if (
                waiting.node.app[HUB].page(f"citizen:{CITIZEN_RUN}") is None
                and page not in outbox.backlogs
            ):
                break
            await asyncio.sleep(0.05)
        assert waiting.node.app[HUB].page(f"citizen:{CITIZEN_RUN}") is None
        assert page not in waiting.node.app[OUTBOX].backlogs


async def test_the_bytes_bound_counts_the_bytes_of_texts_in_spanish(
    start_branch: StartBranch,
) -> None:
    bound = 256 * 1024
    async with line(start_branch, limits_ws_send_backlog_bytes=bound) as waiting:
        page, outbox = await stalled(waiting)
        sent = 0
        while page in outbox.backlogs and outbox.backlogs[page].closing is None:
            held = outbox.backlogs[page]
            waits = sum(len(text.encode()) for text in texts_of(held.texts))
            assert held.size == waits
            assert waits + unsent(page.transport) <= bound
            await waiting.broadcast(4000 + sent, 1, spanish_notice)
            sent += 1
            assert sent < 200, "ana was never found too far behind"
        messages, code = await read_all(waiting.ana)
        assert code == CLOSE_FELL_BEHIND
        notices = [m["text"] for m in messages if m["type"] == "queue.notice"]
        spanish = [text for text in notices if text.startswith("04")]
        assert spanish == [spanish_notice(4000 + index) for index in range(len(spanish))]


def texts_of(held: Iterable[tuple[float, str | bytes]]) -> list[str]:
    return [text if isinstance(text, str) else text.decode() for _sent_at, text in held]


async def test_a_page_whose_socket_takes_nothing_for_the_seconds_is_closed(
    start_branch: StartBranch,
) -> None:
    # Bytes enough for anything this test sends: only the seconds can close her.
    roomy = 64 * 1024 * 1024
    async with line(
        start_branch, limits_ws_send_backlog_seconds=1.0, limits_ws_send_backlog_bytes=roomy
    ) as waiting:
        waiting.ana.stall()
        await backed_up(waiting)
        await found_behind(waiting)
        _messages, code = await read_all(waiting.ana)
        assert code == CLOSE_FELL_BEHIND


async def test_a_page_that_reads_slowly_but_catches_up_keeps_every_message_in_order(
    start_branch: StartBranch,
) -> None:
    # Time enough to catch up on a loaded machine: she must not be closed for it.
    async with line(start_branch, limits_ws_send_backlog_seconds=60.0) as waiting:
        page = waiting.page_of_ana()
        outbox = waiting.node.app[OUTBOX]
        waiting.ana.stall()
        await backed_up(waiting)
        # She reads in short bursts, while more notices and a change to the line come.
        reader = asyncio.create_task(slow_reader(waiting.ana))
        await waiting.broadcast(2000, 60)
        await waiting.citizen(8)
        await waiting.broadcast(2060, 60)
        messages = await reader
        assert page not in outbox.backlogs  # caught up: nothing is kept for her any more
        numbers = [int(m["text"][:5]) for m in messages if m["type"] == "queue.notice"]
        assert numbers == waiting.sent  # every one, in order
        # The count she was pushed when the line grew came after the notices before it.
        grew = next(i for i, m in enumerate(messages) if m.get("waiting") == 4)
        assert int(messages[grew - 1]["text"][:5]) == 2059
        waiting.ana.send("ping")
        while (reply := await waiting.ana.message())["type"] != "pong":
            assert reply["type"] == "wallboard", reply
        # and her page still works


async def slow_reader(page: RawPage) -> list[dict[str, Any]]:
    """Read for 20 ms every 100 ms, until nothing has come for a while."""
    messages: list[dict[str, Any]] = []
    quiet_since = asyncio.get_running_loop().time()
    while asyncio.get_running_loop().time() - quiet_since < 3:
        page.resume()
        await asyncio.sleep(0.02)
        page.stall()
        while (frame := page._take()) is not None:
            assert frame.opcode == OP_TEXT, frame
            messages.append(frame.message())
            quiet_since = asyncio.get_running_loop().time()
        await asyncio.sleep(0.08)
    page.resume()
    return messages


async def test_a_backed_up_page_that_reads_again_at_shutdown_is_sent_away_with_1001(
    start_branch: StartBranch,
) -> None:
    roomy = 64 * 1024 * 1024
    async with line(start_branch, limits_ws_send_backlog_bytes=roomy) as waiting:
        close_waits_for_her(waiting)
        waiting.ana.stall()
        await backed_up(waiting)
        await waiting.broadcast(3000, 50)  # and more waits for her at the node
        assert waiting.page_of_ana() in waiting.node.app[OUTBOX].backlogs
        await kernel_takes_nothing_more(waiting)  # her close frame can reach her only as she reads
        stopping = asyncio.create_task(waiting.node.stop())
        # Only once the node is well into closing its pages: it has to wait for her.
        await asyncio.sleep(SHUTDOWN_GRACE_SECONDS / 4)
        messages, code = await read_all(waiting.ana)
        await stopping
        # As every other page: what her socket had taken, then the close she can act on.
        assert code == CLOSE_GOING_AWAY
        assert messages, "she was sent nothing her socket had taken"


async def test_a_page_that_reads_nothing_holds_up_the_shutdown_only_briefly(
    start_branch: StartBranch,
) -> None:
    roomy = 64 * 1024 * 1024
    async with line(start_branch, limits_ws_send_backlog_bytes=roomy) as waiting:
        waiting.ana.stall()
        await backed_up(waiting)
        loop = asyncio.get_running_loop()
        page = waiting.page_of_ana()
        outbox = waiting.node.app[OUTBOX]
        assert page in outbox.backlogs
        started = loop.time()
        await waiting.node.stop()
        assert loop.time() - started < SHUTDOWN_GRACE_SECONDS + 2
        assert page.transport.is_closing()
        assert not outbox.backlogs


async def test_a_page_that_reads_nothing_even_its_close_is_cut_off_in_time(
    start_branch: StartBranch,
) -> None:
    seconds = 1.0
    roomy = 64 * 1024 * 1024
    async with line(
        start_branch, limits_ws_send_backlog_seconds=seconds, limits_ws_send_backlog_bytes=roomy
    ) as waiting:
        page = waiting.page_of_ana()
        # The node's end of her TCP connection, under TLS (the node serves TLS itself).
        assert page.transport.get_extra_info("sslcontext") is not None
        node_end = page.transport.get_extra_info("socket")
        server = waiting.node.runner.server
        assert server is not None
        waiting.ana.stall()
        await backed_up(waiting)
        await found_behind(waiting)
        loop = asyncio.get_running_loop()
        closed_at = loop.time()
        # She reads nothing, not even the close frame: the node waits the seconds once
        # more, then resets her connection, long before TLS would give up on its own
        # shutdown (30 s), and her end sees the reset even while she reads nothing.
        while (
            node_end.fileno() != -1
            or any(handler.transport is page.transport for handler in server.connections)
            or waiting.ana.tcp_state() != TCP_CLOSE
        ):
            await asyncio.sleep(0.05)
            assert loop.time() - closed_at < seconds + 2, "her connection was never cut off"
        assert page not in waiting.node.app[OUTBOX].backlogs
