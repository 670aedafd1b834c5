"""Redis restarts empty mid-call: both pages present their call tickets and the call is back on the floor.

The pages keep their sockets and their logins through it, so the call then ends and is
wrapped up in the browser as any other.
"""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from branch.core.floor import AgentState
from branch.web.app import RECORDS, SERVICE
from tests.browser.conftest import OpenPerson, start_call
from tests.browser.test_call import assert_video_flows
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, StartBranch
from tests.servers.redis import StartRedis

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


async def test_a_call_in_progress_survives_redis_restarting_empty(
    start_redis: StartRedis, start_branch: StartBranch, open_person: OpenPerson
) -> None:
    redis = start_redis()
    # The session watch reads every page's login each 2 s, several times after the restart.
    node = await start_branch(
        stores_live=redis.url, session_idle_seconds=8, session_staff_idle_seconds=8
    )
    citizen, executive, bea = (
        await open_person("citizen"),
        await open_person("executive"),
        await open_person("bea"),
    )
    cpage, epage = citizen.page, executive.page
    await start_call(citizen, executive, node.url)
    await assert_video_flows(epage)
    for page, name in ((cpage, "branch.callTicket"), (epage, "branch.executiveCallTicket")):
        held = await page.evaluate(f"sessionStorage.getItem('{name}')")
        assert isinstance(held, str) and held.count(".") == 2

    # Bea joins before the restart: the first login after it meets a stale sessions connection.
    await bea.join_queue(node.url, "13.131.313-6", "bonos")
    await expect(bea.page.locator("#position")).to_have_text("Eres el siguiente en la fila")

    redis.restart_empty()
    live = node.app[SERVICE].live
    # The node's upkeep notices within a second; both pages answer with their call tickets.
    for _attempt in range(100):
        calls = await live.calls()
        if calls and calls[0].agent_absent_since is None and calls[0].citizen_absent_since is None:
            break
        await asyncio.sleep(0.1)
    assert [(call.citizen_id, call.agent_id) for call in calls] == [(CITIZEN_RUN, EXECUTIVE_RUN)]
    agent = (await live.agent_status(EXECUTIVE_RUN)).agent
    assert agent is not None and agent.state is AgentState.IN_CALL
    # Bea waits, back in line from her queue ticket: the executive in the call is offered nobody.
    for _attempt in range(100):
        if await live.waiting("general"):
            break
        await asyncio.sleep(0.1)
    assert [entry.citizen_id for entry in await live.waiting("general")] == ["13.131.313-6"]
    await asyncio.sleep(1.5)  # a tick or more of the node's upkeep
    assert (await live.citizen_status("13.131.313-6")).call is None
    agent = (await live.agent_status(EXECUTIVE_RUN)).agent
    assert agent is not None and agent.state is AgentState.IN_CALL
    contact_id = calls[0].contact_id
    kinds = [e.kind for e in await node.app[RECORDS].audit_entries(contact_id)]
    assert "contact.restored" in kinds

    # The media never stopped; nobody was sent to log in again.
    await assert_video_flows(cpage)
    assert cpage.url == node.url + "/citizen" and epage.url == node.url + "/executive"
    # The citizen hangs up on the restored floor; the executive wraps up.
    await cpage.get_by_role("button", name="Colgar").click()
    await expect(
        cpage.get_by_role("heading", name="¡Gracias por usar la Sucursal en Línea!")
    ).to_be_visible()
    await expect(epage.locator("#agent-state")).to_have_text("Cierre")
    await epage.get_by_label("Resultado").select_option("resuelto")
    await epage.get_by_role("button", name="Guardar cierre").click()
    await expect(epage.locator("#connection")).to_have_text("Cierre guardado.")
    record = await node.app[RECORDS].get(contact_id)
    assert record is not None
    assert (record.end_reason, record.outcome_code) == ("completed", "resuelto")
    assert record.answered_at is not None and record.wrapped_up_at is not None
