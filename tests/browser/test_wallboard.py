"""The supervisor's wallboard in Chromium follows a scripted contact, and its actions reach people."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from branch.web.app import RECORDS
from branch.web.client import BranchClient
from tests.browser.conftest import OpenPerson
from tests.conftest import ADMIN_RUN, CITIZEN_RUN, EXECUTIVE_RUN, SUPERVISOR_RUN, StartBranch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


def row(table: str, key: str) -> str:
    """The selector of one row of a wallboard table: a service's, or an executive's by RUN."""
    attribute = "run" if table == "executive" else "service"
    return f'#{table}-rows tr[data-{attribute}="{key}"]'


async def test_the_wallboard_follows_the_floor_and_reaches_citizens_and_executives(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch()
    supervisor = await open_person("supervisor")
    citizen = await open_person("citizen")
    executive = await open_person("executive")
    spage, cpage, epage = supervisor.page, citizen.page, executive.page
    total = row("now", "total")
    today = row("today", "total")
    eva = row("executive", EXECUTIVE_RUN)

    await spage.goto(node.url + "/login?next=/supervisor")
    await supervisor.log_in(SUPERVISOR_RUN, "Sara", "Vidal")
    await spage.wait_for_url(node.url + "/supervisor")
    await expect(spage.get_by_role("heading", name="Ahora")).to_be_visible()
    await expect(spage.locator(f"{total} .waiting")).to_have_text("0")
    await expect(spage.locator("#executives-empty")).to_be_visible()
    await supervisor.shot("empty")

    # A citizen joins: the board shows them waiting, their wait growing.
    await citizen.join_queue(node.url, CITIZEN_RUN)
    await expect(spage.locator(f"{total} .waiting")).to_have_text("1")
    await expect(spage.locator(f"{row('now', 'general')} .waiting")).to_have_text("1")
    await expect(spage.locator(f"{total} .longest")).not_to_have_text("—")
    await expect(spage.locator(f"{today} .offered")).to_have_text("1")

    # A message to everyone waiting reaches the citizen's page, in its live region.
    current = spage.get_by_role("list", name="Avisos vigentes")
    await expect(current).to_be_hidden()
    await expect(spage.locator("#notices-empty")).to_have_text(
        "Ningún servicio tiene un aviso vigente."
    )
    await spage.get_by_label("Mensaje").fill("Estamos con alta demanda; gracias por esperar.")
    await spage.get_by_role("button", name="Enviar aviso").click()
    await expect(spage.locator("#done")).to_have_text("Aviso enviado a 1 persona.")
    notice = cpage.get_by_role("status").filter(has_text="Aviso de la sucursal")
    await expect(notice).to_contain_text("Estamos con alta demanda; gracias por esperar.")
    await citizen.shot("notice")
    # The board says which message each line is being shown, and until when.
    shown = current.locator('li[data-service="general"]')
    await expect(shown.locator(".text")).to_have_text(
        "Estamos con alta demanda; gracias por esperar."
    )
    await expect(shown.locator(".times")).to_contain_text("vigente hasta las")
    await expect(current.locator("li")).to_have_count(1)
    await expect(spage.locator("#notices-empty")).to_be_hidden()
    await supervisor.shot("notice-current")
    # Taken back before it runs out: the citizen's page and the board stop showing it.
    await spage.get_by_role("button", name="Quitar el aviso vigente").click()
    await expect(spage.locator("#done")).to_have_text(
        "Aviso quitado: 1 persona que espera ya no lo ve."
    )
    await expect(cpage.locator("#branch-notice")).to_be_empty()
    await expect(current).to_be_hidden()
    await expect(spage.locator("#notices-empty")).to_be_visible()
    await supervisor.shot("notice-cleared")

    # An executive logs in, takes the call: nobody waits, one call in progress.
    await executive.go_available(node.url, EXECUTIVE_RUN)
    await epage.get_by_role("button", name="Aceptar").click()
    await expect(epage.locator("#agent-state")).to_have_text("En llamada")
    await expect(spage.locator(f"{eva} .state")).to_have_text("En llamada")
    await expect(spage.locator(f"{total} .waiting")).to_have_text("0")
    await expect(spage.locator(f"{total} .calls")).to_have_text("1")
    await expect(spage.locator("#call-rows tr")).to_have_count(1)
    await expect(spage.locator("#call-rows tr .executive")).to_have_text("Juan Soto")
    await expect(spage.locator(f"{today} .answered")).to_have_text("1")
    # Pausing an executive mid-call is not offered.
    await expect(
        spage.locator(f'{eva} button[data-action="supervisor.not_ready"]')
    ).to_be_disabled()
    await supervisor.shot("in-call")

    # The executive hangs up: wrap-up on the board, no call left; then available again.
    await epage.get_by_role("button", name="Colgar").click()
    await expect(spage.locator(f"{eva} .state")).to_have_text("Cierre")
    await expect(spage.locator("#calls-empty")).to_be_visible()
    await epage.get_by_label("Resultado").select_option("resuelto")
    await epage.get_by_role("button", name="Guardar cierre").click()
    await expect(spage.locator(f"{eva} .state")).to_have_text("Disponible")
    await expect(spage.locator(f"{today} .aht")).not_to_have_text("—")

    # The supervisor pauses the executive, whose own page says so.
    await spage.get_by_label("Motivo al pasar a no disponible").select_option("capacitacion")
    await spage.locator(eva).get_by_role("button", name="Pasar a no disponible").click()
    await expect(spage.locator(f"{eva} .state")).to_have_text("No disponible")
    await expect(spage.locator(f"{eva} .pause")).to_have_text("Capacitación")
    await expect(epage.locator("#agent-state")).to_have_text("No disponible · Capacitación")
    await expect(spage.locator("#done")).to_have_text("Juan Soto quedó no disponible.")

    # In English.
    await spage.get_by_role("button", name="Read this page in English").click()
    await expect(spage.get_by_role("heading", name="Now")).to_be_visible()
    await expect(spage.locator(f"{eva} .state")).to_have_text("Not ready")
    await expect(spage.locator(f"{eva} .pause")).to_have_text("Training")
    await supervisor.shot("english")

    # Logged out by the supervisor: the executive's page leaves, the board empties.
    await spage.locator(eva).get_by_role("button", name="Log them out").click()
    await epage.wait_for_url(node.url + "/")
    await expect(spage.locator("#executives-empty")).to_be_visible()
    await expect(spage.locator("#done")).to_have_text("Juan Soto was logged out.")
    await epage.goto(node.url + "/executive")
    await epage.wait_for_url("**/dev-login/**")  # the session is gone: log in again

    kinds = [entry.kind for entry in await node.app[RECORDS].audit_entries()]
    assert [kind for kind in kinds if kind.startswith("supervisor.")] == [
        "supervisor.broadcast",
        "supervisor.clear_notice",
        "supervisor.not_ready",
        "supervisor.log_out",
    ]


async def test_pause_after_this_call_from_the_board_and_from_the_console(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch()
    supervisor = await open_person("supervisor")
    citizen, second = await open_person("citizen"), await open_person("citizen")
    executive = await open_person("executive")
    spage, epage = supervisor.page, executive.page
    eva = row("executive", EXECUTIVE_RUN)
    await spage.goto(node.url + "/login?next=/supervisor")
    await supervisor.log_in(SUPERVISOR_RUN, "Sara", "Vidal")
    await citizen.join_queue(node.url, CITIZEN_RUN)
    await second.join_queue(node.url, "13.131.313-6")
    await executive.go_available(node.url, EXECUTIVE_RUN)
    await epage.get_by_role("button", name="Aceptar").click()
    await expect(spage.locator(f"{eva} .state")).to_have_text("En llamada")

    # The supervisor asks; both pages say so while the call goes on.
    await spage.get_by_label("Motivo al pasar a no disponible").select_option("capacitacion")
    await spage.locator(eva).get_by_role("button", name="Pausa al terminar").click()
    await expect(spage.locator("#done")).to_have_text(
        "Juan Soto quedará no disponible al terminar la atención."
    )
    await expect(spage.locator(f"{eva} .pause")).to_have_text("Pausa al terminar")
    await expect(epage.locator("#agent-state")).to_have_text("En llamada · pausa al terminar")
    await expect(epage.locator("#pause-after")).to_have_attribute("aria-pressed", "true")
    await executive.shot("pause-after")

    # Hang up and wrap up choosing available: the pause wins, the next citizen waits.
    await epage.get_by_role("button", name="Colgar").click()
    await expect(epage.locator("#agent-state")).to_have_text("Cierre · pausa al terminar")
    await epage.get_by_label("Resultado").select_option("resuelto")
    await epage.get_by_role("button", name="Guardar cierre").click()
    await expect(epage.locator("#agent-state")).to_have_text("No disponible · Capacitación")
    await expect(spage.locator(f"{eva} .pause")).to_have_text("Capacitación")
    await expect(epage.locator("#pause-after")).to_be_hidden()
    await expect(second.page.locator("#position")).to_have_text("Eres el siguiente en la fila")

    # The executive asks by themselves during the next call, in English, then takes it back.
    await epage.get_by_role("button", name="Disponible", exact=True).click()
    await epage.get_by_role("button", name="Aceptar").click()
    await epage.get_by_role("button", name="Read this page in English").click()
    await epage.get_by_role("button", name="Pause after this call").click()
    await expect(epage.locator("#agent-state")).to_have_text("In a call · pause after this call")
    await expect(spage.locator(f"{eva} .pause")).to_have_text("Pausa al terminar")
    await epage.get_by_role("button", name="Cancel pause after this call").click()
    await expect(epage.locator("#agent-state")).to_have_text("In a call")
    await expect(spage.locator(f"{eva} .pause")).to_have_text("—")

    kinds = [entry.kind for entry in await node.app[RECORDS].audit_entries()]
    assert [kind for kind in kinds if kind.startswith("supervisor.")] == ["supervisor.pause_after"]


async def test_a_citizen_who_reloads_or_joins_after_a_message_is_shown_it(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch()
    ana, bea = await open_person("citizen"), await open_person("citizen")
    await ana.join_queue(node.url, CITIZEN_RUN)
    text = "Estamos con alta demanda; gracias por esperar."
    async with BranchClient(node.url, ca_file=node.ca_path) as sara:
        await sara.login(SUPERVISOR_RUN, "Sara", "Vidal", "/supervisor")
        await sara.connect()
        await sara.send("supervisor.broadcast", service="general", text=text)
        assert (await sara.receive("supervisor.done"))["recipients"] == 1
    notice = ana.page.get_by_role("status").filter(has_text="Aviso de la sucursal")
    await expect(notice).to_contain_text(text)

    await ana.page.reload()
    await expect(ana.page.locator("#waiting-folio")).not_to_have_text("—")
    await expect(notice).to_contain_text(text)
    await ana.shot("reloaded")

    await bea.join_queue(node.url, "13.131.313-6")
    await expect(
        bea.page.get_by_role("status").filter(has_text="Aviso de la sucursal")
    ).to_contain_text(text)
    await bea.shot("joined")


async def test_an_admin_watches_in_the_branchs_language_without_the_actions(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch(language="en")
    # A browser in a language the branch does not speak: the branch's default decides.
    admin = await open_person("admin", locale="fr-FR")
    page = admin.page
    await page.goto(node.url + "/login?next=/supervisor")
    await admin.log_in(ADMIN_RUN, "Ada", "Admin")
    await expect(page.get_by_role("heading", name="Now")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator(f"{row('now', 'total')} th")).to_have_text("Total")
    # The current messages are shown to an admin too, the form that sends them is not.
    await expect(page.locator("#notice-form")).to_be_hidden()
    await expect(page.locator("#notices-empty")).to_have_text("No service has a current message.")
    await expect(page.locator("#actions-head")).to_be_hidden()
    await page.get_by_role("button", name="Ver esta página en español").click()
    await expect(page.get_by_role("heading", name="Ahora")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "es-CL")
