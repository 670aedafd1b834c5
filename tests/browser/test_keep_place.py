"""A citizen who reloads the page keeps the place in line, then is served."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from branch.web.app import RECORDS
from tests.browser.conftest import OpenPerson
from tests.browser.test_call import assert_video_flows
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, StartBranch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


async def test_reload_keeps_the_place(start_branch: StartBranch, open_person: OpenPerson) -> None:
    node = await start_branch()
    first, citizen, executive = (
        await open_person("citizen"),
        await open_person("citizen"),
        await open_person("executive"),
    )
    page, epage = citizen.page, executive.page

    # Someone else is first in line, so the place we keep is a real one.
    await first.page.goto(node.url + "/login?next=/citizen")
    await first.log_in("13.131.313-6", "Bea", "Soto")
    await first.page.get_by_label("Motivo de tu consulta").select_option("bonos")
    await first.page.get_by_role("button", name="Continuar").click()
    await first.page.get_by_role("button", name="Ponerme en la fila").click()
    await expect(first.page.locator("#position")).to_have_text("Eres el siguiente en la fila")

    await page.goto(node.url + "/login?next=/citizen")
    await citizen.log_in(CITIZEN_RUN, "María José", "González Pérez")
    await page.get_by_label("Motivo de tu consulta").select_option("licencias")
    await page.get_by_role("button", name="Continuar").click()
    await page.get_by_role("button", name="Ponerme en la fila").click()
    await expect(page.locator("#waiting-count")).to_have_text("2 personas")
    folio = (await page.locator("#waiting-folio").text_content() or "").strip()
    position = (await page.locator("#position").text_content() or "").strip()

    await page.reload()
    await expect(page.locator("#waiting-folio")).to_have_text(folio)
    await expect(page.locator("#position")).to_have_text(position)
    await citizen.shot("after-reload")

    # Bea leaves; the reloaded page moves up and is served with video.
    await first.page.get_by_role("button", name="Salir de la fila").click()
    await expect(page.locator("#position")).to_have_text("Eres el siguiente en la fila")
    await epage.goto(node.url + "/login?next=/executive")
    await executive.log_in(EXECUTIVE_RUN, "Juan", "Soto")
    await epage.get_by_role("button", name="Disponible", exact=True).click()
    await expect(epage.locator("#offer-folio")).to_have_text(folio)
    await epage.get_by_role("button", name="Aceptar").click()
    await assert_video_flows(page)
    await assert_video_flows(epage)

    records = {record.folio: record for record in await node.app[RECORDS].recent(5)}
    assert records[folio].answered_at is not None and records[folio].end_reason is None


@pytest.mark.parametrize("who", ["citizen", "executive"])
async def test_a_reload_mid_call_resumes_the_same_call(
    start_branch: StartBranch, open_person: OpenPerson, who: str
) -> None:
    node = await start_branch()
    citizen, executive = await open_person("citizen"), await open_person("executive")
    page, epage = citizen.page, executive.page
    await citizen.join_queue(node.url, CITIZEN_RUN)
    await executive.go_available(node.url, EXECUTIVE_RUN)
    await epage.get_by_role("button", name="Aceptar").click()
    await assert_video_flows(page)
    await assert_video_flows(epage)

    reloaded, other = (page, epage) if who == "citizen" else (epage, page)
    await reloaded.reload()
    # The other side is told, keeps its page, and gets video from the new connection.
    await expect(reloaded.locator("#hangup")).to_be_visible()
    await assert_video_flows(reloaded)
    await assert_video_flows(other)
    await (citizen if who == "citizen" else executive).shot("resumed")

    [record] = await node.app[RECORDS].recent(5)
    assert record.end_reason is None and record.answered_at is not None
    await page.get_by_role("button", name="Colgar").click()
    await expect(epage.locator("#agent-state")).to_have_text("Cierre")
    [record] = await node.app[RECORDS].recent(5)
    assert record.end_reason == "completed"
