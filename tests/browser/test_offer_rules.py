"""The executive declines an offer with a reason; the citizen keeps the head of the line."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import OpenPerson
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, StartBranch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


async def test_decline_and_pause_reasons(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch()
    citizen, executive = await open_person("citizen"), await open_person("executive")
    page, epage = citizen.page, executive.page

    await page.goto(node.url + "/login?next=/citizen")
    await citizen.log_in(CITIZEN_RUN, "María José", "González Pérez")
    await page.get_by_label("Motivo de tu consulta").select_option("ges")
    await page.get_by_role("button", name="Continuar").click()
    await page.get_by_role("button", name="Ponerme en la fila").click()
    await expect(page.locator("#position")).to_have_text("Eres el siguiente en la fila")

    await epage.goto(node.url + "/login?next=/executive")
    await executive.log_in(EXECUTIVE_RUN, "Juan", "Soto")
    await epage.get_by_label("Motivo de la pausa").select_option("colacion")
    await epage.get_by_role("button", name="Disponible", exact=True).click()
    await expect(epage.locator("#offer-name")).to_contain_text("María González")
    await expect(epage.locator("#offer-countdown")).to_contain_text("Responde en")
    assert (await epage.title()).startswith("🔔 Nueva atención")
    await executive.shot("offer")

    await epage.get_by_label("Motivo del rechazo").select_option("conflicto")
    await epage.get_by_role("button", name="Rechazar").click()
    await expect(epage.locator("#agent-state")).to_have_text(
        "No disponible · Rechazaste una atención"
    )
    await expect(epage.locator("#connection")).to_contain_text("mantiene su lugar en la fila")
    await expect(page.locator("#position")).to_have_text("Eres el siguiente en la fila")

    await epage.get_by_role("button", name="No disponible").click()
    await expect(epage.locator("#agent-state")).to_have_text("No disponible · Colación")
    await executive.shot("paused")
