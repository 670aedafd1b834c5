"""WCAG 2.1 AA: axe-core inside Chromium over every page in every state a test can drive,
and the citizen's whole way in with the keyboard alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from branch.config import Queue
from branch.web.app import RECORDS
from tests.browser.conftest import ARTIFACTS, OpenPerson, Person
from tests.browser.test_services import closed_until_the_day_after_tomorrow
from tests.conftest import AUDITOR_RUN, CITIZEN_RUN, EXECUTIVE_RUN, SUPERVISOR_RUN, StartBranch
from tests.web.test_audit_api import a_served_contact

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

AXE = Path(__file__).resolve().parents[1] / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
GENERAL = Queue("general", "Atención general", name_en="General service")


def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(
            f"axe-core is not installed ({AXE}): run `make setup` (npm ci in tests/axe)",
            pytrace=False,
        )
    return AXE.read_text(encoding="utf-8")


async def assert_accessible(person: Person, state: str) -> None:
    """Zero axe-core WCAG 2.1 A/AA violations on the page as it is now; a screenshot of it."""
    page = person.page
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # Runtime evaluation, not a <script>: the page keeps its strict Content-Security-Policy.
        await page.evaluate(axe_source())
    result = await page.evaluate(
        "(tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } })"
        ".then((r) => ({ passes: r.passes.length, violations: r.violations.map((v) => ({"
        " id: v.id, help: v.help,"
        " nodes: v.nodes.map((n) => n.target.join(' ') + ': ' + n.failureSummary) })) }))",
        WCAG_AA,
    )
    await person.shot(f"axe-{state}")
    violations = result["violations"]
    assert violations == [], f"{state}: " + json.dumps(violations, ensure_ascii=False, indent=1)
    assert result["passes"] >= 10, f"{state}: axe checked almost nothing ({result['passes']} rules)"


async def tab_to(page: Page, selector: str, presses: int = 40) -> None:
    """Tab forward until `selector` has the focus, which must then be visibly outlined."""
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            outline = await page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"
            )
            assert outline, f"{selector} has the focus but no visible outline"
            return
    raise AssertionError(f"{selector} never got the focus in {presses} presses of Tab")


async def test_every_citizen_and_executive_state_has_no_violations(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch(queues=(GENERAL, closed_until_the_day_after_tomorrow()))
    citizen = await open_person("citizen")
    executive = await open_person("executive")
    page, epage = citizen.page, executive.page

    await page.goto(node.url + "/")
    await assert_accessible(citizen, "landing")
    await page.goto(node.url + "/login?next=/citizen")
    await assert_accessible(citizen, "login")
    await citizen.log_in("abc", "María José", "González Pérez")
    await expect(page.get_by_role("alert")).to_be_visible()
    await assert_accessible(citizen, "login-error")
    await citizen.log_in(CITIZEN_RUN, "María José", "González Pérez")
    await expect(page.get_by_role("heading", name="¿En qué te podemos ayudar?")).to_be_visible()
    await assert_accessible(citizen, "reason")
    await page.get_by_role("button", name="Continuar").click()
    await expect(page.locator("#reason-error")).to_be_visible()
    await assert_accessible(citizen, "reason-missing")
    await page.get_by_label("Servicio").select_option("nocturno")
    await expect(page.locator("#service-status")).to_contain_text("está cerrado")
    await assert_accessible(citizen, "service-closed")
    await page.get_by_label("Servicio").select_option("general")
    await page.get_by_label("Motivo de tu consulta").select_option("ges")
    await page.get_by_role("button", name="Continuar").click()
    await expect(page.locator("#device-status")).to_have_text("Tu cámara y micrófono funcionan.")
    await assert_accessible(citizen, "device-check")
    await page.get_by_role("button", name="Ponerme en la fila").click()
    await expect(page.locator("#position")).to_have_text("Eres el siguiente en la fila")
    await assert_accessible(citizen, "waiting")

    await epage.goto(node.url + "/login?next=/executive")
    await executive.log_in(EXECUTIVE_RUN, "Juan", "Soto")
    await expect(epage.locator("#agent-state")).to_have_text("No disponible")
    await assert_accessible(executive, "desk-not-ready")
    await epage.get_by_role("button", name="Disponible", exact=True).click()
    await expect(epage.get_by_role("heading", name="Nueva atención")).to_be_visible()
    await assert_accessible(executive, "desk-offer")
    await expect(page.get_by_role("heading", name="Te estamos conectando")).to_be_visible()
    await assert_accessible(citizen, "offered")
    await epage.get_by_role("button", name="Aceptar").click()
    # Said at once (assertive) when the call starts; places and waits are polite.
    await expect(page.locator("#call-announce")).to_have_text(
        "Tu atención comenzó: te atiende Juan Soto."
    )
    await expect(page.locator("#call-announce")).to_have_attribute("aria-live", "assertive")
    await expect(page.locator("#position").locator("..")).to_have_attribute("aria-live", "polite")
    await page.wait_for_function("() => window.branchCall?.pc.connectionState === 'connected'")
    await expect(page.locator("#verify-code")).not_to_have_text("—")
    await assert_accessible(citizen, "in-call")
    await assert_accessible(executive, "desk-call")
    await page.get_by_label("Escribe un mensaje").fill("Hola")
    await page.get_by_label("Escribe un mensaje").press("Enter")
    await expect(epage.locator("#chat-log")).to_contain_text("Hola")
    await assert_accessible(executive, "desk-chat")

    # The executive's page drops and comes back: the citizen reads that the call is recovering.
    await epage.reload()
    await expect(page.locator("#call-status")).to_be_visible()
    await assert_accessible(citizen, "reconnecting")
    await expect(epage.locator("#agent-state")).to_have_text("En llamada")
    await epage.get_by_role("button", name="Colgar").click()
    await expect(page.get_by_role("heading", name="¡Gracias por usar")).to_be_visible()
    await expect(page.locator("#receipt")).to_be_visible()
    await assert_accessible(citizen, "receipt-survey")
    await page.get_by_role("button", name="Enviar evaluación").click()
    await expect(page.locator("#survey-error")).to_be_visible()
    await assert_accessible(citizen, "survey-missing")
    await page.get_by_text("Muy buena").click()
    await page.get_by_role("button", name="Enviar evaluación").click()
    await expect(page.locator("#survey-thanks")).to_be_visible()
    await assert_accessible(citizen, "survey-thanks")
    await expect(epage.get_by_role("heading", name="Cierre de la atención")).to_be_visible()
    await epage.get_by_role("button", name="Guardar cierre").click()
    await expect(epage.locator("#outcome-error")).to_be_visible()
    await assert_accessible(executive, "wrapup-missing")

    # The same person opens the branch in a second tab: the first says so.
    second = await citizen.context.new_page()
    await second.goto(node.url + "/citizen")
    await expect(
        page.get_by_role("heading", name="Abriste la sucursal en otra ventana")
    ).to_be_visible()
    await assert_accessible(citizen, "replaced")
    await second.close()

    # English pages are checked too: the switch changes every text and the lang attribute.
    await page.get_by_role("button", name="Read this page in English").click()
    await expect(
        page.get_by_role("heading", name="You opened the branch in another window")
    ).to_be_visible()
    await assert_accessible(citizen, "replaced-english")


async def test_reports_and_restricted_pages_have_no_violations(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch()
    supervisor = await open_person("supervisor")
    page = supervisor.page
    await page.goto(node.url + "/login?next=/reports")
    await supervisor.log_in(SUPERVISOR_RUN, "Ana", "Rojas")
    await expect(page.locator("#status")).to_have_text("Sin atenciones en el período")
    await assert_accessible(supervisor, "reports")
    citizen = await open_person("citizen")
    await citizen.page.goto(node.url + "/login?next=/reports")
    await citizen.log_in(CITIZEN_RUN, "María José", "González Pérez")
    await expect(citizen.page.get_by_role("heading", name="Acceso restringido")).to_be_visible()
    await assert_accessible(citizen, "restricted")


async def test_the_wallboard_and_the_audit_page_have_no_violations(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch()
    await a_served_contact(node.app[RECORDS])
    supervisor = await open_person("supervisor")
    board = supervisor.page
    await board.goto(node.url + "/login?next=/supervisor")
    await supervisor.log_in(SUPERVISOR_RUN, "Sara", "Vidal")
    await expect(board.locator("#executives-empty")).to_be_visible()
    await assert_accessible(supervisor, "wallboard-empty")

    # Figures, one executive in a call and the call: every table of the board is shown,
    # and the current message to those waiting.
    citizen = await open_person("citizen")
    executive = await open_person("executive")
    await citizen.join_queue(node.url, CITIZEN_RUN)
    await board.get_by_label("Mensaje").fill("Estamos con alta demanda; gracias por esperar.")
    await board.get_by_role("button", name="Enviar aviso").click()
    await expect(board.locator("#notices li")).to_have_count(1)
    await executive.go_available(node.url, EXECUTIVE_RUN)
    await executive.page.get_by_role("button", name="Aceptar").click()
    await expect(board.locator("#call-rows tr")).to_have_count(1)
    await expect(board.locator("#executive-rows tr .state")).to_have_text("En llamada")
    await expect(board.locator("#today-rows tr.total .answered")).not_to_have_text("0")
    await assert_accessible(supervisor, "wallboard-call")
    await board.get_by_role("button", name="Read this page in English").click()
    await expect(board.locator("#executive-rows tr .state")).to_have_text("In a call")
    await assert_accessible(supervisor, "wallboard-call-english")

    auditor = await open_person("auditor")
    audit = auditor.page
    await audit.goto(node.url + "/login?next=/audit")
    await auditor.log_in(AUDITOR_RUN, "Ana", "Auditora")
    await expect(audit.locator("#verdict")).to_have_attribute("data-state", "ok")
    # The served contact and the call still going on.
    await expect(audit.locator("#contacts tbody tr")).to_have_count(2)
    await expect(audit.locator("#trail tbody tr").first).to_contain_text("contact.joined")
    await assert_accessible(auditor, "audit-contacts")
    served = audit.locator("#contacts tbody tr", has_text="Eva Díaz")
    await served.get_by_role("button", name="Ver").click()
    await expect(audit.locator("#contact-chat")).to_contain_text("¿me escucha?")
    await expect(audit.locator("#contact-trail")).to_contain_text("records.read")
    await assert_accessible(auditor, "audit-contact")
    await audit.fill("#head", f"2:{'0' * 64}")
    await audit.get_by_role("button", name="Verificar").click()
    await expect(audit.locator("#verdict")).to_have_attribute("data-state", "broken")
    await assert_accessible(auditor, "audit-broken")


async def test_a_citizen_joins_the_line_with_the_keyboard_alone(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch(queues=(GENERAL,))
    citizen = await open_person("citizen")
    page = citizen.page
    await page.goto(node.url + "/")
    # The skip link comes first, then the way in.
    await tab_to(page, "a.skip")
    await tab_to(page, "a[href='/login?next=/citizen']")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Ingreso de desarrollo")).to_be_visible()
    await tab_to(page, "#run")
    await page.keyboard.type(CITIZEN_RUN)
    await tab_to(page, "#given_name")
    await page.keyboard.type("María José")
    await tab_to(page, "#family_name")
    await page.keyboard.type("González Pérez")
    await page.keyboard.press("Enter")
    # Each step puts the focus on its heading, so the next Tab goes on from there.
    await expect(page.get_by_role("heading", name="¿En qué te podemos ayudar?")).to_be_focused()
    await tab_to(page, "#reason")
    await page.keyboard.press("ArrowDown")  # the first reason after "Elige un motivo"
    await tab_to(page, "#reason-text")
    await page.keyboard.type("Consulta por teclado")
    await tab_to(page, "#reason-form button[type=submit]")
    await page.keyboard.press("Enter")
    await expect(
        page.get_by_role("heading", name="Revisemos tu cámara y micrófono")
    ).to_be_focused()
    await expect(page.locator("#join")).to_be_enabled()
    await tab_to(page, "#join")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Estás en la fila")).to_be_focused()
    await expect(page.locator("#waiting-folio")).not_to_have_text("—")
    # No trap: the focus moves on through the page to the leave button, and leaving works.
    await tab_to(page, "#leave")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="¿En qué te podemos ayudar?")).to_be_focused()
    await expect(page.locator("#connection")).to_have_text("Saliste de la fila.")


async def test_text_at_200_percent_and_reduced_motion(
    start_branch: StartBranch, browser: Browser
) -> None:
    node = await start_branch(queues=(GENERAL,))
    # A 1366 px screen zoomed to 200 % is 683 CSS pixels wide; the text is doubled on top.
    context = await browser.new_context(
        ignore_https_errors=True,
        locale="es-CL",
        viewport={"width": 683, "height": 384},
        reduced_motion="reduce",
    )
    try:
        page = await context.new_page()
        await page.goto(node.url + "/login?next=/citizen")
        await page.fill("#run", CITIZEN_RUN)
        await page.fill("#given_name", "María José")
        await page.fill("#family_name", "González Pérez")
        await page.click("button[type=submit]")
        await expect(page.get_by_role("heading", name="¿En qué te podemos ayudar?")).to_be_visible()
        await page.evaluate("document.documentElement.style.fontSize = '200%'")
        for step in ("reason", "connecting", "waiting", "ended"):
            await page.evaluate(
                "(step) => { for (const s of document.querySelectorAll('section.step'))"
                " s.hidden = s.id !== 'step-' + step; }",
                step,
            )
            wide = await page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert wide <= 0, f"{step}: {wide} px of horizontal scrolling at 200 % text"
            if step == "connecting":
                spinning = await page.evaluate(
                    "() => getComputedStyle(document.querySelector('.spinner')).animationName"
                )
                assert spinning == "none", "the spinner turns despite prefers-reduced-motion"
        await page.screenshot(path=str(ARTIFACTS / "text-200-percent.png"), full_page=True)
    finally:
        await context.close()
