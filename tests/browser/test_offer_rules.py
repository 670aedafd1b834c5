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

    await citizen.join_queue(node.url, CITIZEN_RUN)
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


# The phone locked while waiting: the browser ended the camera and microphone
# and refuses to open them again until the test lets it.
LOCK_DEVICES = """() => {
  document.querySelector("#preview").srcObject.getTracks().forEach((track) => track.stop());
  const devices = navigator.mediaDevices;
  window.unlockDevices = ((original) => () => { devices.getUserMedia = original; })(
    devices.getUserMedia.bind(devices),
  );
  devices.getUserMedia = async () => { throw new DOMException("locked", "NotReadableError"); };
}"""


async def test_a_citizen_not_ready_is_skipped_then_back_with_i_am_here(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch(service_readiness_seconds=2)
    citizen, executive = await open_person("citizen"), await open_person("executive")
    page, epage = citizen.page, executive.page
    await citizen.join_queue(node.url, CITIZEN_RUN)
    await expect(page.locator("#position")).to_have_text("Eres el siguiente en la fila")
    await page.evaluate(LOCK_DEVICES)
    await executive.go_available(node.url, EXECUTIVE_RUN)
    await expect(epage.locator("#idle-title")).to_have_text("Preparando la siguiente atención")
    await expect(page.get_by_role("button", name="Estoy aquí")).to_be_visible(timeout=10_000)
    await expect(page.locator("#skipped-text")).to_contain_text("Guardamos tu lugar por 2 min:")
    await expect(epage.locator("#agent-state")).to_have_text("Disponible")  # not paused for it
    assert await epage.locator("#panel-offer").is_hidden()
    await citizen.shot("skipped")

    await page.evaluate("window.unlockDevices()")
    await page.get_by_role("button", name="Estoy aquí").click()
    await expect(epage.locator("#offer-name")).to_contain_text("María González")
    await epage.get_by_role("button", name="Aceptar").click()
    await expect(epage.locator("#agent-state")).to_have_text("En llamada")
