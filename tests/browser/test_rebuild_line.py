"""Redis restarts empty under a node: the citizens' pages present their tickets, the line comes back.

The pages ride it out on the sockets they had, logged in: nobody is sent to the login.
"""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from branch.web.app import RECORDS, SERVICE
from tests.browser.conftest import OpenPerson, Person
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, StartBranch
from tests.servers.redis import StartRedis

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


async def test_the_pages_rebuild_the_line_after_redis_restarts_empty(
    start_redis: StartRedis, start_branch: StartBranch, open_person: OpenPerson
) -> None:
    redis = start_redis()
    # Logins idle out in 8 s, so the node's session watch reads every page's login each
    # 2 s: several times while the line is rebuilt, and once more before the click below.
    node = await start_branch(
        stores_live=redis.url, session_idle_seconds=8, session_staff_idle_seconds=8
    )
    bea, maria, executive = (
        await open_person("bea"),
        await open_person("maria"),
        await open_person("executive"),
    )
    sockets: list[str] = []

    def count_sockets(person: Person) -> None:
        person.page.on("websocket", lambda _socket: sockets.append(person.label))

    for person in (bea, maria, executive):
        count_sockets(person)
    await bea.join_queue(node.url, "13.131.313-6", "bonos")
    await maria.join_queue(node.url, CITIZEN_RUN, "licencias")
    await expect(maria.page.locator("#waiting-count")).to_have_text("2 personas")
    bea_folio = (await bea.page.locator("#waiting-folio").text_content() or "").strip()
    await executive.page.goto(node.url + "/login?next=/executive")
    await executive.log_in(EXECUTIVE_RUN, "Juan", "Soto")
    await expect(executive.page.locator("#agent-state")).to_have_text("No disponible")
    held = await maria.page.evaluate("sessionStorage.getItem('branch.queueTicket')")
    assert isinstance(held, str) and held.count(".") == 2
    assert sorted(sockets) == ["bea", "executive", "maria"]

    redis.restart_empty()
    live = node.app[SERVICE].live
    # The node's upkeep notices within a second and asks the pages for their tickets.
    for _attempt in range(100):
        line = [entry.citizen_id for entry in await live.waiting("general")]
        if len(line) == 2:
            break
        await asyncio.sleep(0.1)
    assert line == ["13.131.313-6", CITIZEN_RUN]
    for _attempt in range(100):  # the executive's page said again that it is paused
        if await live.staffed("general") == 1:
            break
        await asyncio.sleep(0.1)
    assert [agent.state.value for agent in await live.agents()] == ["not_ready"]
    await expect(maria.page.locator("#position")).to_have_text("Eres el número 2 en la fila")
    await expect(bea.page.locator("#position")).to_have_text("Eres el siguiente en la fila")
    await maria.shot("line-rebuilt")

    resumed = [e for e in await node.app[RECORDS].audit_entries() if e.kind == "contact.resumed"]
    assert len(resumed) == 2, "both places came back from the tickets"

    await asyncio.sleep(2.5)  # one more round of the session watch
    assert sorted(sockets) == ["bea", "executive", "maria"], "no page had to reconnect"
    assert executive.page.url == node.url + "/executive"
    await expect(executive.page.locator("#agent-state")).to_have_text("No disponible")
    await executive.page.get_by_role("button", name="Disponible", exact=True).click()
    await expect(executive.page.locator("#offer-folio")).to_have_text(bea_folio)
