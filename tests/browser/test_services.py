"""Two services in real browsers: choosing a service, a closed one, and a transfer mid-call."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from branch.config import Queue
from branch.web.app import RECORDS
from tests.browser.conftest import OpenPerson
from tests.browser.test_call import assert_video_flows
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, SECOND_EXECUTIVE_RUN, StartBranch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

TRIAGE = Queue("triage", "Orientación")
SPECIALIST = Queue("especialista", "Especialista")


def closed_until_the_day_after_tomorrow() -> Queue:
    """Open all week but with yesterday, today and tomorrow as holidays: closed now, whatever the hour."""
    today = datetime.datetime.now(ZoneInfo("America/Santiago")).date()
    holidays = tuple(str(today + datetime.timedelta(days=offset)) for offset in (-1, 0, 1))
    return Queue("nocturno", "Atención nocturna", hours=("mon-sun 08:00-20:00",), holidays=holidays)


async def test_a_citizen_is_transferred_and_keeps_being_served(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch(
        queues=(TRIAGE, SPECIALIST, closed_until_the_day_after_tomorrow()),
        roles_skills=((EXECUTIVE_RUN, "triage"), (SECOND_EXECUTIVE_RUN, "especialista")),
    )
    citizen = await open_person("citizen")
    juan = await open_person("executive")
    rosa = await open_person("executive")
    page = citizen.page

    await page.goto(node.url + "/login?next=/citizen")
    await citizen.log_in(CITIZEN_RUN, "María José", "González Pérez")
    services = page.get_by_label("Servicio")
    await expect(services).to_be_visible()
    night = await page.locator("#service option[value=nocturno]").text_content()
    assert night == "Atención nocturna (cerrado)"
    await services.select_option("nocturno")
    await expect(page.locator("#service-status")).to_contain_text(
        "Atención nocturna está cerrado en este momento. Abre el"
    )
    await page.get_by_label("Motivo de tu consulta").select_option("ges")
    await page.get_by_role("button", name="Continuar").click()
    await expect(page.locator("#error")).to_contain_text("está cerrado")
    await citizen.shot("closed-service")

    await services.select_option("triage")
    await expect(page.locator("#service-status")).to_contain_text("no hay ejecutivos conectados")
    await page.get_by_label("Motivo de tu consulta").select_option("ges")
    await page.get_by_label("Cuéntanos brevemente").fill("Cobertura de mi tratamiento")
    await page.get_by_role("button", name="Continuar").click()
    await page.get_by_role("button", name="Ponerme en la fila").click()
    await expect(page.locator("#waiting-service")).to_have_text("Orientación")
    await expect(page.locator("#waiting-staffing")).to_be_visible()

    for person, run, given, family in (
        (juan, EXECUTIVE_RUN, "Juan", "Soto"),
        (rosa, SECOND_EXECUTIVE_RUN, "Rosa", "Pinto"),
    ):
        await person.page.goto(node.url + "/login?next=/executive")
        await person.log_in(run, given, family)
        await expect(person.page.locator("#agent-state")).to_have_text("No disponible")
    await expect(page.locator("#waiting-staffing")).to_be_hidden()

    # Juan serves triage: offered, accepts, talks, transfers with a note.
    await juan.page.get_by_role("button", name="Disponible", exact=True).click()
    await expect(juan.page.locator("#offer-service")).to_have_text("Orientación")
    await expect(juan.page.locator("#offer-history-empty")).to_be_visible()
    await juan.page.get_by_role("button", name="Aceptar").click()
    await assert_video_flows(page)
    await juan.page.get_by_label("Servicio de destino").select_option("especialista")
    await juan.page.get_by_label("Nota para quien atienda").fill("Necesita revisar su GES")
    await juan.shot("transfer")
    await juan.page.get_by_role("button", name="Transferir").click()

    await expect(page.locator("#connection")).to_contain_text("Te transferimos a otro servicio")
    await expect(page.locator("#waiting-service")).to_have_text("Especialista")
    await expect(page.locator("#position")).to_have_text("Eres el siguiente en la fila")
    await citizen.shot("transferred")
    await expect(juan.page.locator("#agent-state")).to_have_text("Cierre")
    await expect(juan.page.locator("#connection")).to_contain_text("Transferiste la atención")

    # Rosa serves the specialist line and sees where the citizen comes from.
    await rosa.page.get_by_role("button", name="Disponible", exact=True).click()
    await expect(rosa.page.locator("#offer-service")).to_have_text("Especialista")
    await expect(rosa.page.locator("#offer-transfer")).to_contain_text("Orientación")
    await expect(rosa.page.locator("#offer-transfer-note")).to_have_text("Necesita revisar su GES")
    await expect(rosa.page.locator("#offer-transfer-executive")).to_have_text("Juan Soto")
    await expect(rosa.page.locator("#offer-history li")).to_have_count(1)
    await rosa.shot("offer-transferred")
    await rosa.page.get_by_role("button", name="Aceptar").click()
    await assert_video_flows(page)
    await assert_video_flows(rosa.page)

    first, second = sorted(await node.app[RECORDS].recent(10), key=lambda r: r.joined_at)
    assert (first.service, first.end_reason, first.executive_run) == (
        "triage",
        "transferred",
        EXECUTIVE_RUN,
    )
    assert (second.service, second.transferred_from, second.transfer_note) == (
        "especialista",
        first.contact_id,
        "Necesita revisar su GES",
    )
    assert second.executive_run == SECOND_EXECUTIVE_RUN
