"""A line of waiting citizens whose first, ana, stops reading her socket.

Notices from a supervisor, 4,000 characters each, fill her socket: the kernel
grows its buffers for it to megabytes first, then what is left waits at the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from branch.auth.run import Run, compute_dv
from branch.web.client import BranchClient
from branch.web.connection import PageConnection
from branch.web.keys import HUB, OUTBOX
from branch.web.outbox import Outbox, unsent
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, SUPERVISOR_RUN, RunningBranch, StartBranch
from tests.web.raw_page import OP_CLOSE, OP_TEXT, RawPage, open_raw_page

NOTICE_CHARS = 4000
KERNEL_BUFFER = 16 * 1024  # bytes
# Pings far apart: the node's heartbeat would otherwise take the silent page for gone.
ROOMY = {
    "limits_ws_heartbeat_seconds": 600.0,
    "limits_notice": NOTICE_CHARS,
    "limits_messages_per_second": 1000,
    "limits_message_burst": 1000,
    "limits_joins_per_hour": 100,
}


def citizen_run(index: int) -> str:
    number = 15_000_000 + index
    return Run(number, compute_dv(number)).format()


def notice(index: int) -> str:
    return f"{index:05d} " + "x" * (NOTICE_CHARS - 6)


def spanish_notice(index: int) -> str:
    """As long as a notice in characters, a third longer in UTF-8."""
    return f"{index:05d} " + ("¿Año? " * NOTICE_CHARS)[: NOTICE_CHARS - 6]


@dataclass
class Line:
    node: RunningBranch
    ana: RawPage  # first in the line, and the one that stops reading
    others: list[BranchClient]  # after her in the line, reading as browsers do
    sara: BranchClient  # a supervisor, whose broadcasts go to everyone waiting
    clients: contextlib.AsyncExitStack
    sent: list[int] = field(default_factory=list)  # the notices broadcast, in order
    later: int = 0  # citizens who joined after ``others``

    def page_of_ana(self) -> PageConnection:
        page = self.node.app[HUB].page(f"citizen:{CITIZEN_RUN}")
        assert isinstance(page, PageConnection)
        return page

    async def citizen(self, index: int) -> BranchClient:
        client = await self.clients.enter_async_context(
            BranchClient(self.node.url, ca_file=self.node.ca_path)
        )
        await client.login(citizen_run(index), "Persona", f"Número {index}")
        await client.connect()
        await client.send("queue.join", reason="licencias")
        await client.receive("queue.joined")
        self.later += 1
        return client

    async def broadcast(self, first: int, count: int, write: Callable[[int], str] = notice) -> None:
        """Notices numbered from ``first``; returns once the node has sent each one to all."""
        for index in range(first, first + count):
            self.sent.append(index)
            await self.sara.send("supervisor.broadcast", service="general", text=write(index))
        for _ in range(count):
            done = await self.sara.receive("supervisor.done", timeout=10)
            others = self.later  # ana among them until she is closed
            assert done["recipients"] in (others, others + 1), done

    async def others_got(self, first: int, count: int) -> None:
        for other in self.others:
            for index in range(first, first + count):
                told = await other.receive("queue.notice", timeout=10)
                assert told["text"] == notice(index)


@contextlib.asynccontextmanager
async def line(start_branch: StartBranch, **settings: Any) -> AsyncIterator[Line]:
    node = await start_branch(**{**ROOMY, **settings})
    async with contextlib.AsyncExitStack() as clients:
        eva = await clients.enter_async_context(BranchClient(node.url, ca_file=node.ca_path))
        await eva.login(EXECUTIVE_RUN, "Eva", "Díaz", "/executive")
        await eva.connect()  # somebody serves the line, so joining is not refused
        ana_client = await clients.enter_async_context(BranchClient(node.url, ca_file=node.ca_path))
        await ana_client.login(CITIZEN_RUN, "Ana", "Rojas")
        ana = await open_raw_page(ana_client, node.ca_path)
        clients.callback(ana.close)
        ana.send("queue.join", reason="licencias")
        while (await ana.message())["type"] != "queue.position":
            pass
        sara = await clients.enter_async_context(BranchClient(node.url, ca_file=node.ca_path))
        await sara.login(SUPERVISOR_RUN, "Sara", "Vidal", "/supervisor")
        await sara.connect()
        found = Line(node, ana, [], sara, clients)
        found.others = [await found.citizen(index) for index in range(2)]
        yield found


async def backed_up(line: Line) -> None:
    """Broadcast until ana's socket took all it could: what is left waits at the node."""
    first = 0
    # Megabytes: the kernel grows its buffers for the socket first.
    while not unsent(line.page_of_ana().transport):
        await line.broadcast(first, 10)
        first += 10
        assert first < 2000, "ana's socket never backed up"
    await line.others_got(0, first)


async def stalled(line: Line) -> tuple[PageConnection, Outbox]:
    """Ana stops reading, and the node sends until it holds some for her: her page, its outbox."""
    line.ana.stall()
    await backed_up(line)
    page = line.page_of_ana()
    return page, page.outbox


def close_waits_for_her(line: Line) -> None:
    """Make ana's close wait for her socket whenever bytes wait in her transport.

    As it does most of the time at the transport's default mark, which the writer of a
    backlog keeps it about; and the kernel's buffer stays small, as one that grows on its
    own may still take her close frame while she reads nothing.
    """
    transport = line.page_of_ana().transport
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_BUFFER)
    transport.set_write_buffer_limits(high=KERNEL_BUFFER)


async def kernel_takes_nothing_more(line: Line) -> None:
    """Wait until ana's socket took nothing for a while: the kernel's buffers are full."""
    page = line.page_of_ana()
    backlogs = page.outbox.backlogs
    loop = asyncio.get_running_loop()

    def waiting() -> tuple[int, int]:
        # Her writer tops the transport up as the socket takes from it: both must stay.
        backlog = backlogs.get(page)
        return (0 if backlog is None else backlog.size), unsent(page.transport)

    held, since = waiting(), loop.time()
    while loop.time() - since < 0.5:
        await asyncio.sleep(0.05)
        if waiting() != held:
            held, since = waiting(), loop.time()
        assert loop.time() - since < 30, "ana's socket kept taking"
    assert all(held), "ana's socket took everything"


async def found_behind(line: Line) -> None:
    """Wait until the node finds ana too far behind and starts closing her page."""
    page, outbox = line.page_of_ana(), line.node.app[OUTBOX]
    loop = asyncio.get_running_loop()
    started = loop.time()
    while page in outbox.backlogs and outbox.backlogs[page].closing is None:
        await asyncio.sleep(0.01)
        assert loop.time() - started < 5, "a stalled page was never closed"


async def read_all(page: RawPage) -> tuple[list[dict[str, Any]], int | None]:
    """Everything the page is sent from now on, in order, and the close code if it is closed.

    No code when the connection was cut, or when nothing came for a while.
    """
    page.resume()
    messages: list[dict[str, Any]] = []
    while True:
        try:
            frame = await page.frame(timeout=3)
        except (TimeoutError, ConnectionError):
            return messages, None
        if frame.opcode == OP_CLOSE:
            return messages, frame.close_code
        if frame.opcode == OP_TEXT:
            messages.append(frame.message())
